/**
 * Kafka Connect connector names that run on Tributary's built-in connectors, and how those
 * plugins' raw bytes read as Connect data. Apache Kafka's FileStreamSource hands each line as a
 * STRING (schema `string`, not optional); Tributary's file source sends the line's bytes, so
 * when a converter or transform needs structure the bytes are read as that same string — a
 * JsonConverter then writes `{"schema":{"type":"string","optional":false},"payload":"<line>"}`,
 * exactly what Kafka Connect writes.
 */
export const FILE_STREAM_SOURCE_NAMES = ['org.apache.kafka.connect.file.FileStreamSourceConnector', 'FileStreamSourceConnector', 'FileStreamSource'] as const;
export const FILE_STREAM_SINK_NAMES = ['org.apache.kafka.connect.file.FileStreamSinkConnector', 'FileStreamSinkConnector', 'FileStreamSink'] as const;

const TEXT_PLUGINS = new Set<string>(['file-source', ...FILE_STREAM_SOURCE_NAMES]);

/** How the named plugin's raw key/value bytes read when structure is needed. */
export function pluginBytesAs(plugin: string): 'bytes' | 'string' {
  return TEXT_PLUGINS.has(plugin) ? 'string' : 'bytes';
}
