/**
 * Runs a `ConnectorPluginImplementation` in this process behind the same `ConnectorPlugin`
 * interface the gRPC client has, so the worker cannot tell an in-process plugin from a child
 * process or a remote one: messages are built with `create(schema, init)` as a decoder would,
 * `signal` cancels and `timeoutMs` bounds a call (the handler's context signal aborts in both
 * cases), and anything thrown that is not a TributaryError becomes an InternalError that keeps
 * the original as `cause` (so its stack shows in status traces).
 *
 * A hostile implementation that ignores cancellation cannot block the caller: every wait on the
 * handler is raced against the caller's signal and deadline.
 */
import { create, type DescMessage } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { CancelledError, DeadlineExceededError, InternalError, TributaryError } from '../errors.js';
import { ConnectorPluginService } from '../gen/tributary/connector/v1/connector_pb.js';
import type { CallContext, CallOptions } from '../grpc/index.js';
import { nextUntilAborted, untilAborted } from '../util/abortable.js';
import type { ConnectorPlugin, ConnectorPluginImplementation } from './types.js';

export interface InProcessOptions {
  /** Names the plugin in error messages. */
  name?: string;
}

type Handler = (request: unknown, context: CallContext) => unknown;

function toTributaryError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`${what} failed: ${message}`, { cause: err });
}

/**
 * One call's cancellation: aborts the handler's context when the caller's signal aborts, the
 * deadline passes, or the call is finished; `stopped` rejects with the matching error.
 */
class CallScope {
  readonly controller = new AbortController();
  readonly stopped: Promise<never>;
  private timer: NodeJS.Timeout | undefined;
  private onCallerAbort = () => {};

  constructor(
    private readonly what: string,
    private readonly options: CallOptions | undefined,
  ) {
    this.stopped = new Promise<never>((_, reject) => {
      const signal = options?.signal;
      const stop = (err: TributaryError) => {
        this.controller.abort(err);
        reject(err);
      };
      if (signal?.aborted) {
        stop(new CancelledError(`${what}: cancelled by the caller`));
        return;
      }
      if (signal) {
        this.onCallerAbort = () => stop(new CancelledError(`${what}: cancelled by the caller`));
        signal.addEventListener('abort', this.onCallerAbort, { once: true });
      }
      const timeoutMs = options?.timeoutMs;
      if (timeoutMs !== undefined) {
        // Not unref()ed: a call waiting for its deadline is pending work, as it is over gRPC.
        this.timer = setTimeout(() => stop(new DeadlineExceededError(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
      }
    });
    this.stopped.catch(() => {});
  }

  context(): CallContext {
    return { signal: this.controller.signal, metadata: new grpc.Metadata(), peer: 'in-process' };
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.options?.signal?.removeEventListener('abort', this.onCallerAbort);
    if (!this.controller.signal.aborted) this.controller.abort(new CancelledError(`${this.what}: call finished`));
  }
}

/** The request side of a streaming call, as the handler sees it: ends when the call is stopped. */
async function* requestsOf(requests: AsyncIterable<unknown>, schema: DescMessage, signal: AbortSignal): AsyncGenerator<unknown> {
  const iterator = requests[Symbol.asyncIterator]();
  for (;;) {
    const next = await nextUntilAborted(iterator, signal);
    if (next.done) return;
    yield create(schema, next.value as never);
  }
}

async function* responsesOf(
  start: () => AsyncIterable<unknown>,
  schema: DescMessage,
  scope: CallScope,
  what: string,
): AsyncGenerator<unknown> {
  let iterator: AsyncIterator<unknown> | undefined;
  // True once the handler's stream ended by itself (returned or threw).
  let handlerDone = false;
  const settled = <T>(r: IteratorResult<T>) => {
    if (r.done) handlerDone = true;
    return r;
  };
  const failed = (err: unknown): never => {
    handlerDone = true;
    throw err;
  };
  try {
    iterator = start()[Symbol.asyncIterator]();
    for (;;) {
      // The scope's signal aborts with the error `stopped` rejects with (see CallScope).
      const next = await untilAborted(iterator.next().then(settled, failed), scope.controller.signal);
      if (next.done) return;
      yield create(schema, next.value as never);
    }
  } catch (err) {
    throw toTributaryError(err, what);
  } finally {
    scope.finish();
    // The caller stopped early or the call was stopped: let the handler run its cleanup.
    if (!handlerDone) void iterator?.return?.(undefined)?.catch(() => {});
  }
}

/** Adapts `implementation` into a `ConnectorPlugin` running in this process. */
export function inProcessPlugin(implementation: ConnectorPluginImplementation, options: InProcessOptions = {}): ConnectorPlugin {
  const plugin: Record<string, unknown> = {};
  const impl = implementation as unknown as Record<string, Handler>;
  const label = options.name ? ` on in-process plugin "${options.name}"` : ' on an in-process plugin';
  for (const method of ConnectorPluginService.methods) {
    const handler = impl[method.localName];
    if (typeof handler !== 'function') throw new Error(`${ConnectorPluginService.typeName}: no handler for ${method.name}`);
    const fn = handler.bind(implementation);
    const what = `${method.name}${label}`;
    switch (method.methodKind) {
      case 'unary':
        plugin[method.localName] = async (request: unknown, opts?: CallOptions) => {
          const scope = new CallScope(what, opts);
          try {
            const call = Promise.resolve().then(() => fn(create(method.input, request as never), scope.context()));
            const response = await Promise.race([call, scope.stopped]);
            return create(method.output, response as never);
          } catch (err) {
            throw toTributaryError(err, what);
          } finally {
            scope.finish();
          }
        };
        break;
      case 'server_streaming':
        plugin[method.localName] = (request: unknown, opts?: CallOptions) => {
          const scope = new CallScope(what, opts);
          return responsesOf(() => fn(create(method.input, request as never), scope.context()) as AsyncIterable<unknown>, method.output, scope, what);
        };
        break;
      case 'bidi_streaming':
        plugin[method.localName] = (requests: AsyncIterable<unknown>, opts?: CallOptions) => {
          const scope = new CallScope(what, opts);
          const context = scope.context();
          return responsesOf(() => fn(requestsOf(requests, method.input, context.signal), context) as AsyncIterable<unknown>, method.output, scope, what);
        };
        break;
      case 'client_streaming':
        plugin[method.localName] = async (requests: AsyncIterable<unknown>, opts?: CallOptions) => {
          const scope = new CallScope(what, opts);
          try {
            const context = scope.context();
            const call = Promise.resolve().then(() => fn(requestsOf(requests, method.input, context.signal), context));
            return create(method.output, (await Promise.race([call, scope.stopped])) as never);
          } catch (err) {
            throw toTributaryError(err, what);
          } finally {
            scope.finish();
          }
        };
        break;
    }
  }
  return plugin as unknown as ConnectorPlugin;
}
