/**
 * postgres-cdc: change data capture from PostgreSQL's logical replication (pgoutput), emitting
 * Debezium's change events (envelope, schemas and topic names as Debezium's PostgreSQL
 * connector), so Debezium consumers read them unchanged.
 *
 * One stream partition, `stream`, owns the connector's slot: it takes the initial snapshot
 * (consistent with an exported snapshot, snapshot.ts) and then streams the slot. Offsets are
 * LSNs; the invariant this module keeps: **the slot's confirmed_flush_lsn moves only to the end
 * of a transaction every record of which the worker has acknowledged (stored in Kafka)**, or,
 * when idle with every record acknowledged, to the server's position (heartbeat), so WAL is
 * neither released early nor held forever.
 *
 * Offsets (JSON in the offset bytes):
 * - snapshot records: `{"snap":"<consistent LSN>"}`, the last one `{"snap":…,"done":true}`;
 *   resuming an unfinished snapshot takes a new one (it cannot be resumed consistently);
 * - change records: `{"l":"<commit end LSN>","i":<index in txn>,"c":"<LSN safe to confirm once
 *   this record is acked>","s":"<snapshot LSN>"}`; resuming skips (l, i) up to the offset.
 */
import type { Logger } from 'pino';
import pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError, type ConfigProblem } from '../../errors.js';
import { ConfigType } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  configBoolean,
  configInt,
  parseList,
  sourcePlugin,
  staticPartitions,
  type ConfigKeyInit,
  type ConnectorInfo,
  type ConnectorPluginImplementation,
  type RecordInit,
  type SourcePluginDefinition,
  type SourceReader,
} from '../../plugins/index.js';
import { clientConfig, describeTable, formatLsn, ident, nameFilter, parseLsn, regexListProblem, type ColumnInfo } from '../pg-common/index.js';
import { TableEvents, type Op, type SnapshotFlag } from './envelope.js';
import { ReplicationStream } from './replication.js';
import { TableSnapshot, type SnapshotRow } from './snapshot.js';

export const POSTGRES_CDC = 'postgres-cdc';
export const STREAM_PARTITION = 'stream';

const configKeys: ConfigKeyInit[] = [
  {
    name: 'database.url',
    type: ConfigType.STRING,
    required: true,
    secret: true,
    documentation: 'postgres://user:password@host:port/database of the captured database. The user needs REPLICATION and (for publication.autocreate.mode=all_tables) superuser or ownership rights.',
    group: 'Connection',
  },
  { name: 'topic.prefix', type: ConfigType.STRING, required: true, documentation: 'Topic prefix: changes of schema.table go to <prefix>.<schema>.<table>, as with Debezium.', group: 'Topics' },
  { name: 'slot.name', type: ConfigType.STRING, defaultValue: '', documentation: 'The logical replication slot. Empty: tributary_<connector name>.', group: 'Replication' },
  { name: 'publication.name', type: ConfigType.STRING, defaultValue: '', documentation: 'The publication. Empty: tributary_<connector name>.', group: 'Replication' },
  {
    name: 'publication.autocreate.mode',
    type: ConfigType.STRING,
    defaultValue: 'all_tables',
    allowedValues: ['all_tables', 'disabled'],
    documentation: 'all_tables: create the publication FOR ALL TABLES (tables are then filtered by the include/exclude lists, so new tables are seen); disabled: it must exist.',
    group: 'Replication',
  },
  { name: 'table.include.list', type: ConfigType.LIST, defaultValue: '', documentation: 'Regexes matched against schema.table; empty: every table.', group: 'Tables' },
  { name: 'table.exclude.list', type: ConfigType.LIST, defaultValue: '', documentation: 'Regexes matched against schema.table, applied after the include list.', group: 'Tables' },
  { name: 'snapshot.mode', type: ConfigType.STRING, defaultValue: 'initial', allowedValues: ['initial', 'never'], documentation: 'initial: snapshot the captured tables first, then stream; never: stream only.', group: 'Snapshot' },
  { name: 'snapshot.fetch.size', type: ConfigType.INT, defaultValue: '10240', documentation: 'Rows fetched per round trip during the snapshot.', group: 'Snapshot' },
  { name: 'tombstones.on.delete', type: ConfigType.BOOLEAN, defaultValue: 'true', documentation: 'Follow each delete event with a tombstone (same key, null value) for log compaction.', group: 'Records' },
  {
    name: 'heartbeat.interval.ms',
    type: ConfigType.DURATION_MS,
    defaultValue: '10000',
    documentation: 'When every record is acknowledged and no change is pending, confirm the server\'s WAL position this often, so an idle (or uncaptured-only) database does not hold WAL; 0 disables.',
    group: 'Replication',
  },
];

interface CdcSettings {
  url: string;
  prefix: string;
  slot: string;
  publication: string;
  autocreate: boolean;
  include: (name: string) => boolean;
  snapshot: boolean;
  fetchSize: number;
  tombstones: boolean;
  heartbeatMs: number;
}

function defaultName(connector: string): string {
  return `tributary_${connector.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export function cdcSettings(connector: ConnectorInfo): CdcSettings {
  const c = connector.config;
  return {
    url: c['database.url'] ?? '',
    prefix: c['topic.prefix'] ?? '',
    slot: c['slot.name'] || defaultName(connector.name),
    publication: c['publication.name'] || defaultName(connector.name),
    autocreate: (c['publication.autocreate.mode'] ?? 'all_tables') === 'all_tables',
    include: nameFilter(parseList(c['table.include.list'] ?? ''), parseList(c['table.exclude.list'] ?? '')),
    snapshot: (c['snapshot.mode'] ?? 'initial') === 'initial',
    fetchSize: configInt(c, 'snapshot.fetch.size', 10240),
    tombstones: configBoolean(c, 'tombstones.on.delete', true),
    heartbeatMs: configInt(c, 'heartbeat.interval.ms', 10_000),
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(clientConfig(url));
  client.on('error', () => {}); // surfaces through the query in progress
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const DUPLICATE_OBJECT = '42710';

/** Creates the publication (unless autocreate is disabled) and the slot, if missing. Idempotent. */
export async function ensureSlot(s: CdcSettings): Promise<void> {
  await withClient(s.url, async (client) => {
    const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [s.publication]);
    if (pub.rowCount === 0) {
      if (!s.autocreate) throw new FailedPreconditionError(`publication "${s.publication}" does not exist and publication.autocreate.mode=disabled; create it (CREATE PUBLICATION … FOR TABLE …)`);
      try {
        await client.query(`CREATE PUBLICATION ${ident(s.publication)} FOR ALL TABLES`);
      } catch (err) {
        if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
      }
    }
    const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [s.slot]);
    if (slot.rowCount === 0) {
      try {
        await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [s.slot]);
      } catch (err) {
        if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
      }
    }
  });
}

/** Drops the slot (ending a stream still attached to it) and an auto-created publication. Idempotent. */
export async function dropSlot(s: CdcSettings): Promise<void> {
  await withClient(s.url, async (client) => {
    for (let attempt = 0; ; attempt++) {
      const slot = await client.query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [s.slot]);
      if (slot.rowCount === 0) break;
      const pid = slot.rows[0]!.active_pid;
      if (pid !== null) await client.query('SELECT pg_terminate_backend($1)', [pid]);
      try {
        await client.query('SELECT pg_drop_replication_slot($1)', [s.slot]);
        break;
      } catch (err) {
        // 55006 object_in_use: the terminated walsender has not exited yet.
        if ((err as { code?: string }).code !== '55006' || attempt >= 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    if (s.autocreate) await client.query(`DROP PUBLICATION IF EXISTS ${ident(s.publication)}`);
  });
}

type Offset = { snap: string; done?: boolean } | { l: string; i: number; c: string; s?: string };

function parseOffset(bytes: Uint8Array | undefined): Offset | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  const text = Buffer.from(bytes).toString('utf8');
  try {
    const o = JSON.parse(text) as Offset;
    if ('snap' in o && typeof o.snap === 'string') return o;
    if ('l' in o && typeof o.l === 'string' && typeof o.i === 'number' && typeof o.c === 'string') return o;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`malformed postgres-cdc offset ${JSON.stringify(text)}`, [{ key: 'offset', message: 'expected {"snap":…} or {"l":…,"i":…,"c":…}' }]);
}

const encode = (o: Offset) => Buffer.from(JSON.stringify(o));

interface PendingTxn {
  commitLsn: bigint;
  xid: number;
  commitUs: bigint;
  skip: boolean;
  /** Records of this transaction, offsets assigned at commit. */
  records: RecordInit[];
}

/** Reads the `stream` partition: snapshot (if needed) then the slot's changes. */
class CdcReader implements SourceReader {
  private snapshot: TableSnapshot | undefined;
  private held: RecordInit | undefined;
  private snapshotCount = 0;
  private stream: ReplicationStream | undefined;
  private meta: pg.Client | undefined;
  private readonly tables = new Map<number, TableEvents | null>();
  private readonly ready: RecordInit[] = [];
  private txn: PendingTxn | undefined;
  /** Transactions committed before this LSN are in the snapshot. */
  private snapshotLsn = 0n;
  private resume: { l: bigint; i: number } | undefined;
  /** End of the last transaction fully processed (its records all queued). */
  private lastTxnEnd = 0n;
  private sent = 0n;
  private acked = 0n;
  private heartbeat: NodeJS.Timeout | undefined;
  private database = '';
  private failure: Error | undefined;

  constructor(
    private readonly s: CdcSettings,
    private readonly log: Logger | undefined,
  ) {}

  async open(offset: Offset | undefined): Promise<void> {
    await ensureSlot(this.s);
    this.meta = new pg.Client(clientConfig(this.s.url));
    this.meta.on('error', (err) => (this.failure ??= err));
    await this.meta.connect();
    this.database = (await this.meta.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    if (offset && 'l' in offset) {
      this.resume = { l: BigInt(offset.l), i: offset.i };
      this.snapshotLsn = offset.s === undefined ? 0n : BigInt(offset.s);
      this.lastTxnEnd = BigInt(offset.c);
      await this.startStream();
    } else if (offset && 'snap' in offset && offset.done) {
      this.snapshotLsn = BigInt(offset.snap);
      await this.startStream();
    } else if (this.s.snapshot) {
      this.snapshot = await TableSnapshot.begin(this.s.url, this.s.include, this.s.fetchSize);
      this.snapshotLsn = this.snapshot.lsn;
      this.log?.info({ tables: this.snapshot.tables.length, lsn: formatLsn(this.snapshot.lsn) }, 'postgres-cdc: snapshot started');
    } else {
      await this.startStream();
    }
  }

  private async startStream(): Promise<void> {
    const slot = await this.meta!.query<{ confirmed_flush_lsn: string | null }>('SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [this.s.slot]);
    const confirmed = slot.rows[0]?.confirmed_flush_lsn;
    this.stream = await ReplicationStream.start(this.s.url, this.s.slot, this.s.publication, confirmed ? parseLsn(confirmed) : 0n);
    if (this.s.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.idleConfirm(), this.s.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Heartbeat: nothing unacknowledged, nothing pending: the server's position is safe to confirm. */
  private idleConfirm(): void {
    const st = this.stream;
    if (!st) return;
    if (this.acked === this.sent && this.ready.length === 0 && this.txn === undefined && st.drained && st.serverLsn > 0n) {
      st.confirm(st.serverLsn);
    } else {
      st.sendStatus();
    }
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    if (this.failure) throw new UnavailableError(`postgres-cdc: the connection to PostgreSQL failed: ${this.failure.message}`, { cause: this.failure });
    if (this.snapshot) {
      const out = await this.pollSnapshot(max);
      if (out) return this.count(out);
      // Snapshot finished (the last record, marked done, was returned already).
      await this.snapshot.close();
      this.log?.info({ rows: this.snapshotCount }, 'postgres-cdc: snapshot finished; streaming');
      this.snapshot = undefined;
      await this.startStream();
    }
    while (this.ready.length === 0) {
      const m = await this.stream!.next(signal);
      if (!m) return [];
      await this.handle(m.lsn, m.message);
    }
    return this.count(this.ready.splice(0, max));
  }

  private count(records: RecordInit[]): RecordInit[] {
    this.sent += BigInt(records.length);
    return records;
  }

  /**
   * Snapshot rows, holding back one record so the very last can carry `done`; `undefined` once
   * the snapshot is finished and its last record was returned. Never an empty batch while rows
   * remain: with one credit, the first row read is only held back, so it reads on.
   */
  private async pollSnapshot(max: number): Promise<RecordInit[] | undefined> {
    for (;;) {
      const out = await this.readSnapshotRows(max);
      if (out === undefined || out.length > 0) return out;
    }
  }

  private async readSnapshotRows(max: number): Promise<RecordInit[] | undefined> {
    const snap = this.snapshot!;
    const rows: SnapshotRow[] = await snap.next(max);
    const out: RecordInit[] = [];
    if (rows.length === 0) {
      if (!this.held) return undefined;
      this.held.offset = encode({ snap: snap.lsn.toString(), done: true });
      this.setSnapshotFlag(this.held, this.snapshotCount === 1 ? 'first' : 'last');
      out.push(this.held);
      this.held = undefined;
      return out;
    }
    for (const row of rows) {
      const events = this.eventsFor(row.table.oid, row.table.schema, row.table.table, row.table.columns, row.table.primaryKey);
      if (this.held) out.push(this.held);
      const flag: SnapshotFlag = this.snapshotCount === 0 ? 'first' : 'true';
      this.snapshotCount++;
      const source = { tsUs: snap.startedUs, snapshot: flag, txId: undefined, lsn: snap.lsn, sequence: `[null,"${snap.lsn}"]` };
      this.held = {
        topic: events.topic,
        keySchema: events.keySchema,
        structuredKey: events.key(row.values),
        valueSchema: events.envelopeSchema,
        structuredValue: events.envelope('r', undefined, events.row(row.values), source),
        offset: encode({ snap: snap.lsn.toString() }),
      };
    }
    return out.slice(0, max);
  }

  private setSnapshotFlag(record: RecordInit, flag: SnapshotFlag): void {
    // source is the envelope's third field; snapshot its fifth.
    const value = record.structuredValue as { kind: { case: 'struct'; value: { fields: Array<{ kind: { case: 'struct'; value: { fields: unknown[] } } }> } } };
    value.kind.value.fields[2]!.kind.value.fields[4] = { kind: { case: 'string', value: flag } };
  }

  private eventsFor(oid: number, schema: string, table: string, columns: ColumnInfo[], pk: string[]): TableEvents {
    let events = this.tables.get(oid);
    if (!events) {
      events = new TableEvents(this.s.prefix, this.database, schema, table, columns, pk);
      this.tables.set(oid, events);
    }
    return events;
  }

  private async handle(lsn: bigint, m: Pgoutput.Message): Promise<void> {
    switch (m.tag) {
      case 'relation': {
        // A relation message precedes the first change of a table after (re)connecting and after
        // every schema change: (re)build its schemas from it, with nullability and key from the catalog.
        if (!this.s.include(`${m.schema}.${m.name}`)) {
          this.tables.set(m.relationOid, null);
          break;
        }
        const live = await describeTable(this.meta!, { oid: m.relationOid });
        const names = new Map(live?.columns.map((c) => [c.name, c]));
        const missing = m.columns.filter((c) => !names.has(c.name)).map((c) => c.typeOid);
        const typeNames = new Map<number, string>();
        if (missing.length > 0) {
          const t = await this.meta!.query<{ oid: number; typname: string }>('SELECT oid::int AS oid, typname FROM pg_type WHERE oid = ANY($1)', [missing]);
          for (const r of t.rows) typeNames.set(r.oid, r.typname);
        }
        const columns: ColumnInfo[] = m.columns.map((c) => ({
          name: c.name,
          typeOid: c.typeOid,
          typeMod: c.typeMod,
          typeName: names.get(c.name)?.typeName ?? typeNames.get(c.typeOid) ?? 'text',
          notNull: names.get(c.name)?.notNull ?? false,
        }));
        const pk = live && live.primaryKey.length > 0 ? live.primaryKey : m.keyColumns;
        this.tables.set(m.relationOid, new TableEvents(this.s.prefix, this.database, m.schema, m.name, columns, pk));
        break;
      }
      case 'begin': {
        const commitLsn = m.commitLsn === null ? 0n : parseLsn(m.commitLsn);
        this.txn = { commitLsn, xid: m.xid, commitUs: BigInt(m.commitTime as bigint), skip: commitLsn < this.snapshotLsn, records: [] };
        break;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const txn = this.txn;
        if (!txn || txn.skip) break;
        const events = this.tables.get(m.relation.relationOid);
        if (!events) break;
        const columns = events.columns;
        // In a new tuple, an absent value is an unchanged TOAST value; in a key-only old tuple, a
        // column outside the key (which Debezium reports as null, or its fallback when required).
        const tuple = (t: Record<string, unknown> | null) => (t === null ? undefined : columns.map((c) => t[c.name] as string | null | undefined));
        const keyTuple = (t: Record<string, unknown> | null) => (t === null ? undefined : columns.map((c) => (t[c.name] ?? null) as string | null));
        const source = { tsUs: txn.commitUs, snapshot: 'false' as const, txId: txn.xid, lsn, sequence: `["${this.lastTxnEnd}","${lsn}"]` };
        let op: Op;
        let before: Array<string | null | undefined> | undefined;
        let after: Array<string | null | undefined> | undefined;
        if (m.tag === 'insert') {
          op = 'c';
          after = tuple(m.new);
        } else if (m.tag === 'update') {
          op = 'u';
          before = tuple(m.old) ?? keyTuple(m.key);
          after = tuple(m.new);
        } else {
          op = 'd';
          before = tuple(m.old) ?? keyTuple(m.key);
        }
        const keyValues = after ?? before ?? [];
        const key = events.key(keyValues);
        txn.records.push({
          topic: events.topic,
          keySchema: events.keySchema,
          structuredKey: key,
          valueSchema: events.envelopeSchema,
          structuredValue: events.envelope(op, before && events.row(before), after && events.row(after), source),
        });
        if (op === 'd' && this.s.tombstones) txn.records.push({ topic: events.topic, keySchema: events.keySchema, structuredKey: key });
        break;
      }
      case 'commit': {
        const txn = this.txn;
        this.txn = undefined;
        if (!txn) break;
        const end = m.commitEndLsn === null ? txn.commitLsn : parseLsn(m.commitEndLsn);
        if (!txn.skip) {
          const n = txn.records.length;
          const prior = this.lastTxnEnd.toString();
          const l = end.toString();
          const s = this.snapshotLsn.toString();
          for (let i = 0; i < n; i++) {
            if (this.resume && (end < this.resume.l || (end === this.resume.l && i <= this.resume.i))) continue;
            const r = txn.records[i]!;
            r.offset = encode({ l, i, c: i === n - 1 ? l : prior, s });
            this.ready.push(r);
          }
        }
        this.lastTxnEnd = end;
        break;
      }
      default:
        // origin, type, truncate (skipped, as Debezium's default skipped.operations=t), message.
        break;
    }
  }

  ack(offset: Uint8Array, records: bigint): void {
    this.acked = records;
    const o = parseOffset(offset);
    if (o && 'c' in o && this.stream) this.stream.confirm(BigInt(o.c));
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.snapshot?.close();
    await this.stream?.close();
    await this.meta?.end().catch(() => {});
  }
}

function validate(config: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const url = config['database.url'] ?? '';
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') problems.push({ key: 'database.url', message: 'must be a postgres:// or postgresql:// URL' });
  } catch {
    problems.push({ key: 'database.url', message: 'must be a postgres:// or postgresql:// URL' });
  }
  if (!/^[a-zA-Z0-9_.-]+$/.test(config['topic.prefix'] ?? '')) problems.push({ key: 'topic.prefix', message: 'may hold only letters, digits, ".", "_" and "-"' });
  for (const key of ['slot.name', 'publication.name']) {
    const v = config[key] ?? '';
    if (v !== '' && !/^[a-z0-9_]{1,63}$/.test(v)) problems.push({ key, message: 'must be 1–63 characters of a-z, 0-9 and _' });
  }
  for (const key of ['table.include.list', 'table.exclude.list']) {
    const problem = regexListProblem(parseList(config[key] ?? ''));
    if (problem) problems.push({ key, message: problem });
  }
  if (configInt(config, 'snapshot.fetch.size') < 1) problems.push({ key: 'snapshot.fetch.size', message: 'must be at least 1' });
  return problems;
}

export function createPostgresCdcPlugin(options: { logger?: Logger } = {}): ConnectorPluginImplementation {
  const definition: SourcePluginDefinition = {
    name: POSTGRES_CDC,
    version: '1.0.0',
    summary: 'Change data capture from PostgreSQL (pgoutput logical replication) as Debezium change events',
    configKeys,
    validate,
    onCreated: (connector) => ensureSlot(cdcSettings(connector)),
    onDeleted: (connector) => dropSlot(cdcSettings(connector)),
    watchPartitions: (_connector, signal) => staticPartitions([{ id: STREAM_PARTITION, attributes: { role: 'snapshot, then the replication slot' } }], signal),
    async open(connector, partition, offset) {
      if (partition.id !== STREAM_PARTITION) throw new InvalidArgumentError(`postgres-cdc has one stream partition, "${STREAM_PARTITION}"; got "${partition.id}"`);
      const reader = new CdcReader(cdcSettings(connector), options.logger?.child({ connector: connector.name }));
      try {
        await reader.open(parseOffset(offset));
      } catch (err) {
        await reader.close();
        throw err;
      }
      return reader;
    },
  };
  return sourcePlugin(definition);
}

export const postgresCdcPlugin: ConnectorPluginImplementation = createPostgresCdcPlugin();
