/**
 * postgres-sink: writes records into PostgreSQL tables — insert, upsert (by primary key from the
 * record key or value fields) or update; deletes on tombstones (and Debezium delete events);
 * optional table auto-create and auto-evolve — **exactly once**: each flush is one database
 * transaction holding the rows *and* the Kafka offset of the last record they came from (in the
 * offsets table, per connector and topic-partition). On open, that stored offset is returned as
 * `resume_after_offset`, so the worker resumes right after what the table already holds: a crash
 * or a move between workers neither writes a record twice nor skips one.
 *
 * Fencing: a flush locks its offsets row and checks it still holds what this writer last
 * committed; a stale writer (a partition that moved while this one hung) fails instead of
 * writing over its successor.
 */
import pg from 'pg';
import { FailedPreconditionError, InvalidArgumentError, type ConfigProblem } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  configBoolean,
  configInt,
  parseList,
  sinkPlugin,
  type ConfigKeyInit,
  type ConnectorPluginImplementation,
  type PluginRecord,
  type SinkPluginDefinition,
  type SinkWriter,
} from '../../plugins/index.js';
import { clientConfig, ident, qualified } from '../pg-common/index.js';
import { rowOf, sqlType, type Column, type Row, type RowSettings } from './rows.js';

export const POSTGRES_SINK = 'postgres-sink';

const configKeys: ConfigKeyInit[] = [
  { name: 'connection.url', type: ConfigType.STRING, required: true, secret: true, documentation: 'postgres://user:password@host:port/database to write to.', group: 'Connection' },
  { name: 'table.schema', type: ConfigType.STRING, defaultValue: 'public', documentation: 'The schema the tables are in (and auto-created in).', group: 'Tables' },
  { name: 'table.name.format', type: ConfigType.STRING, defaultValue: '${topic}', documentation: 'The table of a record; ${topic} is its topic with "." replaced by "_".', group: 'Tables' },
  { name: 'insert.mode', type: ConfigType.STRING, defaultValue: 'insert', allowedValues: ['insert', 'upsert', 'update'], documentation: 'insert: INSERT; upsert: INSERT … ON CONFLICT (key) DO UPDATE; update: UPDATE by key.', group: 'Writes' },
  { name: 'primary.key.mode', type: ConfigType.STRING, defaultValue: 'none', allowedValues: ['none', 'record_key', 'record_value'], documentation: 'Where the primary key comes from: none, the record key (a struct\'s fields, or one primitive named by primary.key.fields), or value fields.', group: 'Writes' },
  { name: 'primary.key.fields', type: ConfigType.LIST, defaultValue: '', documentation: 'record_key: the key fields to use (empty: all), or the column name of a primitive key; record_value: the value fields (required).', group: 'Writes' },
  { name: 'delete.enabled', type: ConfigType.BOOLEAN, defaultValue: 'false', documentation: 'Delete the row on a tombstone (or a Debezium delete event); needs primary.key.mode=record_key.', group: 'Writes' },
  { name: 'auto.create', type: ConfigType.BOOLEAN, defaultValue: 'false', documentation: 'CREATE TABLE from the record schema when the table is missing.', group: 'Tables' },
  { name: 'auto.evolve', type: ConfigType.BOOLEAN, defaultValue: 'false', documentation: 'ALTER TABLE … ADD COLUMN for record fields the table lacks (as nullable columns).', group: 'Tables' },
  { name: 'batch.size', type: ConfigType.INT, defaultValue: '1000', documentation: 'Rows per SQL statement.', group: 'Writes' },
  { name: 'offsets.table', type: ConfigType.STRING, defaultValue: 'tributary_sink_offsets', documentation: 'The table (in table.schema) holding each topic-partition\'s last written Kafka offset, written in the same transaction as the rows.', group: 'Exactly once' },
];

interface SinkSettings extends RowSettings {
  url: string;
  schema: string;
  insertMode: 'insert' | 'upsert' | 'update';
  autoCreate: boolean;
  autoEvolve: boolean;
  batchSize: number;
  offsetsTable: string;
}

function settingsOf(config: Record<string, string>): SinkSettings {
  return {
    url: config['connection.url'] ?? '',
    schema: config['table.schema'] || 'public',
    tableFormat: config['table.name.format'] || '${topic}',
    insertMode: (config['insert.mode'] ?? 'insert') as SinkSettings['insertMode'],
    pkMode: (config['primary.key.mode'] ?? 'none') as RowSettings['pkMode'],
    pkFields: parseList(config['primary.key.fields'] ?? ''),
    deleteEnabled: configBoolean(config, 'delete.enabled', false),
    autoCreate: configBoolean(config, 'auto.create', false),
    autoEvolve: configBoolean(config, 'auto.evolve', false),
    batchSize: configInt(config, 'batch.size', 1000),
    offsetsTable: config['offsets.table'] || 'tributary_sink_offsets',
  };
}

function validate(config: Record<string, string>): ConfigProblem[] {
  const s = settingsOf(config);
  const problems: ConfigProblem[] = [];
  try {
    const u = new URL(s.url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('protocol');
  } catch {
    problems.push({ key: 'connection.url', message: 'must be a postgres:// or postgresql:// URL' });
  }
  if (s.insertMode !== 'insert' && s.pkMode === 'none') problems.push({ key: 'primary.key.mode', message: `insert.mode=${s.insertMode} needs a primary key: record_key or record_value` });
  if (s.pkMode === 'record_value' && s.pkFields.length === 0) problems.push({ key: 'primary.key.fields', message: 'is required with primary.key.mode=record_value' });
  if (s.deleteEnabled && s.pkMode !== 'record_key') problems.push({ key: 'delete.enabled', message: 'needs primary.key.mode=record_key (a tombstone carries only its key)' });
  if (s.batchSize < 1) problems.push({ key: 'batch.size', message: 'must be at least 1' });
  if (!s.tableFormat.includes('${topic}') && /[^A-Za-z0-9_]/.test(s.tableFormat)) problems.push({ key: 'table.name.format', message: 'must be a table name or contain ${topic}' });
  return problems;
}

const UNDEFINED_TABLE = '42P01';
const DUPLICATE_TABLE = '42P07';
const UNIQUE_VIOLATION = '23505';
/** What a losing concurrent CREATE TABLE IF NOT EXISTS may also see: its row type exists. */
const DUPLICATE_OBJECT = '42710';

async function ensureOffsetsTable(client: pg.ClientBase, s: SinkSettings): Promise<void> {
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(s.schema, s.offsetsTable)} (connector text NOT NULL, topic text NOT NULL, kafka_partition int NOT NULL, kafka_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, kafka_partition))`,
    );
  } catch (err) {
    // Two partitions creating it at once: one wins, the other sees a duplicate (of the table,
    // of its catalog row, or of its row type, depending on where the race is lost).
    const code = (err as { code?: string }).code;
    if (code !== DUPLICATE_TABLE && code !== UNIQUE_VIOLATION && code !== DUPLICATE_OBJECT) throw err;
  }
}

class PostgresWriter implements SinkWriter {
  resumeAfterOffset: bigint | undefined;
  private readonly rows: Row[] = [];
  private lastReceived: bigint | undefined;
  /** What the offsets row holds (and so what this writer last committed). */
  private committed: bigint | undefined;
  private readonly tables = new Map<string, Set<string>>();

  constructor(
    private readonly client: pg.Client,
    private readonly s: SinkSettings,
    private readonly connector: string,
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  async open(): Promise<void> {
    await ensureOffsetsTable(this.client, this.s);
    const r = await this.client.query<{ kafka_offset: string }>(`SELECT kafka_offset::text FROM ${qualified(this.s.schema, this.s.offsetsTable)} WHERE connector = $1 AND topic = $2 AND kafka_partition = $3`, [
      this.connector,
      this.topic,
      this.partition,
    ]);
    this.committed = r.rows[0] ? BigInt(r.rows[0].kafka_offset) : undefined;
    this.resumeAfterOffset = this.committed;
  }

  write(records: PluginRecord[]): void {
    for (const record of records) {
      const offset = record.kafkaOffset!;
      // Already in the table (a worker that resumed before our offset): never write it twice.
      if (this.committed !== undefined && offset <= this.committed) continue;
      const row = rowOf(record, this.s);
      if (row) this.rows.push(row);
      this.lastReceived = offset;
    }
  }

  async flush(): Promise<void> {
    const through = this.lastReceived;
    if (through === undefined || (this.committed !== undefined && through <= this.committed)) return;
    const client = this.client;
    await client.query('BEGIN');
    try {
      const offsets = qualified(this.s.schema, this.s.offsetsTable);
      const held = await client.query<{ kafka_offset: string }>(`SELECT kafka_offset::text FROM ${offsets} WHERE connector = $1 AND topic = $2 AND kafka_partition = $3 FOR UPDATE`, [this.connector, this.topic, this.partition]);
      const now = held.rows[0] ? BigInt(held.rows[0].kafka_offset) : undefined;
      if (now !== this.committed) {
        throw new FailedPreconditionError(
          `postgres-sink ${this.connector} ${this.topic}[${this.partition}]: the offsets table holds ${String(now)} but this writer last committed ${String(this.committed)}; another writer owns this partition now`,
        );
      }
      await this.writeRows(this.rows);
      await client.query(
        `INSERT INTO ${offsets} (connector, topic, kafka_partition, kafka_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (connector, topic, kafka_partition) DO UPDATE SET kafka_offset = EXCLUDED.kafka_offset, updated_at = now()`,
        [this.connector, this.topic, this.partition, through.toString()],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    this.rows.length = 0;
    this.committed = through;
    this.resumeAfterOffset = through;
  }

  /** Runs of the same (table, operation, columns) become one statement per batch.size rows. */
  private async writeRows(rows: Row[]): Promise<void> {
    let start = 0;
    while (start < rows.length) {
      const first = rows[start]!;
      const shape = (r: Row) => `${r.op}|${r.table}|${r.columns.map((c) => c.name).join(',')}`;
      let end = start + 1;
      while (end < rows.length && end - start < this.s.batchSize && shape(rows[end]!) === shape(first)) end++;
      await this.ensureTable(first);
      await this.statement(rows.slice(start, end));
      start = end;
    }
  }

  private async statement(run: Row[]): Promise<void> {
    const first = run[0]!;
    const table = qualified(this.s.schema, first.table);
    const cols = first.columns.map((c) => ident(c.name));
    if (first.op === 'delete') {
      const params: unknown[] = [];
      const tuples = run.map((r) => `(${r.values.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
      await this.client.query(`DELETE FROM ${table} WHERE (${cols.join(', ')}) IN (${tuples.join(', ')})`, params);
      return;
    }
    if (this.s.insertMode === 'update') {
      for (const r of run) {
        const params: unknown[] = [];
        const set = r.columns.filter((c) => !r.key.includes(c.name)).map((c) => `${ident(c.name)} = $${params.push(r.values[r.columns.indexOf(c)])}`);
        const where = r.key.map((k) => `${ident(k)} = $${params.push(r.values[r.columns.findIndex((c) => c.name === k)])}`);
        if (set.length > 0) await this.client.query(`UPDATE ${table} SET ${set.join(', ')} WHERE ${where.join(' AND ')}`, params);
      }
      return;
    }
    let rows = run;
    if (this.s.insertMode === 'upsert') {
      // One statement may not touch a row twice: keep each key's last version (same final state).
      const keyIdx = first.key.map((k) => first.columns.findIndex((c) => c.name === k));
      const last = new Map<string, Row>();
      for (const r of run) last.set(JSON.stringify(keyIdx.map((i) => String(r.values[i]))), r);
      rows = run.length === last.size ? run : [...last.values()];
    }
    const params: unknown[] = [];
    const tuples = rows.map((r) => `(${r.values.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
    let sql = `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`;
    if (this.s.insertMode === 'upsert') {
      const nonKey = first.columns.filter((c) => !first.key.includes(c.name)).map((c) => `${ident(c.name)} = EXCLUDED.${ident(c.name)}`);
      sql += ` ON CONFLICT (${first.key.map(ident).join(', ')}) DO ${nonKey.length > 0 ? `UPDATE SET ${nonKey.join(', ')}` : 'NOTHING'}`;
    }
    await this.client.query(sql, params);
  }

  private async ensureTable(row: Row): Promise<void> {
    let known = this.tables.get(row.table);
    if (!known) {
      known = await this.columnsOf(row.table);
      if (known.size === 0 && this.s.autoCreate) {
        // Partitions of one topic share a table: serialise its creation (the lock lasts until
        // this flush's transaction ends), then look again — another writer may have made it.
        await this.lockTable(row.table);
        known = await this.columnsOf(row.table);
      }
      if (known.size === 0) {
        if (!this.s.autoCreate) throw new FailedPreconditionError(`postgres-sink: table ${this.s.schema}.${row.table} does not exist; create it or set auto.create=true`);
        if (row.op === 'delete') return; // nothing to delete from a table that does not exist
        await this.createTable(row.table, row.columns, row.key);
        known = new Set(row.columns.map((c) => c.name));
      }
      this.tables.set(row.table, known);
    }
    const missing = row.columns.filter((c) => !known.has(c.name));
    if (missing.length === 0) return;
    if (!this.s.autoEvolve) {
      throw new FailedPreconditionError(`postgres-sink: table ${this.s.schema}.${row.table} has no column(s) ${missing.map((c) => c.name).join(', ')}; add them or set auto.evolve=true`);
    }
    await this.lockTable(row.table);
    const now = await this.columnsOf(row.table);
    for (const c of missing) {
      if (now.has(c.name)) {
        known.add(c.name);
        continue;
      }
      await this.client.query(`ALTER TABLE ${qualified(this.s.schema, row.table)} ADD COLUMN IF NOT EXISTS ${ident(c.name)} ${sqlType(c.schema)}`);
      known.add(c.name);
    }
  }

  private async lockTable(table: string): Promise<void> {
    await this.client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary-sink:${this.s.schema}.${table}`]);
  }

  private async columnsOf(table: string): Promise<Set<string>> {
    const r = await this.client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
      [this.s.schema, table],
    );
    return new Set(r.rows.map((x) => x.attname));
  }

  private async createTable(table: string, columns: Column[], key: string[]): Promise<void> {
    const defs = columns.map((c) => `${ident(c.name)} ${sqlType(c.schema)}${c.schema.optional && !key.includes(c.name) ? '' : ' NOT NULL'}`);
    if (key.length > 0) defs.push(`PRIMARY KEY (${key.map(ident).join(', ')})`);
    await this.client.query(`CREATE TABLE IF NOT EXISTS ${qualified(this.s.schema, table)} (${defs.join(', ')})`);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

export const postgresSinkDefinition: SinkPluginDefinition = {
  name: POSTGRES_SINK,
  version: '1.0.0',
  summary: 'Writes records into PostgreSQL tables (insert, upsert, update, delete) exactly once, with the Kafka offsets in the same transaction',
  configKeys,
  validate,
  async open(connector, partition) {
    if (partition.topic === undefined || partition.kafkaPartition === undefined) {
      throw new InvalidArgumentError(`postgres-sink: stream partition "${partition.id}" names no Kafka topic-partition`);
    }
    const client = new pg.Client(clientConfig(settingsOf(connector.config).url));
    client.on('error', () => {}); // surfaces through the query in progress
    await client.connect();
    const writer = new PostgresWriter(client, settingsOf(connector.config), connector.name, partition.topic, partition.kafkaPartition);
    try {
      await writer.open();
    } catch (err) {
      await writer.close();
      if ((err as { code?: string }).code === UNDEFINED_TABLE) throw new FailedPreconditionError(`postgres-sink: ${(err as Error).message}`);
      throw err;
    }
    return writer;
  },
};

export const postgresSinkPlugin: ConnectorPluginImplementation = sinkPlugin(postgresSinkDefinition);
