/**
 * The Python and Go SDK examples as child-process plugins in a three-worker cluster, registered
 * the way an operator registers them (`*.plugin.json` on the workers' plugin path): the Python
 * SQLite source reads tables while a writer keeps inserting rows (and creates a new table
 * midway, a stream partition discovered at run time), the Go SQLite sink writes the topic into
 * another database. One worker that runs partitions of both is killed with SIGKILL mid-stream.
 *
 * Counted by sequence number (every row is `{"partition":<table>,"seq":<n>}`): in Kafka no seq
 * is missing for any table (duplicates only from the hard kill); in the sink's database every
 * Kafka record is there exactly once (it upserts by Kafka offset and resumes after what it
 * holds), so it holds every seq of every table too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster, type AdminClient } from '../support/cluster.js';
import { countSeqs, readTopic } from '../support/data-plane.js';
import { eventually } from '../support/eventually.js';
import { sdkBuild, sqliteRows, sqliteSourceFixture } from '../support/sdks.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ROWS = 3_000;
const FIRST_TABLES = ['t0', 't1', 't2'];
const LATE_TABLE = 't3';

async function owners(admin: AdminClient, name: string) {
  const { status } = await admin.getConnectorStatus({ name }, { timeoutMs: 5_000 });
  return status!.partitions.map((p) => ({ partition: p.partition, worker: p.workerId, state: p.state }));
}

/** Inserts `ROWS` rows into each first table at about 300 rows/s each, creating the late table halfway. */
function startWriter(python: string, db: string) {
  const code = [
    'import sqlite3,sys,time',
    'c=sqlite3.connect(sys.argv[1], timeout=30)',
    'rows,first,late=int(sys.argv[2]),sys.argv[3].split(","),sys.argv[4]',
    'have={t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in first}',
    'while min(have.values()) < rows:',
    '  for t in first:',
    '    n=min(rows, have[t]+30)',
    '    c.executemany(f"INSERT INTO {t} (partition, seq) VALUES (?, ?)", [(t, i) for i in range(have[t], n)])',
    '    have[t]=n',
    '  if min(have.values()) >= rows//2:',
    '    c.execute(f"CREATE TABLE IF NOT EXISTS {late} (partition TEXT NOT NULL, seq INTEGER NOT NULL)")',
    '    if c.execute(f"SELECT COUNT(*) FROM {late}").fetchone()[0] == 0:',
    '      c.executemany(f"INSERT INTO {late} (partition, seq) VALUES (?, ?)", [(late, i) for i in range(rows)])',
    '  c.commit()',
    '  time.sleep(0.1)',
  ].join('\n');
  const child = spawn(python, ['-c', code, db, String(ROWS), FIRST_TABLES.join(','), LATE_TABLE], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise<number | null>((resolve) => child.once('exit', resolve));
}

describe('SDK example plugins in a three-worker cluster', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sdk-cluster-'));
  const pluginDir = join(dir, 'plugins');
  const sourceDb = join(dir, 'source.db');
  const sinkDb = join(dir, 'sink.db');
  let cluster: EmbeddedCluster;
  let python = '';

  before(async () => {
    const build = sdkBuild();
    python = build.python;
    sqliteSourceFixture(python, sourceDb, Object.fromEntries(FIRST_TABLES.map((t) => [t, 200])));
    // Registered as an operator would: one *.plugin.json per plugin on the workers' plugin path.
    mkdirSync(pluginDir);
    writeFileSync(join(pluginDir, 'sqlite-source.plugin.json'), JSON.stringify({ name: 'sqlite-source', command: python, args: [join(root, 'examples/python-sqlite-source/sqlite_source.py')] }));
    writeFileSync(join(pluginDir, 'sqlite-sink.plugin.json'), JSON.stringify({ name: 'sqlite-sink', command: build.goSqliteSink }));
    cluster = new EmbeddedCluster({ workers: 3, sessionTimeoutMs: 3_000, env: { TRIBUTARY_PLUGIN_PATH: pluginDir } });
    await cluster.start();
  });
  after(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a Python source and a Go sink survive kill -9 of a worker: every seq of every table in Kafka and in the sink database', async () => {
    const admin = cluster.admin();
    const { plugins } = await admin.listPlugins({});
    const listed = new Map(plugins.map((p) => [p.name, p]));
    assert.match(listed.get('sqlite-source')?.summary ?? '', /SQLite/, 'the Python plugin is listed');
    assert.match(listed.get('sqlite-sink')?.summary ?? '', /SQLite/, 'the Go plugin is listed');

    const topic = `${cluster.name}-sqlite`;
    await admin.createConnector({
      name: 'py-source',
      config: { 'connector.class': 'sqlite-source', topic, database: sourceDb, 'poll.interval.ms': '200', 'topic.creation.default.partitions': '4' },
    });
    await admin.createConnector({ name: 'go-sink', config: { 'connector.class': 'sqlite-sink', topics: topic, database: sinkDb } });
    const writer = startWriter(python, sourceDb);

    // Both connectors running, with partitions of each spread over the workers.
    const running = await eventually(async () => {
      const src = await owners(admin, 'py-source');
      const snk = await owners(admin, 'go-sink');
      if (src.length < 3 || snk.length < 4 || [...src, ...snk].some((o) => o.state !== PartitionState.RUNNING)) throw new Error(`not running: ${JSON.stringify([...src, ...snk])}`);
      return { src, snk };
    }, { timeoutMs: 60_000, intervalMs: 200, message: 'both connectors running' });
    await eventually(async () => sqliteRows(python, sinkDb, 'SELECT COUNT(*) FROM records')[0]![0] as number > 300, { timeoutMs: 60_000, message: 'the sink writing' }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.logs(30)}`);
    });

    const leader = await cluster.leader();
    const busy = (w: string) => running.src.some((o) => o.worker === w) && running.snk.some((o) => o.worker === w);
    const victim = cluster.live().find((w) => w !== leader && busy(w.id)) ?? cluster.live().find((w) => w !== leader)!;
    const { offsets: atKill } = await admin.getOffsets({ name: 'py-source' }, { timeoutMs: 5_000 });
    assert.ok(FIRST_TABLES.some((t) => Number(atKill.find((o) => o.partition === t)?.text ?? 0) < ROWS), 'the kill comes while rows are still moving');
    await cluster.kill(victim, 'SIGKILL');
    console.log(`# killed ${victim.id} (SIGKILL) with ${running.src.filter((o) => o.worker === victim.id).length} source and ${running.snk.filter((o) => o.worker === victim.id).length} sink partitions`);

    assert.equal(await writer, 0, 'the row writer finished');
    const tables = [...FIRST_TABLES, LATE_TABLE];
    // The source committed every row of every table (its offset is the row's rowid).
    const survivor = cluster.admin(leader);
    await eventually(async () => {
      const { offsets } = await survivor.getOffsets({ name: 'py-source' }, { timeoutMs: 5_000 });
      const byTable = new Map(offsets.map((o) => [o.partition, o.text]));
      return tables.every((t) => byTable.get(t) === String(ROWS));
    }, { timeoutMs: 90_000, intervalMs: 250, message: `py-source committed all ${ROWS} rows of ${tables.join(', ')}` }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.logs(30)}`);
    });

    const kafka = countSeqs([...(await readTopic(cluster.kafkaBootstrap.split(','), topic, ROWS * tables.length)).values()].flat());
    let duplicates = 0;
    for (const t of tables) {
      const c = kafka.get(t);
      assert.ok(c, `table ${t} reached Kafka`);
      assert.equal(c.max, ROWS - 1, `table ${t}: max seq in Kafka`);
      assert.deepEqual(c.missing, [], `table ${t}: no seq missing in Kafka`);
      duplicates += c.duplicates;
    }
    const kafkaRecords = [...kafka.values()].reduce((n, c) => n + c.seen.length, 0);

    // The sink holds every Kafka record exactly once, so every seq of every table.
    const sinkRows = await eventually(() => {
      const rows = sqliteRows(python, sinkDb, 'SELECT CAST(value AS TEXT) FROM records');
      if (rows.length < kafkaRecords) throw new Error(`${rows.length} rows so far`);
      return rows;
    }, { timeoutMs: 90_000, intervalMs: 500, message: `the sink database holding all ${kafkaRecords} Kafka records` });
    assert.equal(sinkRows.length, kafkaRecords, 'one row per Kafka record: none twice');
    const sink = countSeqs(sinkRows.map((r) => ({ value: Buffer.from(r[0] as string) })));
    for (const t of tables) {
      assert.equal(sink.get(t)?.max, ROWS - 1, `table ${t}: max seq in the sink`);
      assert.deepEqual(sink.get(t)?.missing, [], `table ${t}: no seq missing in the sink`);
    }
    console.log(`# sdk plugins: ${tables.length} tables × ${ROWS} rows; Kafka ${kafkaRecords} records (${duplicates} duplicates, allowed after a hard kill); sink ${sinkRows.length} rows`);
  });
});
