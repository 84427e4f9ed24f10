/**
 * A typed grpc-js client for a protobuf-es service: unary calls are promises, streams are async
 * iterables, request streams are pumped with backpressure (write() false → wait for one drain).
 * Errors surface as Tributary errors (see status.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { serviceDefinition } from './definition.js';
import { fromServiceError } from './status.js';
import type { CallOptions, Client } from './types.js';

export interface ClientOptions {
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call (e.g. `authorization: Bearer …`). */
  metadata?: Record<string, string>;
}

const defaultChannelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
};

type AnyStream = grpc.ClientReadableStream<object> | grpc.ClientDuplexStream<object, object>;

function callOptionsOf(options: CallOptions | undefined): grpc.CallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

function bindSignal(call: grpc.Call, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

async function pump(requests: AsyncIterable<object>, call: grpc.ClientWritableStream<object> | grpc.ClientDuplexStream<object, object>): Promise<void> {
  try {
    for await (const request of requests) {
      if (!call.write(request)) {
        // Both listeners go once either fires: a long stream must not collect one per wait.
        const waited = new AbortController();
        await Promise.race([once(call, 'drain', { signal: waited.signal }), once(call, 'close', { signal: waited.signal })]).finally(() => waited.abort());
      }
    }
    call.end();
  } catch {
    // The caller's request stream failed: the call cannot go on.
    call.cancel();
  }
}

async function* responses<T>(call: AnyStream, what: string, unbind: () => void): AsyncGenerator<T> {
  let done = false;
  try {
    for await (const message of call) yield message as T;
    done = true;
  } catch (err) {
    done = true;
    throw fromServiceError(err, what);
  } finally {
    unbind();
    // The consumer stopped early: release the stream.
    if (!done) call.cancel();
  }
}

/** Creates a client for `service` at `address` (`host:port` or `unix:///path`). */
export function createClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  options: ClientOptions = {},
): Client<S> {
  const definition = serviceDefinition(service);
  const raw = new grpc.Client(address, options.credentials ?? grpc.credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...options.channelOptions,
  });
  const client: Record<string, unknown> = {
    close: () => raw.close(),
    waitForReady: (timeoutMs: number) =>
      new Promise<void>((resolve, reject) =>
        raw.waitForReady(Date.now() + timeoutMs, (err) =>
          err ? reject(fromServiceError({ code: grpc.status.UNAVAILABLE, details: `${address} not ready: ${err.message}` }, service.typeName)) : resolve(),
        ),
      ),
  };
  for (const method of service.methods) {
    const def = definition[method.localName]!;
    const what = `${service.name}.${method.name} at ${address}`;
    const ser = def.requestSerialize as (v: object) => Buffer;
    const de = def.responseDeserialize as (b: Buffer) => object;
    const metadataOf = (opts: CallOptions | undefined) => {
      const m = new grpc.Metadata();
      for (const [k, v] of Object.entries({ ...options.metadata, ...opts?.metadata })) m.set(k, v);
      return m;
    };
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = (request: object, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            let unbind = () => {};
            const call = raw.makeUnaryRequest(def.path, ser, de, request, metadataOf(opts), callOptionsOf(opts), (err, value) => {
              unbind();
              if (err) reject(fromServiceError(err, what));
              else resolve(value);
            });
            unbind = bindSignal(call, opts?.signal);
          });
        break;
      case 'server_streaming':
        client[method.localName] = (request: object, opts?: CallOptions) => {
          const call = raw.makeServerStreamRequest(def.path, ser, de, request, metadataOf(opts), callOptionsOf(opts));
          return responses(call, what, bindSignal(call, opts?.signal));
        };
        break;
      case 'client_streaming':
        client[method.localName] = (requests: AsyncIterable<object>, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            let unbind = () => {};
            const call = raw.makeClientStreamRequest(def.path, ser, de, metadataOf(opts), callOptionsOf(opts), (err, value) => {
              unbind();
              if (err) reject(fromServiceError(err, what));
              else resolve(value);
            });
            unbind = bindSignal(call, opts?.signal);
            void pump(requests, call);
          });
        break;
      case 'bidi_streaming':
        client[method.localName] = (requests: AsyncIterable<object>, opts?: CallOptions) => {
          const call = raw.makeBidiStreamRequest(def.path, ser, de, metadataOf(opts), callOptionsOf(opts));
          void pump(requests, call);
          return responses(call, what, bindSignal(call, opts?.signal));
        };
        break;
    }
  }
  return client as Client<S>;
}
