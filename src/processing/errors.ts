/**
 * The one place that decides what happens when a record fails in a stage (Kafka Connect's
 * RetryWithToleranceOperator and its reporters): retriable failures are retried with capped
 * exponential backoff (300 ms doubling, up to `errors.retry.delay.max.ms`) until
 * `errors.retry.timeout`; then `errors.tolerance=none` fails the partition with an error naming
 * the record's position and the stage, and `all` skips the record — logging it when
 * `errors.log.enable`, and writing it to `errors.deadletterqueue.topic.name` with Kafka
 * Connect's `__connect.errors.*` headers when context headers are enabled.
 *
 * No stage has its own retry or error routing. Backoff waits are per failed record (the failure
 * path); the records of a batch that succeed are not delayed by promises of their own.
 */
import type { Logger } from 'pino';
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../errors.js';
import type { ProducerRecord, RecordHeader } from '../kafka/index.js';
import { DataError } from './data.js';

export type Stage = 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'HEADER_CONVERTER' | 'TRANSFORMATION' | 'TASK_POLL' | 'TASK_PUT' | 'KAFKA_PRODUCE' | 'KAFKA_CONSUME';

export interface ErrorSettings {
  retryTimeoutMs: number;
  retryDelayMaxMs: number;
  tolerance: 'none' | 'all';
  logEnable: boolean;
  logIncludeMessages: boolean;
  deadLetterTopic: string | undefined;
  deadLetterReplicationFactor: number;
  contextHeaders: boolean;
}

export const RETRIES_DELAY_MIN_MS = 300;
export const HEADER_PREFIX = '__connect.errors.';

/** Where the failing record came from, for the error message and the DLQ headers. */
export interface Origin {
  connector: string;
  /** The stream partition (Kafka Connect's task id). */
  partition: string;
  /** Sink: the Kafka topic/partition/offset; source: the target topic and the source offset. */
  topic: string | undefined;
  kafkaPartition: number | undefined;
  offset: string;
}

/** The partition fails: a record failed with errors.tolerance=none (or after retries were exhausted). */
export class ToleranceExceededError extends TributaryError {
  constructor(
    message: string,
    readonly stage: Stage,
    cause: unknown,
  ) {
    super('FAILED_PRECONDITION', message, { cause, retriable: false });
  }
}

export interface Failure {
  stage: Stage;
  className: string;
  error: unknown;
}

function isRetriableError(err: unknown): boolean {
  return err instanceof TributaryError && err.retriable && !(err instanceof DataError);
}

function exceptionClass(err: unknown): string {
  if (err instanceof DataError) return err.connectClass;
  if (err instanceof TributaryError) return err.retriable ? 'org.apache.kafka.connect.errors.RetriableException' : 'org.apache.kafka.connect.errors.ConnectException';
  return err instanceof Error ? err.name : 'Error';
}

export class ErrorHandler {
  constructor(
    readonly settings: ErrorSettings,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `op` again while it fails retriably and the retry timeout allows, then returns its
   * result or the final failure. Only called after a first attempt failed retriably.
   */
  async retry<T>(op: () => T | Promise<T>, first: unknown, signal?: AbortSignal): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    const deadline = Date.now() + this.settings.retryTimeoutMs;
    let error = first;
    for (let attempt = 1; isRetriableError(error) && Date.now() < deadline && !signal?.aborted; attempt++) {
      let delay = RETRIES_DELAY_MIN_MS * 2 ** (attempt - 1);
      if (delay > this.settings.retryDelayMaxMs) delay = Math.floor(Math.random() * this.settings.retryDelayMaxMs);
      delay = Math.max(0, Math.min(delay, deadline - Date.now()));
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      try {
        return { ok: true, value: await op() };
      } catch (err) {
        error = err;
      }
    }
    return { ok: false, error };
  }

  /** Whether a first failure is worth retrying at all. */
  shouldRetry(err: unknown): boolean {
    return this.settings.retryTimeoutMs > 0 && isRetriableError(err);
  }

  /**
   * A record failed for good: throws ToleranceExceededError under `none`; under `all` logs it
   * (when asked) and returns the DLQ headers to attach (or undefined when there is no DLQ).
   */
  tolerate(failure: Failure, origin: Origin, describeRecord: () => string): RecordHeader[] | undefined {
    const err = failure.error;
    const message = err instanceof Error ? err.message : String(err);
    const where = `connector "${origin.connector}" partition "${origin.partition}": the record at offset ${origin.offset}${origin.topic === undefined ? '' : ` (topic ${origin.topic}${origin.kafkaPartition === undefined ? '' : `-${origin.kafkaPartition}`})`}`;
    if (this.settings.tolerance === 'none') {
      throw new ToleranceExceededError(`${where} failed in stage ${failure.stage} (${failure.className}): ${message}; errors.tolerance=none, so the partition stops here`, failure.stage, err);
    }
    if (this.settings.logEnable) {
      const fields: Record<string, unknown> = { stage: failure.stage, class: failure.className, err: message, connector: origin.connector, partition: origin.partition, offset: origin.offset };
      if (this.settings.logIncludeMessages) fields['record'] = describeRecord();
      this.log.error(fields, 'Error encountered in task; the record is skipped (errors.tolerance=all)');
    }
    if (this.settings.deadLetterTopic === undefined) return undefined;
    if (!this.settings.contextHeaders) return [];
    const h = (key: string, value: string): RecordHeader => ({ key: HEADER_PREFIX + key, value: Buffer.from(value, 'utf8') });
    const headers: RecordHeader[] = [];
    if (origin.topic !== undefined) headers.push(h('topic', origin.topic));
    if (origin.kafkaPartition !== undefined) headers.push(h('partition', String(origin.kafkaPartition)));
    headers.push(h('offset', origin.offset));
    headers.push(h('connector.name', origin.connector), h('task.id', origin.partition), h('stage', failure.stage), h('class.name', failure.className));
    headers.push(h('exception.class.name', exceptionClass(err)));
    headers.push(h('exception.message', message));
    if (err instanceof Error && err.stack) headers.push(h('exception.stacktrace', err.stack));
    return headers;
  }

  /** The dead-letter record: the original bytes with the original headers and the context headers. */
  deadLetter(key: Buffer | null, value: Buffer | null, original: readonly RecordHeader[] | undefined, context: RecordHeader[]): ProducerRecord {
    return { topic: this.settings.deadLetterTopic!, key, value, headers: [...(original ?? []), ...context] };
  }
}
