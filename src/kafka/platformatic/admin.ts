/**
 * TopicAdmin on @platformatic/kafka's `Admin`. Chosen over kafkajs's admin because it covers
 * every job here (topics, configs, list offsets, delete records) with plain requests and no
 * consumer-group side effects. createTopics is idempotent and returns only once every partition
 * has a leader, so a producer may write right away.
 */
import { AclOperations, AclPermissionTypes, ResourcePatternTypes, ResourceTypes, type Admin } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { UnavailableError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { sleep } from '../../util/iterate.js';
import type { CompiledConnection } from '../config.js';
import { fromPlatformaticError, platformaticProtocolErrors } from '../errors.js';
import type { TopicAdmin, TopicDescription, TopicPartition, TopicSpec, TransactionSupport } from '../types.js';
import { ManagedAdmin } from './admin-client.js';

/** Kafka API keys a transactional producer needs. */
const TRANSACTION_APIS: ReadonlyArray<readonly [number, string]> = [
  [22, 'InitProducerId'],
  [24, 'AddPartitionsToTxn'],
  [26, 'EndTxn'],
];

export class PlatformaticTopicAdmin implements TopicAdmin {
  readonly #conn: CompiledConnection;
  readonly #client: ManagedAdmin;

  constructor(conn: CompiledConnection, logger?: Logger) {
    this.#conn = conn;
    // Errors: 'topic admin was stopped; create a new one', 'start topic admin', …
    this.#client = new ManagedAdmin(conn, logger, 'topic admin');
  }

  start(): Promise<void> {
    return this.#client.start();
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    const admin = this.#client.admin;
    await Promise.all(
      topics.map(async (spec) => {
        try {
          await admin.createTopics({
            topics: [spec.name],
            partitions: spec.partitions,
            replicas: spec.replicationFactor ?? -1,
            configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          });
        } catch (err) {
          if (platformaticProtocolErrors(err).includes('TOPIC_ALREADY_EXISTS')) return;
          throw this.#error(err, 'create topic', [spec.name]);
        }
      }),
    );
    await this.#waitForLeaders(topics.map((t) => t.name));
  }

  async deleteTopics(names: string[]): Promise<void> {
    const admin = this.#client.admin;
    // One request per topic: a missing topic fails only its own request, and is not an error.
    await Promise.all(
      names.map(async (name) => {
        try {
          await admin.deleteTopics({ topics: [name] });
        } catch (err) {
          if (platformaticProtocolErrors(err).some((e) => e === 'UNKNOWN_TOPIC_OR_PARTITION' || e === 'UNKNOWN_TOPIC_ID')) return;
          throw this.#error(err, 'delete topic', [name]);
        }
      }),
    );
  }

  async listTopics(): Promise<string[]> {
    try {
      return await this.#client.admin.listTopics();
    } catch (err) {
      throw this.#error(err, 'list topics');
    }
  }

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.listTopics());
    const wanted = names.filter((n) => existing.has(n));
    if (wanted.length === 0) return [];
    const metadata = await this.#metadata(wanted);
    return wanted.flatMap((name) => {
      const topic = metadata.topics.get(name);
      return topic ? [{ name, partitions: topic.partitionsCount }] : [];
    });
  }

  async partitionOffsets(topic: string): Promise<Array<{ partition: number; earliest: bigint; latest: bigint }>> {
    const metadata = await this.#metadata([topic]);
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from({ length: count }, (_, i) => i);
    const [earliest, latest] = await Promise.all([this.#listOffsets(topic, partitions, -2n), this.#listOffsets(topic, partitions, -1n)]);
    return partitions.map((partition) => ({ partition, earliest: earliest.get(partition) ?? 0n, latest: latest.get(partition) ?? 0n }));
  }

  async deleteRecordsBefore(tp: TopicPartition, offset: bigint): Promise<bigint> {
    try {
      const deleted = await this.#client.admin.deleteRecords({ topics: [{ name: tp.topic, partitions: [{ partition: tp.partition, offset }] }] });
      const low = deleted.find((t) => t.name === tp.topic)?.partitions.find((p) => p.partition === tp.partition)?.lowWatermark;
      if (low === undefined) throw new UnavailableError(`delete records of ${tp.topic}-${tp.partition}: no answer for the partition; retry`);
      return low;
    } catch (err) {
      throw this.#error(err, `delete records of ${tp.topic}-${tp.partition} below offset ${offset}`, [tp.topic]);
    }
  }

  async transactionSupport(): Promise<TransactionSupport> {
    const admin = this.#client.admin;
    let apis;
    try {
      apis = await admin.listApis();
    } catch (err) {
      throw this.#error(err, 'list the broker APIs');
    }
    const offered = new Set(apis.map((a) => a.apiKey));
    const missingApis = TRANSACTION_APIS.filter(([key]) => !offered.has(key)).map(([, name]) => name);
    let authorizer: TransactionSupport['authorizer'] = 'enabled';
    try {
      await admin.describeAcls({
        filter: {
          resourceType: ResourceTypes.TRANSACTIONAL_ID,
          resourceName: null,
          resourcePatternType: ResourcePatternTypes.ANY,
          principal: null,
          host: null,
          operation: AclOperations.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      });
    } catch (err) {
      const codes = platformaticProtocolErrors(err);
      if (codes.includes('SECURITY_DISABLED')) authorizer = 'none';
      // CLUSTER_AUTHORIZATION_FAILED: ACLs are enforced and we may not even read them.
      else if (!codes.some((c) => c.endsWith('_AUTHORIZATION_FAILED'))) throw this.#error(err, 'describe transactional-id ACLs');
    }
    return { missingApis, authorizer };
  }

  stop(): Promise<void> {
    return this.#client.stop();
  }

  async #metadata(topics: string[]): ReturnType<Admin['metadata']> {
    try {
      // A copy: the library sorts the array it is given.
      return await this.#client.admin.metadata({ topics: [...topics], forceUpdate: true });
    } catch (err) {
      throw this.#error(err, 'describe topics', topics);
    }
  }

  async #listOffsets(topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, bigint>> {
    try {
      const listed = await this.#client.admin.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      });
      return new Map(listed.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.offset] as const)));
    } catch (err) {
      throw this.#error(err, `list offsets of ${topic}`, [topic]);
    }
  }

  /** New topics' partitions get leaders a moment after CreateTopics returns. */
  async #waitForLeaders(names: string[]): Promise<void> {
    if (names.length === 0) return;
    const deadline = Date.now() + this.#conn.requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let failure: unknown;
      try {
        const metadata = await this.#metadata(names);
        const ready = names.every((n) => {
          const topic = metadata.topics.get(n);
          return topic !== undefined && topic.partitions.length === topic.partitionsCount && topic.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch (err) {
        failure = err;
      }
      if (Date.now() >= deadline) {
        throw new UnavailableError(`created topics ${names.join(', ')} but not all partitions have a leader yet; retry`, { cause: failure });
      }
      await sleep(Math.max(20, backoffDelay(attempt, { initialMs: 50, maxMs: 1_000 })));
    }
  }

  #error(err: unknown, operation: string, topics: string[] = []) {
    return fromPlatformaticError(err, { operation, topics, brokers: this.#conn.brokers });
  }
}
