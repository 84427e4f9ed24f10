/**
 * Apache Kafka's FileStreamSource / FileStreamSink (`org.apache.kafka.connect.file.…`), as
 * their configs are written (`file`, `topic`, `topics`, `batch.size`), on Tributary's built-in
 * file connectors. FileStreamSource reads one file: it runs as the file source on the file's
 * directory with `file.pattern` = the file's name (one stream partition). Its lines read as
 * STRING values when a converter or transform needs structure (see processing/aliases.ts), as
 * Kafka Connect's FileStreamSourceTask hands them. Reading stdin (no `file`) is not supported:
 * `file` is required.
 */
import { basename, dirname, resolve } from 'node:path';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import { sinkPlugin, sourcePlugin, type ConfigKeyInit, type ConnectorInfo, type ConnectorPluginImplementation, type SinkPluginDefinition, type SourcePluginDefinition } from '../../plugins/index.js';
import { FILE_STREAM_SINK_NAMES, FILE_STREAM_SOURCE_NAMES } from '../../processing/aliases.js';
import type { AllowedPaths } from '../../util/allowed-paths.js';
import { createFileSinkDefinition, type FileSinkOptions } from '../file-sink/index.js';
import { createFileSourceDefinition } from '../file-source/index.js';

export { FILE_STREAM_SINK_NAMES, FILE_STREAM_SOURCE_NAMES };

const sourceKeys: ConfigKeyInit[] = [
  { name: 'file', type: ConfigType.STRING, required: true, documentation: 'The file to read, line by line (Kafka Connect reads stdin without it; Tributary requires it).', group: 'Input' },
  { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'The topic to publish data to.', group: 'Records' },
  { name: 'batch.size', type: ConfigType.INT, defaultValue: '2000', documentation: 'The maximum number of records the source task can read from the file each time it is polled.', group: 'Records' },
];

/** The file source's config for a FileStreamSource config. */
export function fileSourceConfig(config: Readonly<Record<string, string>>): Record<string, string> {
  const file = resolve(config['file'] ?? '');
  // Kafka Connect's FileStreamSourceTask sets no headers: neither does the file source here.
  return { ...config, path: dirname(file), 'file.pattern': basename(file), 'poll.interval.ms': config['poll.interval.ms'] ?? '500', 'file.header.enable': 'false' };
}

function translated(connector: ConnectorInfo): ConnectorInfo {
  return { name: connector.name, config: fileSourceConfig(connector.config) };
}

function sourceDefinition(name: string, options: FileSinkOptions): SourcePluginDefinition {
  const fileSourceDefinition = createFileSourceDefinition(options);
  return {
    name,
    version: fileSourceDefinition.version,
    summary: "Apache Kafka's FileStreamSource on Tributary's file source: reads one file line by line",
    configKeys: sourceKeys,
    async validate(config) {
      const problems = await fileSourceDefinition.validate!(fileSourceConfig(config));
      return problems.map((p) => (p.key === 'path' || p.key === 'file.pattern' ? { key: 'file', message: p.message } : p));
    },
    watchPartitions: (connector, signal) => fileSourceDefinition.watchPartitions(translated(connector), signal),
    open: (connector, partition, offset, signal) => fileSourceDefinition.open(translated(connector), partition, offset, signal),
  };
}

function sinkDefinition(name: string, options: FileSinkOptions): SinkPluginDefinition {
  return { ...createFileSinkDefinition(options), name, summary: "Apache Kafka's FileStreamSink on Tributary's file sink: appends each record value as a line" };
}

/** FileStreamSource under each of its names, its `file` confined to `allowedPaths` (default: `$TRIBUTARY_ALLOWED_PATHS`). */
export function fileStreamSourcePlugins(allowedPaths?: AllowedPaths): Array<{ name: string; plugin: ConnectorPluginImplementation }> {
  return FILE_STREAM_SOURCE_NAMES.map((name) => ({ name, plugin: sourcePlugin(sourceDefinition(name, { allowedPaths })) }));
}

/** FileStreamSink under each of its names, its `file` confined to `allowedPaths` (default: `$TRIBUTARY_ALLOWED_PATHS`). */
export function fileStreamSinkPlugins(allowedPaths?: AllowedPaths): Array<{ name: string; plugin: ConnectorPluginImplementation }> {
  return FILE_STREAM_SINK_NAMES.map((name) => ({ name, plugin: sinkPlugin(sinkDefinition(name, { allowedPaths })) }));
}
