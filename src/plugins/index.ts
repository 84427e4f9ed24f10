/**
 * The plugin layer's public surface: the host that starts plugins (in-process, child process,
 * remote) behind one `ConnectorPlugin` interface, the TypeScript SDK plugin authors use, the
 * child-process main (`servePlugin`), and the config-spec checks shared with the worker and the
 * admin API. Other folders import from here only.
 */
export type { ConnectorPlugin, ConnectorPluginImplementation, PluginInstance, PluginRegistration, PluginSource } from './types.js';
export { PluginHost, loadPluginDirectory, type PluginHostOptions, type StartOptions, type HostedPluginInstance, type ChildProcessTuning } from './host.js';
export { ChildProcessPlugin, type ChildProcessPluginOptions } from './child-process.js';
export { connectRemotePlugin, remoteAddress, remoteEndpoint, type RemotePlugin, type RemotePluginOptions } from './remote.js';
export { inProcessPlugin, type InProcessOptions } from './in-process.js';
export { servePlugin, servingHealth, PLUGIN_PROTOCOL_VERSION, HANDSHAKE_PREFIX, type ServeOptions, type ServedPlugin } from './serve.js';
export {
  sourcePlugin,
  sinkPlugin,
  staticPartitions,
  type SourcePluginDefinition,
  type SinkPluginDefinition,
  type SourceReader,
  type SinkWriter,
  type ConnectorInfo,
  type RecordInit,
  type ConfigKeyInit,
  type StreamPartitionInit,
  type WatchPartitionsInit,
  type PluginRecord,
} from './sdk.js';
export { validateConfig, applyDefaults, parseList, configInt, configBoolean, type ConfigKeySpec } from './config-spec.js';
