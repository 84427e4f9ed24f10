/**
 * `npm run demo`: a local three-worker cluster moving real records through a real Kafka broker.
 *
 * Starts Kafka and etcd on loopback (deploy/local, unless KAFKA_BOOTSTRAP / ETCD_ENDPOINTS point
 * elsewhere), three `tributary worker` processes, a verifiable source (sequence-numbered
 * records into a topic) and a verifiable sink (the topic into a file). It shows progress every
 * second, kills one worker with SIGKILL halfway to show failover, then stops everything and
 * counts: every sequence number the source committed must be in Kafka and in the sink's file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminService, PartitionState } from './gen/tributary/admin/v1/admin_pb.js';
import { createClient } from './grpc/index.js';
import { readVerifiableSinkFile } from './connectors/verifiable-sink/index.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from './worker/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'src', 'cli.ts');
const RUN_SECONDS = Number(process.env.DEMO_SECONDS ?? 24);

function log(message: string): void {
  console.log(`[demo ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function localServices(): { kafka: string; etcd: string } {
  if (process.env.KAFKA_BOOTSTRAP && process.env.ETCD_ENDPOINTS) return { kafka: process.env.KAFKA_BOOTSTRAP, etcd: process.env.ETCD_ENDPOINTS };
  log('starting Kafka and etcd on loopback (deploy/local/up.sh; the first run downloads Kafka from Maven Central)…');
  const up = spawnSync('bash', [join(root, 'deploy', 'local', 'up.sh')], { stdio: 'inherit' });
  if (up.status !== 0) throw new Error('deploy/local/up.sh failed; see its output above');
  const env = readFileSync(join(process.env.TRIBUTARY_LOCAL_DIR ?? join(homedir(), '.cache', 'tributary', 'local'), 'env'), 'utf8');
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(env)?.[1] ?? '';
  return { kafka: process.env.KAFKA_BOOTSTRAP ?? get('KAFKA_BOOTSTRAP'), etcd: process.env.ETCD_ENDPOINTS ?? get('ETCD_ENDPOINTS') };
}

interface DemoWorker {
  id: string;
  address: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

async function main(): Promise<void> {
  const { kafka, etcd } = localServices();
  const cluster = `demo-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-demo-'));
  const workers: DemoWorker[] = [];
  const cleanup = () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  };
  process.on('exit', cleanup);
  try {
    // The web console is served from the built front end (dist/ui): build it once if missing.
    if (!existsSync(join(root, 'dist', 'ui', 'index.html'))) {
      log('building the web console (npm run build:ui)…');
      if (spawnSync('npm', ['run', '--silent', 'build:ui'], { cwd: root, stdio: 'inherit' }).status !== 0) throw new Error('npm run build:ui failed; see its output above');
    }
    const consoles: string[] = [];
    for (const id of ['worker-1', 'worker-2', 'worker-3']) {
      const address = `127.0.0.1:${await freePort()}`;
      const http = `127.0.0.1:${await freePort()}`;
      consoles.push(`http://${http}/ui/`);
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'worker', '--id', id, '--cluster', cluster, '--etcd', etcd, '--kafka', kafka, '--listen', address, '--rest-listen', http], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
      });
      child.stderr!.on('data', () => {});
      workers.push({ id, address, child, exited: new Promise((r) => child.once('exit', (code) => r(code))) });
    }
    log(`cluster "${cluster}": 3 workers on ${workers.map((w) => w.address).join(', ')}`);
    log(`web console: ${consoles[0]} (every worker serves it: ${consoles.slice(1).join(', ')}; read-only; DEMO_SECONDS=${RUN_SECONDS} sets how long the demo runs)`);
    const admin = createClient(AdminService, workers[0]!.address);
    await waitFor(async () => (await admin.getCluster({}, { timeoutMs: 1_000 })).leaderId !== '', 30_000, 'a leader');
    const info = await admin.getCluster({});
    log(`leader: ${info.leaderId} (term ${info.term})`);

    const topic = `${cluster}-orders`;
    const sinkFile = join(dir, 'sink.jsonl');
    await admin.createConnector({ name: 'orders-source', config: { 'connector.class': 'verifiable-source', topic, partitions: '6', 'records.per.second': '1500', 'topic.creation.default.partitions': '6' } });
    await waitFor(async () => (await admin.listPlugins({})).plugins.length > 0, 10_000, 'plugins');
    await waitFor(async () => (await admin.getConnectorStatus({ name: 'orders-source' })).status!.partitions.length === 6, 20_000, 'source partitions');
    await admin.createConnector({ name: 'orders-sink', config: { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': sinkFile } });
    log(`created orders-source (verifiable-source, 6 partitions → ${topic}) and orders-sink (${topic} → ${sinkFile})`);

    let killed: DemoWorker | undefined;
    for (let second = 1; second <= RUN_SECONDS; second++) {
      await new Promise((r) => setTimeout(r, 1_000));
      const survivor = workers.find((w) => w !== killed)!;
      const client = createClient(AdminService, survivor.address);
      try {
        const [src, sink] = await Promise.all([client.getConnectorStatus({ name: 'orders-source' }, { timeoutMs: 2_000 }), client.getConnectorStatus({ name: 'orders-sink' }, { timeoutMs: 2_000 })]);
        const offsets = await client.getOffsets({ name: 'orders-source' }, { timeoutMs: 2_000 });
        const produced = offsets.offsets.reduce((n, o) => n + Number(o.text) + 1, 0);
        const sinkOffsets = await client.getOffsets({ name: 'orders-sink' }, { timeoutMs: 2_000 });
        const delivered = sinkOffsets.offsets.reduce((n, o) => n + Number(o.text) + 1, 0);
        const perWorker = new Map<string, number>();
        for (const p of [...src.status!.partitions, ...sink.status!.partitions]) if (p.state === PartitionState.RUNNING) perWorker.set(p.workerId, (perWorker.get(p.workerId) ?? 0) + 1);
        log(`committed: ${produced} produced, ${delivered} in the sink | running partitions per worker: ${[...perWorker].sort().map(([w, n]) => `${w}=${n}`).join(' ')}`);
      } catch (err) {
        log(`(status unavailable this second: ${(err as Error).message.split('\n')[0]})`);
      } finally {
        client.close();
      }
      if (second === Math.floor(RUN_SECONDS / 2)) {
        const leaderId = (await createClient(AdminService, survivor.address).getCluster({})).leaderId;
        killed = workers.find((w) => w.id !== leaderId)!;
        killed.child.kill('SIGKILL');
        log(`SIGKILL ${killed.id}: its partitions move to the others after the session timeout (${DEFAULT_SESSION_TIMEOUT_MS / 1000} s), from their committed offsets`);
      }
    }

    const survivor = workers.find((w) => w !== killed)!;
    const client = createClient(AdminService, survivor.address);
    log('stopping both connectors (clean drain), then checking every record…');
    await client.stopConnector({ name: 'orders-source' });
    await waitFor(async () => (await client.getConnectorStatus({ name: 'orders-source' })).status!.partitions.every((p) => p.state === PartitionState.UNASSIGNED), 30_000, 'source stopped');
    const sourceOffsets = new Map((await client.getOffsets({ name: 'orders-source' })).offsets.map((o) => [o.partition, Number(o.text)]));
    const expected = [...sourceOffsets.values()].reduce((n, o) => n + o + 1, 0);
    await waitFor(async () => (await client.getOffsets({ name: 'orders-sink' })).offsets.reduce((n, o) => n + Number(o.text) + 1, 0) >= expected, 30_000, 'sink caught up');
    await client.stopConnector({ name: 'orders-sink' });
    const { records } = await readVerifiableSinkFile(sinkFile);
    const seen = new Map<string, Set<number>>();
    for (const r of records) if (r.source && r.seq !== null) (seen.get(r.source) ?? seen.set(r.source, new Set()).get(r.source)!).add(r.seq);
    let missing = 0;
    for (const [p, max] of sourceOffsets) for (let s = 0; s <= max; s++) if (!seen.get(p)?.has(s)) missing++;
    const duplicates = records.length - [...seen.values()].reduce((n, s) => n + s.size, 0);
    log(`${expected} records committed by the source; the sink wrote ${records.length} lines: ${missing} missing, ${duplicates} duplicates (at-least-once repeats a few after a SIGKILL)`);
    client.close();
    admin.close();
    for (const w of workers.filter((x) => x !== killed)) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    if (missing > 0) throw new Error(`${missing} records missing`);
    log('done: nothing lost. Workers stopped; Kafka and etcd stay up (npm run local:down stops them).');
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
