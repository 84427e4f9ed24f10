/**
 * datagen: a source of synthetic structured records, for demos, benchmarks and tests (in the
 * spirit of Confluent's kafka-connect-datagen). Per stream partition `p<i>` it emits records
 * seq 0, 1, 2, … whose value carries `partition` and `seq` (so tests and benchmarks can count
 * them) and whose offset is the seq in decimal ASCII; resuming at an offset continues at
 * offset + 1, so what is emitted for a seq never changes: fields are a pure function of
 * (partition, seq) except the event time, which is the wall clock.
 *
 * Keys are `{id: int64}`, drawn from `key.cardinality` ids per partition (ids of p<i> are
 * i*cardinality … i*cardinality + cardinality - 1), so different partitions never share a key.
 */
import type { ConfigProblem } from '../../errors.js';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import { RecordBudget } from '../shared/record-budget.js';
import {
  configInt,
  parseList,
  sourcePlugin,
  staticPartitions,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type RecordInit,
  type SourcePluginDefinition,
  type SourceReader,
} from '../../plugins/index.js';
import { d, dateSchema, decimalFromString, decimalSchema, primitive, SchemaType, struct, timestampSchema, type DataInit, type SchemaInit } from '../connect-data/index.js';

export const DATAGEN = 'datagen';

const SHAPES = ['orders', 'users', 'pageviews', 'fields'] as const;
type Shape = (typeof SHAPES)[number];
const FIELD_TYPES = ['int32', 'int64', 'float64', 'boolean', 'string', 'timestamp', 'date', 'decimal'] as const;
type FieldType = (typeof FIELD_TYPES)[number];

const configKeys: ConfigKeyInit[] = [
  { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'The Kafka topic the records are produced to.', group: 'Records' },
  { name: 'shape', type: ConfigType.STRING, defaultValue: 'orders', allowedValues: [...SHAPES], documentation: 'The records\' shape: a built-in one, or "fields" for the field spec in `fields`.', group: 'Records' },
  {
    name: 'fields',
    type: ConfigType.LIST,
    defaultValue: '',
    documentation: `With shape=fields: the value's fields as name:type, type one of ${FIELD_TYPES.join(', ')} (decimal is Connect's Decimal with scale 2).`,
    group: 'Records',
  },
  { name: 'partitions', type: ConfigType.INT, defaultValue: '1', documentation: 'Number of stream partitions, named p0 … p<N-1>.', group: 'Records' },
  { name: 'key.cardinality', type: ConfigType.INT, defaultValue: '1000', documentation: 'Distinct keys per stream partition.', group: 'Records' },
  {
    name: 'record.size.bytes',
    type: ConfigType.INT,
    defaultValue: '0',
    documentation: 'Pad each value with a string field `pad` so its fields hold about this many bytes; 0 adds no padding.',
    group: 'Records',
  },
  { name: 'records.per.second', type: ConfigType.INT, defaultValue: '0', documentation: 'Records per second per partition; 0 emits as fast as credits allow.', group: 'Rate' },
  { name: 'max.records', type: ConfigType.INT, defaultValue: '-1', documentation: 'Records per partition after which it emits nothing more; -1 is unbounded.', group: 'Rate' },
];

interface FieldGen {
  name: string;
  schema: SchemaInit;
  /** `r` is a 32-bit pseudo-random number for (partition, seq, field). */
  value(ctx: { id: number; seq: number; partition: string; now: number; r: number }): DataInit;
  /** Approximate size in bytes, for padding. */
  size: number;
}

const ITEMS = 100;
const REGIONS = 9;
const STATES = ['CA', 'NY', 'TX', 'WA', 'IL', 'FL', 'OR', 'MA'];
const CITIES = ['City_1', 'City_2', 'City_3', 'City_4', 'City_5', 'City_6', 'City_7', 'City_8', 'City_9'];
const GENDERS = ['MALE', 'FEMALE', 'OTHER'];

const f = {
  id: { name: 'id', schema: primitive(SchemaType.INT64), value: ({ id }) => d.int(id), size: 8 } satisfies FieldGen,
  time: (name: string): FieldGen => ({ name, schema: timestampSchema(), value: ({ now }) => d.int(now), size: 8 }),
  pick: (name: string, values: readonly string[]): FieldGen => ({ name, schema: primitive(SchemaType.STRING), value: ({ r }) => d.str(values[r % values.length]!), size: 8 }),
  prefixed: (name: string, prefix: string, n: number, by: 'r' | 'id' = 'r'): FieldGen => ({
    name,
    schema: primitive(SchemaType.STRING),
    value: ({ r, id }) => d.str(`${prefix}${(by === 'r' ? r : id) % n}`),
    size: prefix.length + 3,
  }),
};

function builtinFields(shape: Exclude<Shape, 'fields'>): FieldGen[] {
  switch (shape) {
    case 'orders':
      return [
        f.id,
        f.time('ordertime'),
        { name: 'orderid', schema: primitive(SchemaType.INT64), value: ({ seq }) => d.int(seq), size: 8 },
        f.prefixed('itemid', 'Item_', ITEMS),
        { name: 'orderunits', schema: primitive(SchemaType.FLOAT64), value: ({ r }) => d.float((r % 10_000) / 1000), size: 8 },
        f.pick('city', CITIES),
        f.pick('state', STATES),
        { name: 'zipcode', schema: primitive(SchemaType.INT32), value: ({ r }) => d.int(10_000 + (r % 90_000)), size: 4 },
      ];
    case 'users':
      return [f.id, f.time('registertime'), f.prefixed('userid', 'User_', Number.MAX_SAFE_INTEGER, 'id'), f.prefixed('regionid', 'Region_', REGIONS), f.pick('gender', GENDERS)];
    case 'pageviews':
      return [f.id, f.time('viewtime'), f.prefixed('userid', 'User_', 1000), f.prefixed('pageid', 'Page_', 100)];
  }
}

function specFields(spec: string[]): FieldGen[] {
  return [
    f.id,
    ...spec.map((entry): FieldGen => {
      const [name, type] = entry.split(':').map((s) => s.trim()) as [string, FieldType];
      switch (type) {
        case 'int32':
          return { name, schema: primitive(SchemaType.INT32), value: ({ r }) => d.int(r % 1_000_000), size: 4 };
        case 'int64':
          return { name, schema: primitive(SchemaType.INT64), value: ({ r, seq }) => d.int(BigInt(seq) * 4_294_967_296n + BigInt(r)), size: 8 };
        case 'float64':
          return { name, schema: primitive(SchemaType.FLOAT64), value: ({ r }) => d.float(r / 4_294_967_296), size: 8 };
        case 'boolean':
          return { name, schema: primitive(SchemaType.BOOLEAN), value: ({ r }) => d.bool((r & 1) === 1), size: 1 };
        case 'string':
          return { name, schema: primitive(SchemaType.STRING), value: ({ r }) => d.str(r.toString(36)), size: 7 };
        case 'timestamp':
          return f.time(name);
        case 'date':
          return { name, schema: dateSchema(), value: ({ r }) => d.int(18_000 + (r % 3650)), size: 4 };
        case 'decimal':
          return { name, schema: decimalSchema(2), value: ({ r }) => d.bytes(decimalFromString(((r % 1_000_000) / 100).toFixed(2), 2).bytes), size: 4 };
      }
    }),
  ];
}

function specProblems(config: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const spec = parseList(config.fields ?? '');
  if (config.shape === 'fields') {
    if (spec.length === 0) problems.push({ key: 'fields', message: 'is required with shape=fields (name:type, …)' });
    const seen = new Set(['id', 'partition', 'seq', 'pad']);
    for (const entry of spec) {
      const [name, type, extra] = entry.split(':').map((s) => s.trim());
      if (!name || !type || extra !== undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        problems.push({ key: 'fields', message: `"${entry}" is not name:type` });
      } else if (!(FIELD_TYPES as readonly string[]).includes(type)) {
        problems.push({ key: 'fields', message: `"${entry}": type must be one of ${FIELD_TYPES.join(', ')}` });
      } else if (seen.has(name)) {
        problems.push({ key: 'fields', message: `"${name}" is used twice or is one of the fields every record has (id, partition, seq, pad)` });
      } else {
        seen.add(name);
      }
    }
  } else if (spec.length > 0) {
    problems.push({ key: 'fields', message: `applies only to shape=fields, not shape=${config.shape}` });
  }
  return problems;
}

/** The generator of one connector's records (shared by its partitions). */
export class RecordShape {
  readonly keySchema: SchemaInit;
  readonly valueSchema: SchemaInit;
  private readonly fields: FieldGen[];
  private readonly pad: number;

  constructor(config: Record<string, string>) {
    const shape = (config.shape ?? 'orders') as Shape;
    this.fields = shape === 'fields' ? specFields(parseList(config.fields ?? '')) : builtinFields(shape);
    const size = configInt(config, 'record.size.bytes', 0);
    const base = this.fields.reduce((n, g) => n + g.size, 0) + 12;
    this.pad = size > base ? size - base : 0;
    const name = `tributary.datagen.${shape}`;
    this.keySchema = struct([['id', primitive(SchemaType.INT64)]], { name: `${name}.Key` });
    this.valueSchema = struct(
      [...this.fields.map((g) => [g.name, g.schema] as const), ['partition', primitive(SchemaType.STRING)], ['seq', primitive(SchemaType.INT64)], ...(this.pad > 0 ? [['pad', primitive(SchemaType.STRING)] as const] : [])],
      { name: `${name}.Value` },
    );
  }

  record(partition: string, partitionIndex: number, cardinality: number, seq: number, now: number, padding: DataInit | undefined): RecordInit {
    const id = partitionIndex * cardinality + (mix(partitionIndex, seq, 0xc0ffee) % cardinality);
    const values = this.fields.map((g, i) => g.value({ id, seq, partition, now, r: mix(partitionIndex, seq, i) }));
    values.push(d.str(partition), d.int(seq));
    if (padding) values.push(padding);
    return {
      keySchema: this.keySchema,
      valueSchema: this.valueSchema,
      structuredKey: d.struct([d.int(id)]),
      structuredValue: d.struct(values),
      timestampMs: BigInt(now),
      offset: Buffer.from(String(seq)),
    };
  }

  padding(): DataInit | undefined {
    return this.pad > 0 ? d.str('x'.repeat(this.pad)) : undefined;
  }
}

/** The key id datagen emits for (partition index, seq), for tests that compute expected state. */
export function datagenKeyId(partitionIndex: number, cardinality: number, seq: number): number {
  return partitionIndex * cardinality + (mix(partitionIndex, seq, 0xc0ffee) % cardinality);
}

/** A 32-bit mix of three integers (murmur3's finaliser): deterministic pseudo-randomness. */
function mix(a: number, b: number, c: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35) ^ Math.imul(Math.floor(b / 4_294_967_296) + c, 0x27d4eb2f)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function seqOfOffset(offset: Uint8Array): number {
  const text = Buffer.from(offset).toString('ascii');
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`malformed datagen offset "${text}": expected a decimal seq number`, [{ key: 'offset', message: 'must be a decimal seq number' }]);
  }
  return Number(text);
}

class DatagenReader implements SourceReader {
  private readonly budget: RecordBudget;
  private readonly padding: DataInit | undefined;

  constructor(
    private readonly shape: RecordShape,
    private readonly partition: string,
    private readonly index: number,
    private readonly cardinality: number,
    private next: number,
    perSecond: number,
    maxRecords: number,
  ) {
    this.budget = new RecordBudget(perSecond, maxRecords);
    this.padding = shape.padding();
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    const count = await this.budget.take(max, this.next, signal);
    const now = Date.now();
    const records: RecordInit[] = new Array(count);
    for (let i = 0; i < count; i++) records[i] = this.shape.record(this.partition, this.index, this.cardinality, this.next++, now, this.padding);
    return records;
  }
}

export const datagenDefinition: SourcePluginDefinition = {
  name: DATAGEN,
  version: '1.0.0',
  summary: 'Synthetic structured records (orders, users, pageviews or a field spec) at a configured rate',
  configKeys,
  validate(config) {
    const problems: ConfigProblem[] = [];
    if (configInt(config, 'partitions') < 1) problems.push({ key: 'partitions', message: 'must be at least 1' });
    if (configInt(config, 'key.cardinality') < 1) problems.push({ key: 'key.cardinality', message: 'must be at least 1' });
    if (configInt(config, 'record.size.bytes') < 0) problems.push({ key: 'record.size.bytes', message: 'must be 0 (no padding) or more' });
    if (configInt(config, 'records.per.second') < 0) problems.push({ key: 'records.per.second', message: 'must be 0 (unthrottled) or more' });
    if (configInt(config, 'max.records') < -1) problems.push({ key: 'max.records', message: 'must be -1 (unbounded) or more' });
    problems.push(...specProblems(config));
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
    const config = connector.config;
    const count = configInt(config, 'partitions', 1);
    const match = /^p(\d+)$/.exec(partition.id);
    if (!match || Number(match[1]) >= count) {
      throw new NotFoundError(`connector "${connector.name}" has no stream partition "${partition.id}" (it has p0 … p${count - 1})`);
    }
    const first = offset === undefined || offset.length === 0 ? 0 : seqOfOffset(offset) + 1;
    return new DatagenReader(
      new RecordShape(config),
      partition.id,
      Number(match[1]),
      configInt(config, 'key.cardinality', 1000),
      first,
      configInt(config, 'records.per.second', 0),
      configInt(config, 'max.records', -1),
    );
  },
};

export const datagenPlugin: ConnectorPluginImplementation = sourcePlugin(datagenDefinition);
