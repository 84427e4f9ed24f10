/**
 * The one interface the worker uses to talk to any plugin, wherever it runs: in this process,
 * in a child process over a unix socket, or at a remote gRPC endpoint. It is the typed gRPC
 * client shape of `ConnectorPluginService`, so all three ways in behave the same, down to
 * errors (Tributary errors) and cancellation (`signal`).
 */
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { Client, ServiceImplementation } from '../grpc/index.js';
import type { ConnectorPluginService, DescribeResponse } from '../gen/tributary/connector/v1/connector_pb.js';

type PluginMethods = (typeof ConnectorPluginService)['method'];

/** What the worker calls. */
export type ConnectorPlugin = Omit<Client<PluginMethods>, 'close' | 'waitForReady'>;

/** What a plugin author implements (the gRPC server shape); see sdk.ts for friendlier helpers. */
export type ConnectorPluginImplementation = ServiceImplementation<PluginMethods>;

/** Where a plugin comes from. */
export type PluginSource =
  | { type: 'in-process'; create: () => ConnectorPluginImplementation }
  | {
      type: 'command';
      command: string;
      args?: string[];
      env?: Record<string, string>;
      cwd?: string;
      /** Bound on this plugin's handshake + health SERVING at each start; overrides the host's. */
      startTimeoutMs?: number;
    }
  | { type: 'remote'; url: string };

/** A registered plugin: its name and where it comes from. */
export interface PluginRegistration {
  name: string;
  source: PluginSource;
}

/**
 * A plugin the host started for one connector on this worker (one child process per connector
 * per worker). `plugin` always routes to the live process: while a crashed child restarts,
 * calls wait for it (bounded by the host's start timeout) and then fail with UnavailableError.
 * A call or stream that failed because the process died carries the exit reason and the tail
 * of the child's stderr in its message.
 */
export interface PluginInstance {
  readonly plugin: ConnectorPlugin;
  readonly description: DescribeResponse;
  /** Called each time the instance dies (exit code/signal and stderr tail in the message). */
  onCrash(listener: (reason: Error) => void): () => void;
  /** Stops the instance: SIGTERM to a child, SIGKILL after `deadlineMs`. Idempotent. */
  close(deadlineMs?: number): Promise<void>;
}

export type { GenServiceMethods };
