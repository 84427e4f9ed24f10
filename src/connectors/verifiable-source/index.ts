/**
 * The verifiable source (Kafka Connect's VerifiableSource idea), built on the public plugin SDK:
 * per stream partition `p<i>` it emits records whose value is `{"partition":"p<i>","seq":<n>}`,
 * seq 0, 1, 2, … with the offset being the seq itself (decimal ASCII), so tests can count what
 * arrived: every seq from 0 to the max must be present, and duplicates only where the delivery
 * guarantee allows. Resuming at a committed offset continues at offset + 1.
 */
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import { RecordBudget } from '../shared/record-budget.js';
import {
  configInt,
  sourcePlugin,
  staticPartitions,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type RecordInit,
  type SourcePluginDefinition,
  type SourceReader,
} from '../../plugins/index.js';

export const VERIFIABLE_SOURCE = 'verifiable-source';

const configKeys: ConfigKeyInit[] = [
  { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'The Kafka topic the records are produced to.', group: 'Records' },
  { name: 'partitions', type: ConfigType.INT, defaultValue: '1', documentation: 'Number of stream partitions, named p0 … p<N-1>.', group: 'Records' },
  {
    name: 'records.per.second',
    type: ConfigType.INT,
    defaultValue: '0',
    documentation: 'Records per second per partition; 0 emits as fast as credits allow.',
    group: 'Records',
  },
  {
    name: 'max.records',
    type: ConfigType.INT,
    defaultValue: '-1',
    documentation: 'Records per partition after which the partition emits nothing more (it waits for drain); -1 is unbounded.',
    group: 'Records',
  },
];

/** The (partition, seq) a verifiable source record carries in its value; undefined if not one. */
export function parseVerifiableValue(value: Uint8Array | undefined): { partition: string; seq: number } | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { partition, seq } = parsed as { partition?: unknown; seq?: unknown };
    return typeof partition === 'string' && typeof seq === 'number' ? { partition, seq } : undefined;
  } catch {
    return undefined;
  }
}

/** The seq an offset names (offsets are seqs in decimal ASCII). */
export function seqOfOffset(offset: Uint8Array): number {
  const text = Buffer.from(offset.buffer, offset.byteOffset, offset.byteLength).toString('ascii');
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`malformed verifiable-source offset "${text}": expected a decimal seq number`, [{ key: 'offset', message: 'must be a decimal seq number' }]);
  }
  return Number(text);
}

class VerifiableReader implements SourceReader {
  private readonly budget: RecordBudget;

  constructor(
    private readonly partition: string,
    private next: number,
    perSecond: number,
    maxRecords: number,
  ) {
    this.budget = new RecordBudget(perSecond, maxRecords);
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    const count = await this.budget.take(max, this.next, signal);
    const records: RecordInit[] = new Array(count);
    const key = Buffer.from(this.partition);
    for (let i = 0; i < count; i++) {
      const seq = this.next++;
      records[i] = { key, value: Buffer.from(`{"partition":"${this.partition}","seq":${seq}}`), offset: Buffer.from(String(seq)) };
    }
    return records;
  }
}

export const verifiableSourceDefinition: SourcePluginDefinition = {
  name: VERIFIABLE_SOURCE,
  version: '1.0.0',
  summary: 'Emits (partition, seq) records with seq as the offset, for counting what arrived',
  configKeys,
  validate(config) {
    const problems = [];
    if (configInt(config, 'partitions') < 1) problems.push({ key: 'partitions', message: 'must be at least 1' });
    if (configInt(config, 'records.per.second') < 0) problems.push({ key: 'records.per.second', message: 'must be 0 (unthrottled) or more' });
    if (configInt(config, 'max.records') < -1) problems.push({ key: 'max.records', message: 'must be -1 (unbounded) or more' });
    return problems;
  },
  watchPartitions(connector, signal) {
    const count = configInt(connector.config, 'partitions', 1);
    return staticPartitions(
      Array.from({ length: count }, (_, i) => `p${i}`),
      signal,
    );
  },
  open(connector, partition, offset) {
    const count = configInt(connector.config, 'partitions', 1);
    const match = /^p(\d+)$/.exec(partition.id);
    if (!match || Number(match[1]) >= count) {
      throw new NotFoundError(`connector "${connector.name}" has no stream partition "${partition.id}" (it has p0 … p${count - 1})`);
    }
    const first = offset === undefined || offset.length === 0 ? 0 : seqOfOffset(offset) + 1;
    return new VerifiableReader(partition.id, first, configInt(connector.config, 'records.per.second', 0), configInt(connector.config, 'max.records', -1));
  },
};

/** The verifiable source as a plugin implementation (serve it in-process or with servePlugin). */
export const verifiableSourcePlugin: ConnectorPluginImplementation = sourcePlugin(verifiableSourceDefinition);
