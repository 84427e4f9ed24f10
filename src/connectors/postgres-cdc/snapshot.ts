/**
 * The initial snapshot, consistent with a known LSN: a TEMPORARY logical slot is created with
 * an exported snapshot (CREATE_REPLICATION_SLOT … (SNAPSHOT 'export')) on a replication
 * connection, a second connection imports that snapshot into a REPEATABLE READ, READ ONLY
 * transaction, and the replication connection (and with it the temporary slot) is closed.
 * Every transaction whose commit record lies before the slot's consistent point is in the
 * snapshot, every later one is not — so the stream from the connector's own slot, skipping
 * transactions that committed before that point, continues exactly where the snapshot ends.
 *
 * Tables are read in (schema, table) order through a cursor, rows as PostgreSQL's text form.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { clientConfig, describeTable, ident, parseLsn, qualified, RAW_TEXT, type TableInfo } from '../pg-common/index.js';

export interface SnapshotRow {
  table: TableInfo;
  values: Array<string | null>;
}

export class TableSnapshot {
  /** The consistent point: changes committed before it are in the snapshot. */
  readonly lsn: bigint;
  readonly startedUs: bigint;
  private tableIndex = 0;
  private cursorOpen = false;
  private finished = false;

  private constructor(
    private readonly client: pg.Client,
    readonly tables: TableInfo[],
    lsn: bigint,
    private readonly fetchSize: number,
  ) {
    this.lsn = lsn;
    this.startedUs = BigInt(Date.now()) * 1000n;
  }

  /** Takes the snapshot of every table `include(schema.table)` accepts. */
  static async begin(url: string, include: (name: string) => boolean, fetchSize: number): Promise<TableSnapshot> {
    const repl = new pg.Client(clientConfig(url, { replication: 'database' } as pg.ClientConfig));
    const client = new pg.Client(clientConfig(url));
    // Errors surface through the queries; without listeners a dropped connection would crash the process.
    repl.on('error', () => {});
    client.on('error', () => {});
    await repl.connect();
    try {
      await client.connect();
      const slot = `tributary_snap_${randomBytes(6).toString('hex')}`;
      const created = await repl.query<{ consistent_point: string; snapshot_name: string }>(`CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')`);
      const { consistent_point, snapshot_name } = created.rows[0]!;
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshot_name}'`);
      const rels = await client.query<{ oid: number; nspname: string; relname: string }>(
        `SELECT c.oid::int AS oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          ORDER BY n.nspname, c.relname`,
      );
      const tables: TableInfo[] = [];
      for (const r of rels.rows) {
        if (!include(`${r.nspname}.${r.relname}`)) continue;
        const info = await describeTable(client, { oid: r.oid });
        if (info) tables.push(info);
      }
      return new TableSnapshot(client, tables, parseLsn(consistent_point), fetchSize);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    } finally {
      // Closing the replication connection drops the temporary slot; the imported snapshot stays.
      await repl.end().catch(() => {});
    }
  }

  /** The next rows (at most `max`), in table order; [] once every table is read. */
  async next(max: number): Promise<SnapshotRow[]> {
    while (!this.finished) {
      const table = this.tables[this.tableIndex];
      if (!table) {
        this.finished = true;
        await this.client.query('COMMIT');
        break;
      }
      if (!this.cursorOpen) {
        const columns = table.columns.map((c) => ident(c.name)).join(', ');
        await this.client.query(`DECLARE snap NO SCROLL CURSOR FOR SELECT ${columns || '*'} FROM ${qualified(table.schema, table.table)}`);
        this.cursorOpen = true;
      }
      const result = await this.client.query({ text: `FETCH ${Math.max(1, Math.min(max, this.fetchSize))} FROM snap`, rowMode: 'array', types: RAW_TEXT });
      if (result.rows.length > 0) return result.rows.map((values: Array<string | null>) => ({ table, values }));
      await this.client.query('CLOSE snap');
      this.cursorOpen = false;
      this.tableIndex++;
    }
    return [];
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
