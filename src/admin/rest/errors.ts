/**
 * Errors as Kafka Connect's REST API answers them: an HTTP status and
 * `{"error_code": <status>, "message": "…"}` (ConnectExceptionMapper in apache/kafka). The
 * Tributary error code decides the status, here and nowhere else.
 */
import { TributaryError, type ErrorCode } from '../../errors.js';

const statusOf: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  // Kafka Connect answers 409 for requests the cluster cannot serve in its current state.
  FAILED_PRECONDITION: 409,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 500,
  CANCELLED: 500,
  RESOURCE_EXHAUSTED: 429,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  INTERNAL: 500,
};

/** An error with an HTTP status chosen by the route (Kafka Connect's ConnectRestException). */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

export interface RestErrorBody {
  error_code: number;
  message: string;
}

/**
 * The status and body for any error a route threw. `overrides` lets a route pick another status
 * for a code (Kafka Connect answers 400 when offsets are changed on a connector that is not
 * stopped). Errors with a numeric `statusCode` (fastify's own, or an authenticator's) keep it.
 */
export function toRestError(err: unknown, overrides: Partial<Record<ErrorCode, number>> = {}): { status: number; body: RestErrorBody } {
  let status = 500;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof RestError) status = err.status;
  else if (err instanceof TributaryError) status = overrides[err.code] ?? statusOf[err.code];
  else if (typeof (err as { statusCode?: unknown })?.statusCode === 'number') status = (err as { statusCode: number }).statusCode;
  if (status === 404 && (err as { code?: string })?.code === 'FST_ERR_NOT_FOUND') message = 'HTTP 404 Not Found';
  return { status, body: { error_code: status, message } };
}
