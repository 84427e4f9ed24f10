/**
 * The kafkajs `Kafka` instance from a compiled connection. kafkajs logs to the console by
 * default; here its log goes to the given pino logger at debug (or nowhere), because its
 * retry chatter is not an operator's concern: the errors it ends in are converted and reported
 * by Tributary.
 */
import kafkajs, { type Kafka as KafkaClient, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { CompiledConnection } from '../config.js';
import type { CompiledSecurity } from '../security.js';

export { kafkajs };

export function createKafkajsClient(conn: CompiledConnection, logger?: Logger): KafkaClient {
  const forward = logger?.isLevelEnabled('debug') === true;
  return new kafkajs.Kafka({
    clientId: conn.clientId,
    brokers: conn.brokers,
    ...kafkajsSecurity(conn.security),
    connectionTimeout: conn.connectTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    retry: { retries: conn.retries, initialRetryTime: conn.retryInitialMs, maxRetryTime: conn.retryMaxMs },
    logLevel: forward ? kafkajs.logLevel.INFO : kafkajs.logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!forward) return;
      const { message, timestamp: _timestamp, ...fields } = entry.log;
      logger.debug({ kafkajs: entry.namespace, level: entry.label, ...fields }, message);
    },
  });
}

/** kafkajs `ssl` / `sasl` options from compiled security (kafkajs names mechanisms in lower case). */
function kafkajsSecurity(security: CompiledSecurity): { ssl?: CompiledSecurity['tls']; sasl?: SASLOptions } {
  const out: { ssl?: CompiledSecurity['tls']; sasl?: SASLOptions } = {};
  if (security.tls) out.ssl = security.tls;
  const sasl = security.sasl;
  if (sasl) {
    if (sasl.mechanism === 'OAUTHBEARER') {
      const token = sasl.token!;
      out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await token() }) };
    } else {
      const mechanism = sasl.mechanism === 'PLAIN' ? 'plain' : sasl.mechanism === 'SCRAM-SHA-256' ? 'scram-sha-256' : 'scram-sha-512';
      out.sasl = { mechanism, username: sasl.username!, password: sasl.password! };
    }
  }
  return out;
}
