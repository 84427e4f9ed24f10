/** Assertions on refused Admin calls: the typed error, its code and the gRPC status under it. */
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError, type TributaryError } from '../../src/errors.js';

/** A TributaryError of `code` whose cause is the gRPC status `status`, with a message matching `pattern`. */
export function rejectedWith(code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED', pattern: RegExp) {
  const status = code === 'UNAUTHENTICATED' ? grpcStatus.UNAUTHENTICATED : grpcStatus.PERMISSION_DENIED;
  const type = code === 'UNAUTHENTICATED' ? UnauthenticatedError : PermissionDeniedError;
  return (err: unknown) => {
    assert.ok(err instanceof type, `expected ${code}, got ${String(err)}`);
    assert.equal((err as TributaryError).code, code);
    assert.equal(((err as Error).cause as grpc.ServiceError).code, status, 'the gRPC status');
    assert.match((err as Error).message, pattern);
    return true;
  };
}
