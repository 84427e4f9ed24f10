/**
 * Converts etcd3 (and its grpc-js / cockatiel) errors into Tributary errors where they enter our
 * code. Connection trouble — a refused or timed-out call, an open circuit breaker, a lost
 * keepalive stream — becomes a retriable UnavailableError that names the endpoints; refused
 * credentials become a FailedPreconditionError; anything else an InternalError.
 */
import {
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCUnauthenticatedError,
  isRecoverableError,
} from 'etcd3';
import { FailedPreconditionError, InternalError, TributaryError, UnavailableError } from '../../errors.js';

/** True for errors that mean "etcd could not be reached (in time)", whatever library raised them. */
function isConnectionError(err: Error): boolean {
  if (isRecoverableError(err)) return true; // etcd3's own mark: unavailable, deadline, cancelled…
  // cockatiel's circuit breaker (etcd3's per-host policy) and grpc-js connection failures.
  if (err.name === 'BrokenCircuitError' || err.name === 'TaskCancelledError') return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|No connection established|Deadline exceeded|connect failed|timed out/i.test(
    err.message,
  );
}

/**
 * `what` says what we were doing ("reading the cluster snapshot"); the message then tells the
 * operator what to check.
 */
export function fromEtcdError(err: unknown, endpoints: readonly string[], what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const where = endpoints.join(',');
  if (e instanceof EtcdAuthenticationFailedError || e instanceof EtcdInvalidAuthTokenError || e instanceof EtcdPermissionDeniedError || e instanceof GRPCUnauthenticatedError) {
    return new FailedPreconditionError(`etcd at ${where} refused ${what}: ${e.message}; check the etcd credentials and role permissions`, { cause: e });
  }
  if (e instanceof EtcdLeaseInvalidError) {
    return new UnavailableError(`etcd lease lost while ${what} (${e.message}); it is re-granted on retry`, { cause: e });
  }
  if (isConnectionError(e)) {
    return new UnavailableError(`etcd at ${where} is unreachable: ${e.message} (while ${what}); check ETCD_ENDPOINTS and that etcd is running`, { cause: e });
  }
  return new InternalError(`etcd at ${where} failed while ${what}: ${e.message}`, { cause: e });
}
