/**
 * The @platformatic/kafka client options every adapter shares, from a compiled connection.
 * Library retries are bounded (see CompiledConnection.retries): with its default of unbounded
 * retries for idempotent producers, a send to a missing topic never settled.
 */
import type { BaseOptions, ConnectionOptions } from '@platformatic/kafka';
import { backoffDelay } from '../../util/backoff.js';
import type { CompiledConnection } from '../config.js';
import type { CompiledSecurity } from '../security.js';

/** @platformatic/kafka `tls` / `sasl` connection options from compiled security. */
export function securityOptions(security: CompiledSecurity): Pick<ConnectionOptions, 'tls' | 'sasl'> {
  const out: Pick<ConnectionOptions, 'tls' | 'sasl'> = {};
  if (security.tls) out.tls = security.tls;
  const sasl = security.sasl;
  if (sasl) {
    out.sasl =
      sasl.mechanism === 'OAUTHBEARER'
        ? { mechanism: 'OAUTHBEARER', token: sasl.token! }
        : { mechanism: sasl.mechanism, username: sasl.username!, password: sasl.password! };
  }
  return out;
}

export function baseOptions(conn: CompiledConnection): BaseOptions {
  return {
    clientId: conn.clientId,
    bootstrapBrokers: conn.brokers,
    ...securityOptions(conn.security),
    connectTimeout: conn.connectTimeoutMs,
    // `requestTimeout` bounds each request on the socket; `timeout` is what the broker is told
    // (produce ack wait, and the transaction timeout of a transactional producer).
    requestTimeout: conn.requestTimeoutMs,
    timeout: conn.requestTimeoutMs,
    retries: conn.retries,
    retryDelay: (_client, _operation, attempt) =>
      Math.max(10, backoffDelay(attempt - 1, { initialMs: conn.retryInitialMs, maxMs: conn.retryMaxMs })),
    autocreateTopics: false,
  };
}
