/**
 * The file sink (Kafka Connect's FileStreamSink), built on the public plugin SDK: appends each
 * record's value as one line (the value's bytes, then `\n`; a null value is an empty line) to
 * `file`, and on flush fsyncs it. Every topic-partition of the connector appends to the same
 * file, each batch in one append, so lines of different partitions interleave by batch. Values
 * are written as they are: a value that contains `\n` spans several lines. A structured value
 * (the connector's converter makes structure, e.g. JsonConverter) is written as Kafka
 * Connect's FileStreamSink writes it: a string as it is, anything else as Java's toString.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, type ConfigProblem } from '../../errors.js';
import { AllowedPaths } from '../../util/allowed-paths.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  sinkPlugin,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type PluginRecord,
  type SinkPluginDefinition,
  type SinkWriter,
} from '../../plugins/index.js';
import { javaToString, schemaFromProto, valueFromProto } from '../../processing/index.js';

export const FILE_SINK = 'file-sink';

const NEWLINE = Buffer.from('\n');

const configKeys: ConfigKeyInit[] = [
  {
    name: 'file',
    type: ConfigType.STRING,
    required: true,
    documentation: 'The file the record values are appended to, one line each (created, with its directory, if missing).',
    group: 'Output',
  },
];

class FileWriter implements SinkWriter {
  constructor(private readonly file: FileHandle) {}

  async write(records: PluginRecord[]): Promise<void> {
    const parts: Uint8Array[] = [];
    for (const record of records) {
      if (record.structuredValue !== undefined) {
        // A structured value (e.g. from JsonConverter) is printed as Kafka Connect's
        // FileStreamSinkTask prints record.value(): a string as it is, others as Java's toString.
        const s = record.valueSchema ? schemaFromProto(record.valueSchema) : null;
        parts.push(Buffer.from(javaToString(valueFromProto(record.structuredValue, s), s), 'utf8'));
      } else if (record.value) parts.push(record.value);
      parts.push(NEWLINE);
    }
    const data = Buffer.concat(parts);
    // Append mode: every write lands at the end; loop in case one write takes only part of it.
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.file.write(data, written, data.length - written);
      written += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    await this.file.sync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Fsyncs a directory, so a file just created in it survives a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface FileSinkOptions {
  /**
   * The directories `file` may lie under (the worker's `allowed.paths`). Default: read from
   * `$TRIBUTARY_ALLOWED_PATHS` at each call (a child-process plugin gets it so); unset: none.
   */
  allowedPaths?: AllowedPaths;
}

/** The file sink's definition, confined to `options.allowedPaths`. */
export function createFileSinkDefinition(options: FileSinkOptions = {}): SinkPluginDefinition {
  const allowed = (): AllowedPaths => options.allowedPaths ?? AllowedPaths.fromEnvironment();
  return {
  name: FILE_SINK,
  version: '1.0.0',
  summary: 'Appends each record value as one line to a file',
  configKeys,
  async validate(config) {
    const problems: ConfigProblem[] = [];
    const path = resolve(config['file']!);
    const outside = await allowed().problem(path);
    if (outside) return [{ key: 'file', message: outside }];
    const info = await stat(path).catch(() => undefined);
    if (info && !info.isFile()) problems.push({ key: 'file', message: `"${path}" exists and is not a regular file` });
    return problems;
  },
  async open(connector, partition) {
    const path = resolve(connector.config['file']!);
    // Again here: a config stored before allowed.paths changed must not open outside it.
    const outside = await allowed().problem(path);
    if (outside) throw new InvalidArgumentError(`connector "${connector.name}": file ${outside}`, [{ key: 'file', message: outside }]);
    let file: FileHandle | undefined;
    try {
      await mkdir(dirname(path), { recursive: true });
      const existed = await stat(path).then(
        () => true,
        () => false,
      );
      file = await open(path, 'a');
      if (!existed) await syncDirectory(dirname(path));
      return new FileWriter(file);
    } catch (err) {
      await file?.close().catch(() => {});
      throw new FailedPreconditionError(
        `connector "${connector.name}" partition "${partition.id}": cannot open file "${path}" for appending: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  },
  };
}

/** The file sink confined to `$TRIBUTARY_ALLOWED_PATHS` (none when unset). */
export const fileSinkDefinition: SinkPluginDefinition = createFileSinkDefinition();

/** The file sink as a plugin implementation. */
export const fileSinkPlugin: ConnectorPluginImplementation = sinkPlugin(fileSinkDefinition);

/** The file sink confined to `options.allowedPaths`. */
export function createFileSinkPlugin(options: FileSinkOptions = {}): ConnectorPluginImplementation {
  return sinkPlugin(createFileSinkDefinition(options));
}
