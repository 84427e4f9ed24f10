/**
 * The scale step of the bench (issue 26): N `verifiable-source` connectors × P stream partitions
 * at R records/s each on W real worker processes (test/support/cluster.ts), against the real
 * Kafka and etcd of deploy/local. Prints and stores under test/bench/results/:
 * - creates/s and the latency percentiles of the CreateConnector calls (C calls in flight);
 * - time from the first create to every partition RUNNING (as persisted in etcd status keys, so
 *   the leader's flush interval is included), and the balance (partitions per worker);
 * - over a soak window: CPU (share of one core) and RSS (now and peak) of each worker, the
 *   workers' event-loop delay (prom-client's `nodejs_eventloop_lag_*`, scraped every 5 s),
 *   latency percentiles of admin reads (GetCluster, GetConnectorStatus) meanwhile;
 * - etcd's db size before and after, and the bytes the cluster's keys hold;
 * - counts, from the workers' logs over the whole run, of self-fences, leader elections,
 *   workers declared dead, membership leases lost and failed report flushes.
 *
 *   npm run bench -- --scale [--scale-connectors 1000] [--scale-partitions 2] [--scale-rate 5]
 *                            [--scale-workers 3] [--scale-soak-seconds 60] [--scale-concurrency 8]
 *                            [--scale-running-timeout-seconds 300]
 *
 * The machine is shared: every figure is one run and noisy; compare runs made back to back.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedCluster, type ClusterWorker } from '../support/cluster.js';
import { services } from '../support/services.js';
import { CpuWindow, peakRssMiB } from './proc-stats.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from '../../src/worker/index.js';
import { TributaryError } from '../../src/errors.js';

export interface ScaleOptions {
  connectors: number;
  partitions: number;
  ratePerPartition: number;
  workers: number;
  soakSeconds: number;
  concurrency: number;
  /** How long to wait after the last create for every partition RUNNING before measuring anyway. */
  runningTimeoutSeconds: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer (got ${JSON.stringify(process.argv[i + 1])})`);
  return v;
}

export function scaleOptionsFromArgv(): ScaleOptions {
  return {
    connectors: arg('scale-connectors', 1000),
    partitions: arg('scale-partitions', 2),
    ratePerPartition: arg('scale-rate', 5),
    workers: arg('scale-workers', 3),
    soakSeconds: arg('scale-soak-seconds', 60),
    concurrency: Math.max(1, arg('scale-concurrency', 8)),
    runningTimeoutSeconds: arg('scale-running-timeout-seconds', 300),
  };
}

/** Log messages counted as (false) failure detections and control-plane trouble. */
const EVENTS: Record<string, RegExp> = {
  selfFences: /"msg":"fencing myself/,
  elections: /"msg":"elected leader"/,
  declaredDead: /"msg":"worker declared dead/,
  leasesLost: /"msg":"membership lease lost/,
  reportFlushFailures: /"msg":"could not persist offset reports/,
  rebalanceRetries: /"msg":"rebalance could not be persisted/,
};

function percentiles(samples: number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!);
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length ? s[s.length - 1]! : 0 };
}

function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function scrapeLag(w: ClusterWorker): Promise<{ p99: number; max: number } | undefined> {
  if (!w.metricsAddress) return undefined;
  try {
    const text = await (await fetch(`http://${w.metricsAddress}/metrics`, { signal: AbortSignal.timeout(3_000) })).text();
    const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
    return { p99: read('nodejs_eventloop_lag_p99_seconds') * 1000, max: read('nodejs_eventloop_lag_max_seconds') * 1000 };
  } catch {
    return undefined;
  }
}

interface PersistedStatus {
  running: number;
  perWorker: Record<string, number>;
}

/** RUNNING partitions per worker as the leader persisted them (status keys). */
async function persistedStatus(etcd: Etcd3, cluster: string): Promise<PersistedStatus> {
  const values = await etcd.getAll().prefix(`/tributary/${cluster}/status/`).strings();
  const perWorker: Record<string, number> = {};
  let running = 0;
  for (const v of Object.values(values)) {
    const s = JSON.parse(v) as { state: string; workerId: string };
    if (s.state !== 'RUNNING') continue;
    running++;
    perWorker[s.workerId] = (perWorker[s.workerId] ?? 0) + 1;
  }
  return { running, perWorker };
}

export async function benchScale(o: ScaleOptions): Promise<Record<string, unknown>> {
  const counts = new Map<string, Record<string, number>>();
  const count = (w: ClusterWorker, line: string) => {
    for (const [event, re] of Object.entries(EVENTS)) {
      if (!re.test(line)) continue;
      const c = counts.get(w.id) ?? {};
      c[event] = (c[event] ?? 0) + 1;
      counts.set(w.id, c);
    }
  };
  const cluster = new EmbeddedCluster({ workers: o.workers, sessionTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS, metrics: true, startTimeoutMs: 300_000, onLogLine: count, env: { TRIBUTARY_LOG_LEVEL: 'info' } });
  let etcd: Etcd3 | undefined;
  const total = o.connectors * o.partitions;
  try {
    await cluster.start();
    etcd = new Etcd3({ hosts: (await services()).etcdEndpoints });
    const dbBefore = Number((await etcd.maintenance.status()).dbSize);
    const topic = `${cluster.name}-scale`;
    const kafka = new Kafka({ clientId: 'bench-scale', brokers: [cluster.kafkaBootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await cluster.leader();

    // Creates, `concurrency` in flight, spread over the workers' Admin services (writes are
    // forwarded to the leader, as an operator's scripts would see).
    const createMs: number[] = [];
    const createErrors: Record<string, number> = {};
    const startedAt = Date.now();
    let next = 0;
    const workers = cluster.live();
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, lane) => {
        while (next < o.connectors) {
          const i = next++;
          const t0 = performance.now();
          // As an operator's script would: retry a refused call (no leader, leader changed); an
          // ALREADY_EXISTS after a retry means the earlier attempt went through.
          for (let attempt = 1; ; attempt++) {
            try {
              await cluster.admin(workers[(i + lane + attempt) % workers.length]).createConnector(
                { name: `scale-${String(i).padStart(4, '0')}`, config: { 'connector.class': 'verifiable-source', topic, partitions: String(o.partitions), 'records.per.second': String(o.ratePerPartition) } },
                { timeoutMs: 30_000 },
              );
              break;
            } catch (err) {
              const code = err instanceof TributaryError ? err.code : 'UNKNOWN';
              if (code === 'ALREADY_EXISTS' && attempt > 1) break;
              createErrors[code] = (createErrors[code] ?? 0) + 1;
              if (attempt >= 20) throw err;
              await new Promise((r) => setTimeout(r, 250));
            }
          }
          createMs.push(performance.now() - t0);
        }
      }),
    );
    const createdAt = Date.now();
    const createSeconds = (createdAt - startedAt) / 1000;
    console.log(`scale: ${o.connectors} creates in ${createSeconds.toFixed(1)} s (${(o.connectors / createSeconds).toFixed(1)}/s)`);

    // Wait for every partition RUNNING; on timeout the figures say how far it got.
    let final: PersistedStatus = { running: 0, perWorker: {} };
    let allRunning = false;
    const waitEnd = Date.now() + o.runningTimeoutSeconds * 1000;
    while (Date.now() < waitEnd) {
      final = await persistedStatus(etcd, cluster.name);
      if (final.running >= total) {
        allRunning = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const runningAt = Date.now();
    console.log(
      allRunning
        ? `scale: all ${total} RUNNING ${((runningAt - startedAt) / 1000).toFixed(1)} s after the first create, ${((runningAt - createdAt) / 1000).toFixed(1)} s after the last`
        : `scale: only ${final.running}/${total} RUNNING ${o.runningTimeoutSeconds} s after the last create (${JSON.stringify(final.perWorker)})`,
    );

    // Soak: CPU, RSS, event-loop delay and admin read latency with everything running.
    const pids = Object.fromEntries(cluster.live().map((w) => [w.id, w.process?.pid]));
    const window = new CpuWindow(pids);
    const lag: Record<string, { p99: number; max: number }> = {};
    const readMs: number[] = [];
    const readErrors: Record<string, number> = {};
    const soakEnd = Date.now() + o.soakSeconds * 1000;
    let i = 0;
    while (Date.now() < soakEnd) {
      for (const w of cluster.live()) {
        const l = await scrapeLag(w);
        if (!l) continue;
        const prev = lag[w.id] ?? { p99: 0, max: 0 };
        lag[w.id] = { p99: Math.max(prev.p99, l.p99), max: Math.max(prev.max, l.max) };
      }
      const until = Math.min(soakEnd, Date.now() + 5_000);
      while (Date.now() < until) {
        const t0 = performance.now();
        try {
          if (i++ % 2 === 0) await cluster.admin().getCluster({}, { timeoutMs: 10_000 });
          else await cluster.admin().getConnectorStatus({ name: `scale-${String(i % o.connectors).padStart(4, '0')}` }, { timeoutMs: 10_000 });
          readMs.push(performance.now() - t0);
        } catch (err) {
          const code = err instanceof TributaryError ? err.code : 'UNKNOWN';
          readErrors[code] = (readErrors[code] ?? 0) + 1;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const cpu = window.read();
    const after = await persistedStatus(etcd, cluster.name);
    const dbAfter = Number((await etcd.maintenance.status()).dbSize);
    const kvs = await etcd.getAll().prefix(`/tributary/${cluster.name}/`).buffers();
    const perWorker = Object.fromEntries(
      cluster.live().map((w) => [
        w.id,
        {
          cpuShareOfCore: cpu.processes[w.id] === null ? null : Number((cpu.processes[w.id]! / cpu.wallSeconds).toFixed(3)),
          rssMiB: Math.round(rssMiB(w.process?.pid) ?? NaN),
          peakRssMiB: Math.round(peakRssMiB(w.process?.pid) ?? NaN),
          eventLoopLagMs: lag[w.id] && { p99Max: Math.round(lag[w.id]!.p99), max: Math.round(lag[w.id]!.max) },
          partitionsRunning: after.perWorker[w.id] ?? 0,
          events: counts.get(w.id) ?? {},
        },
      ]),
    );
    const totals: Record<string, number> = {};
    for (const c of counts.values()) for (const [k, v] of Object.entries(c)) totals[k] = (totals[k] ?? 0) + v;
    const shares = Object.values(final.perWorker);
    return {
      options: o,
      machine: { cores: cpus().length, otherProcessesCpuShareOfCore: cpu.otherSeconds === null ? null : Number((cpu.otherSeconds / cpu.wallSeconds).toFixed(2)) },
      creates: { seconds: Number(createSeconds.toFixed(2)), perSecond: Number((o.connectors / createSeconds).toFixed(1)), latencyMs: roundAll(percentiles(createMs)), refusedCalls: createErrors },
      allRunning: {
        reached: allRunning,
        running: final.running,
        secondsAfterFirstCreate: allRunning ? Number(((runningAt - startedAt) / 1000).toFixed(1)) : null,
        secondsAfterLastCreate: allRunning ? Number(((runningAt - createdAt) / 1000).toFixed(1)) : null,
        perWorker: final.perWorker,
        spread: Math.max(...shares) - Math.min(...shares),
      },
      soak: { seconds: Number(cpu.wallSeconds.toFixed(1)), runningAtEnd: after.running, adminReadLatencyMs: roundAll(percentiles(readMs)), adminReadErrors: readErrors },
      workers: perWorker,
      etcd: {
        dbSizeMiBBefore: Number((dbBefore / 2 ** 20).toFixed(1)),
        dbSizeMiBAfter: Number((dbAfter / 2 ** 20).toFixed(1)),
        clusterKeys: kvs ? Object.keys(kvs).length : 0,
        clusterValueKiB: Number((Object.values(kvs).reduce((n, b) => n + b.length, 0) / 1024).toFixed(1)),
      },
      // Leader elections include the first one; anything above 1 is a leader change.
      events: { ...Object.fromEntries(Object.keys(EVENTS).map((k) => [k, 0])), ...totals },
    };
  } finally {
    etcd?.close();
    await cluster.close();
  }
}

function roundAll<T extends Record<string, number>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === 'n' ? v : Number(v.toFixed(1))])) as T;
}

export async function runScaleBench(o = scaleOptionsFromArgv()): Promise<void> {
  const result = { at: new Date().toISOString(), ...(await benchScale(o)) };
  console.log(JSON.stringify(result, null, 2));
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `scale-${result.at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${o.connectors}x${o.partitions}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`scale: results in ${file}`);
}
