/**
 * The verifiable sink, built on the public plugin SDK: appends one JSON line per record it is
 * given to `output.file`, `{"topic","partition","offset","seq","source"}` (`seq` and `source` =
 * the verifiable source's seq and stream partition, null when the value is not one of its
 * records), and on flush fsyncs the file and then appends `{"durable":<offset>,"topic","partition"}`.
 * A checker reads the file back (readVerifiableSinkFile) and counts: every record given, and which
 * of them the sink acknowledged as durable. `flush.delay.ms` simulates a slow external system.
 */
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  configInt,
  sinkPlugin,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type PluginRecord,
  type SinkPluginDefinition,
  type SinkWriter,
} from '../../plugins/index.js';
import { parseVerifiableValue } from '../verifiable-source/index.js';

export const VERIFIABLE_SINK = 'verifiable-sink';

const configKeys: ConfigKeyInit[] = [
  { name: 'output.file', type: ConfigType.STRING, required: true, documentation: 'File the sink appends its JSON lines to (created if missing).', group: 'Output' },
  { name: 'flush.delay.ms', type: ConfigType.DURATION_MS, defaultValue: '0', documentation: 'Extra time each flush takes, to simulate a slow system.', group: 'Output' },
];

/** One record line of the output file. */
export interface SinkRecordLine {
  topic: string;
  partition: number | null;
  offset: number;
  seq: number | null;
  source: string | null;
}

/** One durable marker of the output file: every record of (topic, partition) through `durable` is on disk. */
export interface SinkDurableLine {
  durable: number;
  topic: string;
  partition: number | null;
}

class VerifiableWriter implements SinkWriter {
  private lastReceived: bigint | undefined;
  private lastMarked: bigint | undefined;

  constructor(
    private readonly file: FileHandle,
    private readonly topic: string,
    private readonly partition: number | null,
    private readonly flushDelayMs: number,
  ) {}

  async write(records: PluginRecord[]): Promise<void> {
    let text = '';
    for (const record of records) {
      const value = parseVerifiableValue(record.value);
      const line: SinkRecordLine = {
        topic: this.topic || (record.topic ?? ''),
        partition: this.partition ?? record.kafkaPartition ?? null,
        offset: Number(record.kafkaOffset),
        seq: value?.seq ?? null,
        source: value?.partition ?? null,
      };
      text += `${JSON.stringify(line)}\n`;
    }
    await this.file.write(text);
    this.lastReceived = records[records.length - 1]?.kafkaOffset ?? this.lastReceived;
  }

  async flush(): Promise<void> {
    if (this.flushDelayMs > 0) await sleep(this.flushDelayMs);
    await this.file.sync();
    const through = this.lastReceived;
    if (through !== undefined && through !== this.lastMarked) {
      const marker: SinkDurableLine = { durable: Number(through), topic: this.topic, partition: this.partition };
      await this.file.write(`${JSON.stringify(marker)}\n`);
      this.lastMarked = through;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

export const verifiableSinkDefinition: SinkPluginDefinition = {
  name: VERIFIABLE_SINK,
  version: '1.0.0',
  summary: 'Appends every record it is given, and what it made durable, to a file of JSON lines',
  configKeys,
  async open(connector, partition) {
    const path = connector.config['output.file']!;
    await mkdir(dirname(path), { recursive: true });
    // Append mode: each write lands whole at the end, even with other partitions on the same file.
    const file = await open(path, 'a');
    return new VerifiableWriter(file, partition.topic ?? '', partition.kafkaPartition ?? null, configInt(connector.config, 'flush.delay.ms', 0));
  },
};

/** The verifiable sink as a plugin implementation. */
export const verifiableSinkPlugin: ConnectorPluginImplementation = sinkPlugin(verifiableSinkDefinition);

/** Reads a verifiable sink's output file back. */
export async function readVerifiableSinkFile(path: string): Promise<{ records: SinkRecordLine[]; durable: SinkDurableLine[] }> {
  const records: SinkRecordLine[] = [];
  const durable: SinkDurableLine[] = [];
  const lines = (await readFile(path, 'utf8')).split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    let parsed: SinkRecordLine | SinkDurableLine;
    try {
      parsed = JSON.parse(line) as SinkRecordLine | SinkDurableLine;
    } catch (err) {
      // A crash may cut the last line short; anything else is corruption.
      if (i === lines.length - 1) break;
      throw err;
    }
    if ('durable' in parsed) durable.push(parsed);
    else records.push(parsed);
  }
  return { records, durable };
}
