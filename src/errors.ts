/**
 * Tributary's error hierarchy. Errors from Kafka clients, etcd3 and grpc-js are converted to one of
 * these where they enter our code, so the rest of the code asks `isRetriable(err)` instead of
 * knowing three libraries' error shapes. Each code maps to one gRPC status, in exactly one place
 * (`src/grpc/status.ts`).
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

export interface ErrorOptions {
  cause?: unknown;
  /** Whether retrying the same operation later may succeed. */
  retriable?: boolean;
}

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? (code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED');
  }
}

/** One problem with one config key; `key` is empty for problems with the config as a whole. */
export interface ConfigProblem {
  key: string;
  message: string;
}

/** A config (or request) was rejected; names every offending key. */
export class InvalidArgumentError extends TributaryError {
  readonly problems: readonly ConfigProblem[];

  constructor(message: string, problems: readonly ConfigProblem[] = [], options: ErrorOptions = {}) {
    const detail = problems.length === 0 ? '' : `: ${problems.map((p) => (p.key ? `${p.key}: ${p.message}` : p.message)).join('; ')}`;
    super('INVALID_ARGUMENT', `${message}${detail}`, { ...options, retriable: false });
    this.problems = problems;
  }
}

/** The caller presented no credentials, or ones that do not verify (docs/security.md). */
export class UnauthenticatedError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('UNAUTHENTICATED', message, { ...options, retriable: false });
  }
}

/** The caller is known but lacks the role the call needs; the message names the role. */
export class PermissionDeniedError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('PERMISSION_DENIED', message, { ...options, retriable: false });
  }
}

export class NotFoundError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('NOT_FOUND', message, { ...options, retriable: false });
  }
}

export class AlreadyExistsError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ALREADY_EXISTS', message, { ...options, retriable: false });
  }
}

export class FailedPreconditionError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('FAILED_PRECONDITION', message, { ...options, retriable: false });
  }
}

export class UnavailableError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('UNAVAILABLE', message, { retriable: true, ...options });
  }
}

/**
 * A call that never reached a leader (none is known, the one known is only taking over, or its
 * address refused the connection): nothing of it happened, so sending it again is safe. Crosses
 * gRPC as UNAVAILABLE with the trailing metadata `tributary-not-delivered` (grpc/status.ts).
 */
export class NotDeliveredError extends UnavailableError {}

/**
 * A plugin's child process died (or is down and did not come back in time) under a call: the
 * call's failure says nothing about the call itself. Retriable: the host starts a fresh
 * process, and a partition hit only by that is restarted on it without counting as its own
 * failure (docs/configuration.md, "Automatic partition restarts").
 */
export class PluginProcessDownError extends UnavailableError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retriable: true });
  }
}

export class DeadlineExceededError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('DEADLINE_EXCEEDED', message, { retriable: true, ...options });
  }
}

/**
 * A stage of stopping a partition did not finish in time: the plugin did not answer its drain
 * request, or did not make records durable, or Kafka did not acknowledge what was in flight.
 * The partition fails; the plugin is presumed hung and its process is killed (a fresh one is
 * started), so the hang cannot hold the worker's other partitions.
 */
export class StopStageTimeoutError extends DeadlineExceededError {
  constructor(
    readonly stage: 'drain' | 'flush',
    message: string,
  ) {
    super(message, { retriable: false });
  }
}

export class CancelledError extends TributaryError {
  constructor(message = 'cancelled', options: ErrorOptions = {}) {
    super('CANCELLED', message, { ...options, retriable: false });
  }
}

export class InternalError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('INTERNAL', message, { retriable: false, ...options });
  }
}

/** True when retrying later may succeed. Unknown errors are not retried. */
export function isRetriable(err: unknown): boolean {
  return err instanceof TributaryError && err.retriable;
}

/** A message and stack for status displays; never throws. */
export function describeError(err: unknown): { message: string; trace: string } {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `\nCaused by: ${err.cause.stack ?? err.cause.message}` : '';
    return { message: err.message, trace: `${err.stack ?? err.message}${cause}` };
  }
  return { message: String(err), trace: String(err) };
}
