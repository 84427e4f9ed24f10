/**
 * postgres-query: polls tables with SQL, in the modes of Confluent's JDBC source connector.
 * Each captured table is a stream partition (`<schema>.<table>`), discovered again every
 * `table.poll.interval.ms`, so tables created while running are picked up. Records are STRUCTs
 * in Kafka Connect's own types (Decimal, Date, Time, Timestamp), no key, to topic
 * `<topic.prefix><table>`.
 *
 * Modes and offsets (JSON in the offset bytes):
 * - `incrementing`: rows with `incrementing.column.name` > the last seen value, in its order;
 *   offset `{"inc":"<value>"}`.
 * - `timestamp`: rows with `timestamp.column.name` > the last seen timestamp and older than
 *   now − `timestamp.delay.interval.ms`; offset `{"ts":"<µs since epoch>"}`.
 * - `timestamp+incrementing`: ordered by (timestamp, incrementing): rows after the pair;
 *   offset `{"ts":…,"inc":…}` — the mode that neither misses nor repeats rows.
 * - `bulk`: the whole table every poll; offset `{"bulk":<poll number>,"i":<row index>}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { InvalidArgumentError, NotFoundError, type ConfigProblem } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  configInt,
  parseList,
  sourcePlugin,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type RecordInit,
  type SourcePluginDefinition,
  type SourceReader,
  type WatchPartitionsInit,
} from '../../plugins/index.js';
import { d, struct, type SchemaInit } from '../connect-data/index.js';
import { clientConfig, describeTable, ident, mapColumn, nameFilter, qualified, RAW_TEXT, regexListProblem, type ColumnMapping, type TableInfo } from '../pg-common/index.js';

export const POSTGRES_QUERY = 'postgres-query';
const MODES = ['bulk', 'incrementing', 'timestamp', 'timestamp+incrementing'] as const;
type Mode = (typeof MODES)[number];

const configKeys: ConfigKeyInit[] = [
  { name: 'connection.url', type: ConfigType.STRING, required: true, secret: true, documentation: 'postgres://user:password@host:port/database to read.', group: 'Connection' },
  { name: 'mode', type: ConfigType.STRING, required: true, allowedValues: [...MODES], documentation: 'How new rows are found: bulk, incrementing, timestamp, timestamp+incrementing.', group: 'Mode' },
  { name: 'incrementing.column.name', type: ConfigType.STRING, defaultValue: '', documentation: 'The strictly increasing column (incrementing modes).', group: 'Mode' },
  { name: 'timestamp.column.name', type: ConfigType.STRING, defaultValue: '', documentation: 'The timestamp column (timestamp modes).', group: 'Mode' },
  { name: 'timestamp.delay.interval.ms', type: ConfigType.DURATION_MS, defaultValue: '0', documentation: 'Only rows with a timestamp at least this old are read, so late-committing transactions are not skipped.', group: 'Mode' },
  { name: 'table.include.list', type: ConfigType.LIST, defaultValue: '', documentation: 'Regexes matched against schema.table; empty: every table of the database (but pg_catalog, information_schema).', group: 'Tables' },
  { name: 'table.exclude.list', type: ConfigType.LIST, defaultValue: '', documentation: 'Regexes matched against schema.table, applied after the include list.', group: 'Tables' },
  { name: 'topic.prefix', type: ConfigType.STRING, required: true, documentation: 'Records of table T go to <topic.prefix>T.', group: 'Records' },
  { name: 'poll.interval.ms', type: ConfigType.DURATION_MS, defaultValue: '5000', documentation: 'Pause between polls of a table that returned no new rows.', group: 'Polling' },
  { name: 'batch.max.rows', type: ConfigType.INT, defaultValue: '100', documentation: 'Rows per query.', group: 'Polling' },
  { name: 'table.poll.interval.ms', type: ConfigType.DURATION_MS, defaultValue: '60000', documentation: 'How often the table list is read again to find new and dropped tables.', group: 'Tables' },
];

interface QuerySettings {
  url: string;
  mode: Mode;
  inc: string;
  ts: string;
  delayMs: number;
  include: (name: string) => boolean;
  prefix: string;
  pollMs: number;
  batch: number;
  tablePollMs: number;
}

function settingsOf(c: Record<string, string>): QuerySettings {
  return {
    url: c['connection.url'] ?? '',
    mode: (c.mode ?? 'bulk') as Mode,
    inc: c['incrementing.column.name'] ?? '',
    ts: c['timestamp.column.name'] ?? '',
    delayMs: configInt(c, 'timestamp.delay.interval.ms', 0),
    include: nameFilter(parseList(c['table.include.list'] ?? ''), parseList(c['table.exclude.list'] ?? '')),
    prefix: c['topic.prefix'] ?? '',
    pollMs: configInt(c, 'poll.interval.ms', 5000),
    batch: configInt(c, 'batch.max.rows', 100),
    tablePollMs: configInt(c, 'table.poll.interval.ms', 60_000),
  };
}

function validate(c: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of ['table.include.list', 'table.exclude.list']) {
    const problem = regexListProblem(parseList(c[key] ?? ''));
    if (problem) problems.push({ key, message: problem });
  }
  if (problems.length > 0) return problems;
  const s = settingsOf(c);
  try {
    const u = new URL(s.url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('protocol');
  } catch {
    problems.push({ key: 'connection.url', message: 'must be a postgres:// or postgresql:// URL' });
  }
  if (s.mode.includes('incrementing') && !s.inc) problems.push({ key: 'incrementing.column.name', message: `is required with mode=${s.mode}` });
  if (s.mode.startsWith('timestamp') && !s.ts) problems.push({ key: 'timestamp.column.name', message: `is required with mode=${s.mode}` });
  if (s.batch < 1) problems.push({ key: 'batch.max.rows', message: 'must be at least 1' });
  return problems;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url));
  client.on('error', () => {}); // surfaces through the query in progress
  await client.connect();
  return client;
}

async function listTables(client: pg.Client, include: (name: string) => boolean): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`,
  );
  return r.rows.map((x) => x.name).filter(include);
}

async function* watchTables(s: QuerySettings, signal: AbortSignal): AsyncGenerator<WatchPartitionsInit> {
  const client = await connect(s.url);
  try {
    let known = new Set(await listTables(client, s.include));
    yield { snapshot: true, added: [...known].map((id) => ({ id, attributes: { table: id } })) };
    while (!signal.aborted) {
      try {
        await sleep(s.tablePollMs, undefined, { signal });
      } catch {
        return;
      }
      const now = new Set(await listTables(client, s.include));
      const added = [...now].filter((t) => !known.has(t));
      const removed = [...known].filter((t) => !now.has(t));
      known = now;
      if (added.length > 0 || removed.length > 0) yield { added: added.map((id) => ({ id, attributes: { table: id } })), removed };
    }
  } finally {
    await client.end().catch(() => {});
  }
}

type Offset = { inc?: string; ts?: string; bulk?: number; i?: number };

class QueryReader implements SourceReader {
  private offset: Offset;
  private info: TableInfo | undefined;
  private mappings: ColumnMapping[] = [];
  private schema: SchemaInit | undefined;
  private bulkRows: RecordInit[] = [];

  constructor(
    private readonly client: pg.Client,
    private readonly s: QuerySettings,
    private readonly schemaName: string,
    private readonly table: string,
    offset: Offset,
  ) {
    this.offset = offset;
  }

  private async describe(): Promise<TableInfo> {
    const info = await describeTable(this.client, { schema: this.schemaName, table: this.table });
    if (!info) throw new NotFoundError(`postgres-query: table ${this.schemaName}.${this.table} does not exist (any more)`);
    for (const col of [this.s.mode.includes('incrementing') ? this.s.inc : '', this.s.mode.startsWith('timestamp') ? this.s.ts : ''].filter(Boolean)) {
      if (!info.columns.some((c) => c.name === col)) throw new InvalidArgumentError(`postgres-query: table ${this.schemaName}.${this.table} has no column "${col}"`, [{ key: col === this.s.inc ? 'incrementing.column.name' : 'timestamp.column.name', message: `not a column of ${this.schemaName}.${this.table}` }]);
    }
    this.info = info;
    this.mappings = info.columns.map((c) => mapColumn(c, 'connect'));
    this.schema = struct(
      info.columns.map((c, i) => [c.name, this.mappings[i]!.schema] as const),
      { name: this.table },
    );
    return info;
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    for (;;) {
      if (this.bulkRows.length > 0) return this.bulkRows.splice(0, max);
      const rows = await this.query(Math.min(max, this.s.batch));
      if (rows.length > 0) return rows;
      try {
        await sleep(this.s.pollMs, undefined, { signal });
      } catch {
        return [];
      }
    }
  }

  private async query(limit: number): Promise<RecordInit[]> {
    const info = this.info ?? (await this.describe());
    const table = qualified(info.schema, info.table);
    const cols = info.columns.map((c) => ident(c.name)).join(', ');
    const inc = ident(this.s.inc);
    const ts = ident(this.s.ts);
    const tsMicros = `(extract(epoch from ${ts}) * 1000000)::bigint`;
    const delay = `${ts} < now() - make_interval(secs => ${this.s.delayMs / 1000})`;
    let sql: string;
    let params: unknown[];
    switch (this.s.mode) {
      case 'incrementing':
        sql = `SELECT ${cols}, ${inc}::text AS __inc FROM ${table} WHERE ($1::text IS NULL OR ${inc} > $1::numeric) ORDER BY ${inc} LIMIT ${limit}`;
        params = [this.offset.inc ?? null];
        break;
      case 'timestamp':
        sql = `SELECT ${cols}, ${tsMicros}::text AS __ts FROM ${table} WHERE ${ts} IS NOT NULL AND ($1::bigint IS NULL OR ${tsMicros} > $1::bigint) AND ${delay} ORDER BY ${ts} LIMIT ${limit}`;
        params = [this.offset.ts ?? null];
        break;
      case 'timestamp+incrementing':
        sql = `SELECT ${cols}, ${tsMicros}::text AS __ts, ${inc}::text AS __inc FROM ${table}
                WHERE ${ts} IS NOT NULL AND ($1::bigint IS NULL OR ${tsMicros} > $1::bigint OR (${tsMicros} = $1::bigint AND ${inc} > $2::numeric)) AND ${delay}
                ORDER BY ${ts}, ${inc} LIMIT ${limit}`;
        params = [this.offset.ts ?? null, this.offset.inc ?? '0'];
        break;
      case 'bulk': {
        const r = await this.client.query({ text: `SELECT ${cols} FROM ${table}`, rowMode: 'array', types: RAW_TEXT });
        const poll = (this.offset.bulk ?? -1) + (this.offset.i === undefined ? 1 : 0);
        const start = this.offset.i === undefined ? 0 : this.offset.i + 1;
        const out = (r.rows as Array<Array<string | null>>).map((row, i) => this.record(row, { bulk: poll, i })).slice(start);
        this.offset = { bulk: poll };
        this.bulkRows = out;
        return this.bulkRows.splice(0, limit);
      }
    }
    const r = await this.client.query({ text: sql, values: params, rowMode: 'array', types: RAW_TEXT });
    const n = info.columns.length;
    return (r.rows as Array<Array<string | null>>).map((row) => {
      const o: Offset = {};
      if (this.s.mode === 'incrementing') o.inc = row[n]!;
      else if (this.s.mode === 'timestamp') o.ts = row[n]!;
      else {
        o.ts = row[n]!;
        o.inc = row[n + 1]!;
      }
      this.offset = o;
      return this.record(row.slice(0, n), o);
    });
  }

  private record(row: Array<string | null>, offset: Offset): RecordInit {
    return {
      topic: `${this.s.prefix}${this.table}`,
      valueSchema: this.schema,
      structuredValue: d.struct(row.map((v, i) => (v === null ? (this.mappings[i]!.schema.optional ? d.null() : this.mappings[i]!.fallback) : this.mappings[i]!.convert(v)))),
      offset: Buffer.from(JSON.stringify(offset)),
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

export const postgresQueryDefinition: SourcePluginDefinition = {
  name: POSTGRES_QUERY,
  version: '1.0.0',
  summary: 'Polls PostgreSQL tables (bulk, incrementing, timestamp, timestamp+incrementing), one stream partition per table',
  configKeys,
  validate,
  watchPartitions: (connector, signal) => watchTables(settingsOf(connector.config), signal),
  async open(connector, partition, offset) {
    const s = settingsOf(connector.config);
    const dot = partition.id.indexOf('.');
    if (dot < 0) throw new InvalidArgumentError(`postgres-query: stream partition "${partition.id}" is not schema.table`);
    let parsed: Offset = {};
    if (offset && offset.length > 0) {
      try {
        parsed = JSON.parse(Buffer.from(offset).toString()) as Offset;
      } catch {
        throw new InvalidArgumentError(`malformed postgres-query offset ${JSON.stringify(Buffer.from(offset).toString())}`, [{ key: 'offset', message: 'expected JSON' }]);
      }
    }
    const client = await connect(s.url);
    return new QueryReader(client, s, partition.id.slice(0, dot), partition.id.slice(dot + 1), parsed);
  },
};

export const postgresQueryPlugin: ConnectorPluginImplementation = sourcePlugin(postgresQueryDefinition);
