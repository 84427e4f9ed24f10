/**
 * The @platformatic/kafka client options every adapter shares, from a compiled connection.
 * Library retries are bounded (see CompiledConnection.retries): with its default of unbounded
 * retries for idempotent producers, a send to a missing topic never settled.
 */
import type { BaseOptions } from '@platformatic/kafka';
import { backoffDelay } from '../../util/backoff.js';
import type { CompiledConnection } from '../config.js';

export function baseOptions(conn: CompiledConnection): BaseOptions {
  return {
    clientId: conn.clientId,
    bootstrapBrokers: conn.brokers,
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
