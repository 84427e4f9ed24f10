/**
 * Debezium's change-event shapes for one table: key and value schemas named as Debezium's
 * PostgreSQL connector names them (`<prefix>.<schema>.<table>.Key` / `.Value` / `.Envelope`,
 * source `io.debezium.connector.postgresql.Source`), and the envelope value
 * (before, after, source, transaction, op, ts_ms, ts_us, ts_ns) in Debezium 3.6's field order.
 */
import { d, primitive, SchemaType, struct, type DataInit, type SchemaInit } from '../connect-data/index.js';
import { mapColumn, type ColumnInfo, type ColumnMapping } from '../pg-common/index.js';

export const CONNECTOR_VERSION = 'tributary-1.0.0';
const UNAVAILABLE = '__debezium_unavailable_value';

const SNAPSHOT_VALUES = 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental';

export const SOURCE_SCHEMA: SchemaInit = struct(
  [
    ['version', primitive(SchemaType.STRING)],
    ['connector', primitive(SchemaType.STRING)],
    ['name', primitive(SchemaType.STRING)],
    ['ts_ms', primitive(SchemaType.INT64)],
    ['snapshot', primitive(SchemaType.STRING, { optional: true, name: 'io.debezium.data.Enum', version: 1, parameters: { allowed: SNAPSHOT_VALUES } })],
    ['db', primitive(SchemaType.STRING)],
    ['sequence', primitive(SchemaType.STRING, { optional: true })],
    ['ts_us', primitive(SchemaType.INT64, { optional: true })],
    ['ts_ns', primitive(SchemaType.INT64, { optional: true })],
    ['schema', primitive(SchemaType.STRING)],
    ['table', primitive(SchemaType.STRING)],
    ['txId', primitive(SchemaType.INT64, { optional: true })],
    ['lsn', primitive(SchemaType.INT64, { optional: true })],
    ['xmin', primitive(SchemaType.INT64, { optional: true })],
    ['origin', primitive(SchemaType.STRING, { optional: true })],
    ['origin_lsn', primitive(SchemaType.INT64, { optional: true })],
  ],
  { name: 'io.debezium.connector.postgresql.Source', version: 1 },
);

const TRANSACTION_SCHEMA: SchemaInit = struct(
  [
    ['id', primitive(SchemaType.STRING)],
    ['total_order', primitive(SchemaType.INT64)],
    ['data_collection_order', primitive(SchemaType.INT64)],
  ],
  { optional: true, name: 'event.block', version: 1 },
);

export type Op = 'r' | 'c' | 'u' | 'd';
export type SnapshotFlag = 'true' | 'first' | 'last' | 'false';

export interface SourceInfo {
  /** Commit time (stream) or snapshot start (snapshot), µs since the epoch. */
  tsUs: bigint;
  snapshot: SnapshotFlag;
  txId: number | undefined;
  lsn: bigint;
  /** Debezium's `sequence`: [last commit LSN, this LSN] as decimal strings. */
  sequence: string;
}

/** Topic name characters Kafka accepts; others become '_' (as Debezium's topic naming does). */
export function topicName(prefix: string, schema: string, table: string): string {
  return `${prefix}.${schema}.${table}`.replace(/[^a-zA-Z0-9._-]/g, '_');
}

export class TableEvents {
  readonly topic: string;
  readonly keySchema: SchemaInit | undefined;
  readonly valueSchema: SchemaInit;
  readonly envelopeSchema: SchemaInit;
  private readonly mappings: ColumnMapping[];
  private readonly keyIndexes: number[];
  private readonly keyMappings: ColumnMapping[];

  constructor(
    private readonly prefix: string,
    private readonly database: string,
    readonly schema: string,
    readonly table: string,
    readonly columns: ColumnInfo[],
    primaryKey: string[],
  ) {
    this.topic = topicName(prefix, schema, table);
    const base = `${prefix}.${schema}.${table}`;
    this.mappings = columns.map((c) => mapColumn(c, 'debezium'));
    this.keyIndexes = primaryKey.map((k) => columns.findIndex((c) => c.name === k)).filter((i) => i >= 0);
    this.keyMappings = this.keyIndexes.map((i) => mapColumn(columns[i]!, 'debezium', false));
    this.keySchema =
      this.keyIndexes.length === 0
        ? undefined
        : struct(
            this.keyIndexes.map((i, k) => [columns[i]!.name, this.keyMappings[k]!.schema] as const),
            { name: `${base}.Key` },
          );
    this.valueSchema = struct(
      columns.map((c, i) => [c.name, this.mappings[i]!.schema] as const),
      { optional: true, name: `${base}.Value` },
    );
    this.envelopeSchema = struct(
      [
        ['before', this.valueSchema],
        ['after', this.valueSchema],
        ['source', SOURCE_SCHEMA],
        ['transaction', TRANSACTION_SCHEMA],
        ['op', primitive(SchemaType.STRING)],
        ['ts_ms', primitive(SchemaType.INT64, { optional: true })],
        ['ts_us', primitive(SchemaType.INT64, { optional: true })],
        ['ts_ns', primitive(SchemaType.INT64, { optional: true })],
      ],
      { name: `${base}.Envelope`, version: 2 },
    );
  }

  /**
   * A row's values (text form; null = SQL NULL; undefined = not sent: a non-key column of a
   * key-only old tuple, or an unchanged TOAST value) as the Value struct.
   */
  row(values: ReadonlyArray<string | null | undefined>): DataInit {
    return d.struct(
      this.mappings.map((m, i) => {
        const v = values[i];
        if (typeof v === 'string') return m.convert(v);
        if (v === undefined && m.schema.type === SchemaType.STRING) return d.str(UNAVAILABLE);
        return m.schema.optional ? d.null() : m.fallback;
      }),
    );
  }

  key(values: ReadonlyArray<string | null | undefined>): DataInit | undefined {
    if (this.keyIndexes.length === 0) return undefined;
    return d.struct(this.keyIndexes.map((i, k) => {
      const v = values[i];
      return typeof v === 'string' ? this.keyMappings[k]!.convert(v) : this.keyMappings[k]!.fallback;
    }));
  }

  envelope(op: Op, before: DataInit | undefined, after: DataInit | undefined, source: SourceInfo): DataInit {
    const nowMs = Date.now();
    const tsMs = Number(source.tsUs / 1000n);
    return d.struct([
      before ?? d.null(),
      after ?? d.null(),
      d.struct([
        d.str(CONNECTOR_VERSION),
        d.str('postgresql'),
        d.str(this.prefix),
        d.int(tsMs),
        d.str(source.snapshot),
        d.str(this.database),
        d.str(source.sequence),
        d.int(source.tsUs),
        d.int(source.tsUs * 1000n),
        d.str(this.schema),
        d.str(this.table),
        source.txId === undefined ? d.null() : d.int(source.txId),
        d.int(source.lsn),
        d.null(),
        d.null(),
        d.null(),
      ]),
      d.null(),
      d.str(op),
      d.int(nowMs),
      d.int(BigInt(nowMs) * 1000n),
      d.int(BigInt(nowMs) * 1_000_000n),
    ]);
  }
}
