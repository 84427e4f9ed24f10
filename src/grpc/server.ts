/**
 * Serves a protobuf-es service with grpc-js from handlers shaped like the typed client:
 * promises for single messages, async iterables for streams. A handler's thrown error becomes a
 * gRPC status (status.ts); a cancelled call aborts the handler's `signal`.
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { nextUntilAborted } from '../util/abortable.js';
import { serviceDefinition } from './definition.js';
import { toServiceError } from './status.js';
import type { CallContext, ServiceImplementation } from './types.js';

type ServerCall = grpc.ServerUnaryCall<object, object> | grpc.ServerReadableStream<object, object> | grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>;

function contextOf(call: ServerCall): CallContext {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('call cancelled by the client'));
  (call as grpc.ServerUnaryCall<object, object>).once('cancelled', abort);
  // Set only for a TLS peer whose certificate the CA verified (grpc-js leaves it out otherwise).
  const peerCertificate = call.getAuthContext()?.sslPeerCertificate;
  return { signal: controller.signal, metadata: call.metadata, peer: call.getPeer(), peerCertificate };
}

async function* requestsOf(call: grpc.ServerReadableStream<object, object> | grpc.ServerDuplexStream<object, object>, signal: AbortSignal): AsyncGenerator<object> {
  // A cancelled call never ends its readable side: stop iterating on cancellation. The stream
  // iterator must not destroy the call when the client half-closes: the handler may still
  // answer (a plugin ends its Read stream only after the worker ended its side).
  const iterator = call.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<object>;
  for (;;) {
    const next = await nextUntilAborted(iterator, signal);
    if (next.done) return;
    yield next.value;
  }
}

async function writeAll(call: grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>, messages: AsyncIterable<object>, signal: AbortSignal): Promise<void> {
  const iterator = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await nextUntilAborted(iterator, signal);
      if (next.done || signal.aborted) break;
      // once() with the signal removes its listener when the call is cancelled (an AbortError).
      if (!call.write(next.value)) {
        await once(call, 'drain', { signal }).catch((err: unknown) => {
          if (!signal.aborted) throw err;
        });
      }
    }
  } finally {
    // Let the handler run its own cleanup (finally blocks) when the client went away.
    if (signal.aborted) void iterator.return?.(undefined)?.catch(() => {});
  }
}

function failStream(call: grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>, err: unknown): void {
  call.emit('error', toServiceError(err));
}

/** Adds `service` to `server`, served by `implementation`. */
export function addService<S extends GenServiceMethods>(server: grpc.Server, service: GenService<S>, implementation: ServiceImplementation<S>): void {
  const definition = serviceDefinition(service);
  const handlers: grpc.UntypedServiceImplementation = {};
  const impl = implementation as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of service.methods) {
    const handler = impl[method.localName];
    if (typeof handler !== 'function') throw new Error(`${service.typeName}: no handler for ${method.name}`);
    const fn = handler.bind(implementation);
    switch (method.methodKind) {
      case 'unary':
        handlers[method.localName] = (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
          Promise.resolve()
            .then(() => fn(call.request, contextOf(call)) as Promise<object>)
            .then((res) => callback(null, res), (err: unknown) => callback(toServiceError(err)));
        };
        break;
      case 'server_streaming':
        handlers[method.localName] = (call: grpc.ServerWritableStream<object, object>) => {
          const context = contextOf(call);
          Promise.resolve()
            .then(() => writeAll(call, fn(call.request, context) as AsyncIterable<object>, context.signal))
            .then(() => call.end(), (err: unknown) => failStream(call, err));
        };
        break;
      case 'client_streaming':
        handlers[method.localName] = (call: grpc.ServerReadableStream<object, object>, callback: grpc.sendUnaryData<object>) => {
          const context = contextOf(call);
          Promise.resolve()
            .then(() => fn(requestsOf(call, context.signal), context) as Promise<object>)
            .then((res) => callback(null, res), (err: unknown) => callback(toServiceError(err)));
        };
        break;
      case 'bidi_streaming':
        handlers[method.localName] = (call: grpc.ServerDuplexStream<object, object>) => {
          const context = contextOf(call);
          Promise.resolve()
            .then(() => writeAll(call, fn(requestsOf(call, context.signal), context) as AsyncIterable<object>, context.signal))
            .then(() => call.end(), (err: unknown) => failStream(call, err));
        };
        break;
    }
  }
  server.addService(definition, handlers);
}

/** Binds `server` to `address` (`host:port`, port 0 for any, or `unix:///path`); returns the bound port. */
export function bindServer(server: grpc.Server, address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
}

/** Stops accepting calls, lets running ones finish until `deadlineMs`, then cancels the rest. */
export function shutdownServer(server: grpc.Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export const defaultServerOptions: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};
