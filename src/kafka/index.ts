/**
 * The public surface of src/kafka: Tributary's Kafka interfaces and factories that pick an
 * adapter. No kafkajs or @platformatic/kafka type crosses this boundary. Factories validate
 * options synchronously (InvalidArgumentError naming the keys) and connect nothing: every
 * component connects in `start()` and closes in `stop()` (idempotent).
 */
import type { Logger } from 'pino';
import { compileConnection, compileProducerOptions, compileReaderOptions } from './config.js';
import { createKafkajsProducer, kafkajsCodecs } from './kafkajs/producer.js';
import { PlatformaticTopicAdmin } from './platformatic/admin.js';
import { PlatformaticGroupOffsetStore } from './platformatic/group-offsets.js';
import { createPlatformaticProducer, platformaticCodecs } from './platformatic/producer.js';
import { PlatformaticPartitionReader } from './platformatic/reader.js';
import type {
  CompressionCodec,
  GroupOffsetStore,
  KafkaConnectionConfig,
  PartitionReader,
  PartitionReaderOptions,
  ProducerClient,
  ProducerOptions,
  RecordProducer,
  TopicAdmin,
} from './types.js';

export type * from './types.js';
export { ProducerFencedError, RecordTooLargeError } from './errors.js';
export { keyPartition } from './murmur2.js';
export { compileSecurity, isSecurityKey, parseJaasConfig, unsecuredJws, SECURITY_KEYS, TOKEN_COMMAND_KEY, type KafkaSecurityProperties, type SecurityInput, type SecurityProtocol, type SaslMechanism } from './security.js';

/** Checks connection settings (security included) for `client` without connecting; throws InvalidArgumentError naming the keys. */
export function validateConnection(conn: KafkaConnectionConfig, client: ProducerClient): void {
  compileConnection(conn, client);
}

/** Compression codecs `client` can encode in this process (others make createProducer throw). */
export function supportedCompression(client: ProducerClient): CompressionCodec[] {
  return client === 'kafkajs' ? kafkajsCodecs() : platformaticCodecs();
}

/** A producer on the client named by `options.client`; call start() before sending. */
export function createProducer(conn: KafkaConnectionConfig, options: ProducerOptions, logger?: Logger): RecordProducer {
  const compiled = compileProducerOptions(options);
  const compiledConn = compileConnection(conn, compiled.client);
  const child = logger?.child({ component: 'kafka-producer', client: compiled.client });
  return compiled.client === 'kafkajs' ? createKafkajsProducer(compiledConn, compiled, child) : createPlatformaticProducer(compiledConn, compiled, child);
}

/** A reader of assigned partitions without group membership (@platformatic/kafka). */
export function createPartitionReader(conn: KafkaConnectionConfig, options?: PartitionReaderOptions, logger?: Logger): PartitionReader {
  return new PlatformaticPartitionReader(compileConnection(conn), compileReaderOptions(options), logger?.child({ component: 'kafka-reader' }));
}

export function createTopicAdmin(conn: KafkaConnectionConfig, logger?: Logger): TopicAdmin {
  return new PlatformaticTopicAdmin(compileConnection(conn), logger?.child({ component: 'kafka-admin' }));
}

export function createGroupOffsetStore(conn: KafkaConnectionConfig, logger?: Logger): GroupOffsetStore {
  return new PlatformaticGroupOffsetStore(compileConnection(conn), logger?.child({ component: 'kafka-group-offsets' }));
}
