/**
 * The file sink (Kafka Connect's FileStreamSink), built on the public plugin SDK: appends each
 * record's value as one line (the value's bytes, then `\n`; a null value is an empty line) to
 * `file`, and on flush fsyncs it. Every topic-partition of the connector appends to the same
 * file, each batch in one append, so lines of different partitions interleave by batch. Values
 * are written as they are: a value that contains `\n` spans several lines.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FailedPreconditionError, type ConfigProblem } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  sinkPlugin,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type PluginRecord,
  type SinkPluginDefinition,
  type SinkWriter,
} from '../../plugins/index.js';

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
      if (record.value) parts.push(record.value);
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

export const fileSinkDefinition: SinkPluginDefinition = {
  name: FILE_SINK,
  version: '1.0.0',
  summary: 'Appends each record value as one line to a file',
  configKeys,
  async validate(config) {
    const problems: ConfigProblem[] = [];
    const path = resolve(config['file']!);
    const info = await stat(path).catch(() => undefined);
    if (info && !info.isFile()) problems.push({ key: 'file', message: `"${path}" exists and is not a regular file` });
    return problems;
  },
  async open(connector, partition) {
    const path = resolve(connector.config['file']!);
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

/** The file sink as a plugin implementation. */
export const fileSinkPlugin: ConnectorPluginImplementation = sinkPlugin(fileSinkDefinition);
