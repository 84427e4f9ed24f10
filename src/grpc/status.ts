/**
 * The one place where Tributary errors become gRPC statuses and back. The server side turns a
 * thrown `TributaryError` into its status (invalid configs keep their offending keys in the
 * trailing metadata `tributary-config-errors-bin`, JSON); the client side restores the same
 * error class, so callers never see grpc-js error shapes.
 */
import * as grpc from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotDeliveredError,
  NotFoundError,
  PermissionDeniedError,
  TributaryError,
  UnauthenticatedError,
  UnavailableError,
  type ConfigProblem,
  type ErrorCode,
} from '../errors.js';

const PROBLEMS_KEY = 'tributary-config-errors-bin';
const NOT_DELIVERED_KEY = 'tributary-not-delivered';

/**
 * grpc-js reports a call whose connection was never established as UNAVAILABLE with no server
 * metadata and nothing structured to say so: its details text is the only mark, read here, at
 * the library's seam, and nowhere else.
 */
function connectionNeverEstablished(e: Partial<grpc.ServiceError>): boolean {
  return /No connection established|ECONNREFUSED/.test(e.details ?? '');
}

const toStatus: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  CANCELLED: grpc.status.CANCELLED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  INTERNAL: grpc.status.INTERNAL,
};

/** Turns anything thrown by a handler into the status object grpc-js sends. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof TributaryError) {
    const metadata = new grpc.Metadata();
    if (err instanceof InvalidArgumentError && err.problems.length > 0) {
      metadata.set(PROBLEMS_KEY, Buffer.from(JSON.stringify(err.problems)));
    }
    if (err instanceof NotDeliveredError) metadata.set(NOT_DELIVERED_KEY, 'true');
    return { code: toStatus[err.code], details: err.message, metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: `internal error: ${message}` };
}

function problemsOf(metadata: grpc.Metadata | undefined): ConfigProblem[] {
  const raw = metadata?.get(PROBLEMS_KEY)[0];
  if (!raw) return [];
  try {
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw)) as ConfigProblem[];
  } catch {
    return [];
  }
}

/** Turns a grpc-js client error into the matching Tributary error. */
export function fromServiceError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code !== 'number') {
    return new InternalError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const details = e.details || e.message || 'no details';
  const options = { cause: err };
  switch (e.code) {
    case grpc.status.INVALID_ARGUMENT: {
      const problems = problemsOf(e.metadata);
      // The server already named the problems in its message; keep them structured too.
      const error = new InvalidArgumentError(details, [], options);
      (error as { problems: readonly ConfigProblem[] }).problems = problems;
      return error;
    }
    case grpc.status.NOT_FOUND:
      return new NotFoundError(details, options);
    case grpc.status.ALREADY_EXISTS:
      return new AlreadyExistsError(details, options);
    case grpc.status.FAILED_PRECONDITION:
      return new FailedPreconditionError(details, options);
    case grpc.status.UNAVAILABLE:
      if (e.metadata?.get(NOT_DELIVERED_KEY)[0] === 'true' || connectionNeverEstablished(e)) return new NotDeliveredError(`${what}: ${details}`, options);
      return new UnavailableError(`${what}: ${details}`, options);
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(`${what}: ${details}`, options);
    case grpc.status.CANCELLED:
      return new CancelledError(`${what}: ${details}`, options);
    case grpc.status.UNAUTHENTICATED:
      return new UnauthenticatedError(details, options);
    case grpc.status.PERMISSION_DENIED:
      return new PermissionDeniedError(details, options);
    default:
      return new InternalError(`${what}: ${details} (gRPC status ${grpc.status[e.code] ?? e.code})`, options);
  }
}
