/**
 * Throughput of the PostgreSQL connectors at the plugin boundary (no Kafka, no converter: what
 * the connectors themselves sustain), against the local PostgreSQL:
 *
 * - CDC: `pgbench` (TPC-B-like: 3 updates + 1 insert per transaction) runs BENCH_PG_TXNS
 *   transactions first, then postgres-cdc streams them from its slot; change events per second
 *   from the first to the last event (the catch-up rate).
 * - Sink: BENCH_PG_ROWS datagen `orders` records upserted by key (cardinality 10,000) in
 *   flushes of 5,000 (each one transaction with its offset); rows per second.
 *
 *   npm run bench:postgres        (BENCH_PG_TXNS=10000, BENCH_PG_ROWS=100000: about a minute)
 *
 * Prints a table and writes test/bench/results/postgres-<ISO timestamp>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordShape } from '../../src/connectors/datagen/index.js';
import { postgresCdcPlugin } from '../../src/connectors/postgres-cdc/index.js';
import { postgresSinkPlugin } from '../../src/connectors/postgres-sink/index.js';
import { inProcessPlugin } from '../../src/plugins/index.js';
import { openRead, openWrite, type RecordInit } from '../support/plugin-streams.js';
import { freshDatabase } from '../support/postgres.js';

const TXNS = Number(process.env.BENCH_PG_TXNS ?? 10_000);
const ROWS = Number(process.env.BENCH_PG_ROWS ?? 100_000);

function pgbench(args: string[], url: string): void {
  const bin = ['/usr/lib/postgresql/15/bin/pgbench', 'pgbench'].find((b) => spawnSync(b, ['--version']).status === 0);
  if (!bin) throw new Error('pgbench not found (Debian: postgresql-15 or postgresql-contrib)');
  const r = spawnSync(bin, [...args, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pgbench ${args.join(' ')} failed: ${r.stderr}`);
}

async function benchCdc(): Promise<{ events: number; seconds: number; perSecond: number }> {
  const db = await freshDatabase('bench');
  try {
    pgbench(['-i', '-q', '-s', '1'], db.url);
    const plugin = inProcessPlugin(postgresCdcPlugin);
    const connector = { name: 'bench_cdc', config: { 'database.url': db.url, 'topic.prefix': 'bench', 'snapshot.mode': 'never', 'heartbeat.interval.ms': '0' } };
    await plugin.connectorCreated({ connector });
    pgbench(['-n', '-c', '4', '-j', '2', '-t', String(Math.ceil(TXNS / 4))], db.url);
    const expected = Math.ceil(TXNS / 4) * 4 * 4;
    const read = openRead(plugin, connector, 'stream');
    read.credit(1_000_000_000);
    let got = 0;
    let first = 0;
    while (got < expected) {
      const batch = await read.batch();
      if (got === 0) first = performance.now();
      got += batch.length;
      read.ack(batch[batch.length - 1]!, got);
    }
    const seconds = (performance.now() - first) / 1000;
    await read.drainAndEnd();
    await plugin.connectorDeleted({ connector });
    return { events: got, seconds, perSecond: Math.round(got / seconds) };
  } finally {
    await db.drop();
  }
}

async function benchSink(): Promise<{ rows: number; seconds: number; perSecond: number }> {
  const db = await freshDatabase('bench');
  try {
    const plugin = inProcessPlugin(postgresSinkPlugin);
    const connector = { name: 'bench_sink', config: { 'connection.url': db.url, 'insert.mode': 'upsert', 'primary.key.mode': 'record_key', 'auto.create': 'true' } };
    const w = await openWrite(plugin, connector, { id: 'orders-0', topic: 'orders', kafkaPartition: 0 });
    const shape = new RecordShape({ shape: 'orders' });
    const now = Date.now();
    const records: RecordInit[] = [];
    for (let i = 0; i < ROWS; i++) {
      const { keySchema, structuredKey, valueSchema, structuredValue } = shape.record('p0', 0, 10_000, i, now, undefined);
      records.push({ keySchema, structuredKey, valueSchema, structuredValue, topic: 'orders', kafkaPartition: 0, kafkaOffset: BigInt(i) });
    }
    const started = performance.now();
    for (let i = 0; i < ROWS; i += 5_000) {
      w.write(records.slice(i, i + 5_000));
      await w.flush();
    }
    const seconds = (performance.now() - started) / 1000;
    await w.end();
    return { rows: ROWS, seconds, perSecond: Math.round(ROWS / seconds) };
  } finally {
    await db.drop();
  }
}

const cdc = await benchCdc();
const sink = await benchSink();
console.log('\n| path (plugin boundary, local PostgreSQL 15, 2 shared cores) | count | seconds | per second |');
console.log('|---|--:|--:|--:|');
console.log(`| postgres-cdc: pgbench change events streamed from the slot | ${cdc.events} | ${cdc.seconds.toFixed(2)} | ${cdc.perSecond} |`);
console.log(`| postgres-sink: datagen orders upserted by key, 5,000 per transaction | ${sink.rows} | ${sink.seconds.toFixed(2)} | ${sink.perSecond} |`);
console.log('\nNo Debezium figure is printed beside these: none was measured on this machine, and figures from');
console.log('other hardware are not comparable. See docs/performance.md.');
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = join(dir, `postgres-${new Date().toISOString().replace(/[:.]/g, '').slice(0, 17)}Z.json`);
writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), cdc, sink }, null, 2));
console.log(`\nwrote ${file}`);
