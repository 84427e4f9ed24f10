/**
 * Built-in connectors: registered in-process on every worker, so they run without a plugin
 * directory. Each is built on the public plugin SDK, exactly like an external plugin.
 */
import type { PluginHost } from '../plugins/index.js';
import { DATAGEN, datagenPlugin } from './datagen/index.js';
import { POSTGRES_CDC, postgresCdcPlugin } from './postgres-cdc/index.js';
import { POSTGRES_QUERY, postgresQueryPlugin } from './postgres-query/index.js';
import { POSTGRES_SINK, postgresSinkPlugin } from './postgres-sink/index.js';
import type { AllowedPaths } from '../util/allowed-paths.js';
import { FILE_SINK, createFileSinkPlugin } from './file-sink/index.js';
import { FILE_SOURCE, createFileSourcePlugin } from './file-source/index.js';
import { fileStreamSinkPlugins, fileStreamSourcePlugins } from './file-stream/index.js';
import { VERIFIABLE_SINK, verifiableSinkPlugin } from './verifiable-sink/index.js';
import { VERIFIABLE_SOURCE, verifiableSourcePlugin } from './verifiable-source/index.js';

export interface BuiltinConnectorOptions {
  /**
   * The worker's `allowed.paths`: the directories the file connectors may read and write.
   * Default: `$TRIBUTARY_ALLOWED_PATHS`, and no path at all when that is unset.
   */
  allowedPaths?: AllowedPaths;
}

export function registerBuiltinConnectors(host: PluginHost, options: BuiltinConnectorOptions = {}): void {
  const { allowedPaths } = options;
  const fileSourcePlugin = createFileSourcePlugin({ allowedPaths });
  const fileSinkPlugin = createFileSinkPlugin({ allowedPaths });
  host.register({ name: VERIFIABLE_SOURCE, source: { type: 'in-process', create: () => verifiableSourcePlugin } });
  host.register({ name: VERIFIABLE_SINK, source: { type: 'in-process', create: () => verifiableSinkPlugin } });
  host.register({ name: FILE_SOURCE, source: { type: 'in-process', create: () => fileSourcePlugin } });
  host.register({ name: FILE_SINK, source: { type: 'in-process', create: () => fileSinkPlugin } });
  host.register({ name: DATAGEN, source: { type: 'in-process', create: () => datagenPlugin } });
  // Apache Kafka's FileStreamSource / FileStreamSink configs run as written (class and short names).
  for (const { name, plugin } of [...fileStreamSourcePlugins(allowedPaths), ...fileStreamSinkPlugins(allowedPaths)]) host.register({ name, source: { type: 'in-process', create: () => plugin } });
  host.register({ name: POSTGRES_CDC, source: { type: 'in-process', create: () => postgresCdcPlugin } });
  host.register({ name: POSTGRES_SINK, source: { type: 'in-process', create: () => postgresSinkPlugin } });
  host.register({ name: POSTGRES_QUERY, source: { type: 'in-process', create: () => postgresQueryPlugin } });
}

export { VERIFIABLE_SOURCE, VERIFIABLE_SINK, FILE_SOURCE, FILE_SINK, DATAGEN, POSTGRES_CDC, POSTGRES_SINK, POSTGRES_QUERY };
