/**
 * EmbeddedCluster: N real `tributary worker` processes on loopback, against the real Kafka and
 * etcd, in a cluster of their own (a unique name). Tests start, SIGTERM, SIGKILL and restart
 * workers by PID and talk to them through the Admin API. Every process it starts is killed in
 * `close()`.
 */
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { AdminService, PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { createClient, type Client } from '../../src/grpc/index.js';
import { createEtcdBackend, type CommittedOffset } from '../../src/coordinator/index.js';
import { eventually } from './eventually.js';
import { services } from './services.js';
import type { TcpProxy } from './tcp-proxy.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export type AdminClient = Client<(typeof AdminService)['method']>;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ClusterWorker {
  id: string;
  port: number;
  address: string;
  process: ChildProcess | undefined;
  /** Lines the worker logged (pino JSON), for failure messages. */
  log: string[];
  exit: Promise<number | null> | undefined;
  /** host:port of the worker's /metrics, when the cluster was started with `metrics: true`. */
  metricsAddress?: string;
}

export interface EmbeddedClusterOptions {
  workers: number;
  /** An etcd of the test's own (comma-separated client URLs) instead of the shared one. */
  etcdEndpoints?: string;
  /** Reach etcd through this proxy (its address replaces the real endpoint), to cut etcd off. */
  etcdProxy?: TcpProxy;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  env?: Record<string, string>;
  /** How long a worker may take to serve after its start (default 120000 ms). */
  startTimeoutMs?: number;
  /** Called with every whole line a worker logs (stdout and stderr), e.g. to count events. */
  onLogLine?: (worker: ClusterWorker, line: string) => void;
  /** Serve each worker's /metrics on a port of its own (ClusterWorker.metricsAddress). */
  metrics?: boolean;
  /** Extra environment of one worker (e.g. its own TLS files), over `env`. */
  workerEnv?: (w: ClusterWorker) => Record<string, string>;
  /** Credentials of the test's admin clients (TLS workers); default plaintext. */
  adminCredentials?: grpc.ChannelCredentials;
  /** Metadata of every call of the test's admin clients (e.g. `authorization: Bearer …`). */
  adminMetadata?: Record<string, string>;
  /**
   * Also append every line each worker writes to `<logDir>/<id>.log` (uncapped, for log greps).
   * Defaults to `$TRIBUTARY_TEST_LOG_DIR` when that is set (to keep a failing run's full logs).
   */
  logDir?: string;
}

export class EmbeddedCluster {
  readonly name = `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  readonly workers: ClusterWorker[] = [];
  private readonly clients = new Map<string, AdminClient>();
  kafkaBootstrap = '';
  private etcd = '';
  private workerEtcd = '';

  constructor(private readonly options: EmbeddedClusterOptions) {}

  async start(): Promise<void> {
    const s = await services();
    this.kafkaBootstrap = s.kafkaBootstrap;
    this.etcd = this.options.etcdEndpoints ?? s.etcdEndpoints.join(',');
    this.workerEtcd = this.etcd;
    if (this.options.etcdProxy) this.workerEtcd = `http://${await this.options.etcdProxy.start()}`;
    for (let i = 0; i < this.options.workers; i++) {
      const port = await freePort();
      this.workers.push({ id: `w${i + 1}`, port, address: `127.0.0.1:${port}`, process: undefined, log: [], exit: undefined });
    }
    await Promise.all(this.workers.map((w) => this.startWorker(w)));
  }

  /** Adds a worker process to the running cluster. */
  async addWorker(options: { wait?: boolean } = {}): Promise<ClusterWorker> {
    const port = await freePort();
    const w: ClusterWorker = { id: `w${this.workers.length + 1}`, port, address: `127.0.0.1:${port}`, process: undefined, log: [], exit: undefined };
    this.workers.push(w);
    await this.startWorker(w, options);
    return w;
  }

  /** Starts `w`'s process; waits until it serves Admin calls unless `wait` is false. */
  async startWorker(w: ClusterWorker, { wait = true }: { wait?: boolean } = {}): Promise<void> {
    if (this.options.metrics && !w.metricsAddress) w.metricsAddress = `127.0.0.1:${await freePort()}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        'worker',
        '--id',
        w.id,
        '--cluster',
        this.name,
        '--etcd',
        this.workerEtcd,
        '--kafka',
        this.kafkaBootstrap,
        '--listen',
        w.address,
        '--session-timeout',
        String(this.options.sessionTimeoutMs ?? 5_000),
        '--heartbeat-interval',
        String(this.options.heartbeatIntervalMs ?? 500),
        '--offset-flush-interval',
        '500',
        // The tests' files live under the OS temp directory: the file connectors may use it.
        '--allowed-paths',
        tmpdir(),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...this.options.env, ...this.options.workerEnv?.(w), ...(w.metricsAddress ? { TRIBUTARY_METRICS_LISTEN: w.metricsAddress } : {}) },
      },
    );
    w.process = child;
    w.log = [];
    const logDir = this.options.logDir ?? process.env.TRIBUTARY_TEST_LOG_DIR;
    const logFile = logDir ? join(logDir, `${this.name}-${w.id}.log`) : undefined;
    const onLine = this.options.onLogLine;
    const keeper = () => {
      let carry = ''; // a line split across chunks is completed by the next one
      return (chunk: Buffer) => {
        if (logFile) appendFileSync(logFile, chunk);
        const lines = (carry + chunk.toString()).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          w.log.push(line);
          onLine?.(w, line);
        }
        if (w.log.length > 2_000) w.log.splice(0, w.log.length - 2_000);
      };
    };
    child.stdout!.on('data', keeper());
    child.stderr!.on('data', keeper());
    w.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    if (!wait) return;
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`worker ${w.id} exited with ${child.exitCode}: ${w.log.slice(-5).join('\n')}`);
      await this.admin(w).getCluster({}, { timeoutMs: 1_000 }).catch((err: Error) => {
        // A worker that answers UNAVAILABLE (no leader yet) is up.
        if (!/no leader|UNAVAILABLE|not the leader/i.test(err.message)) throw err;
      });
      return true;
    }, { timeoutMs: this.options.startTimeoutMs ?? 120_000, intervalMs: 100, message: `worker ${w.id} serving` });
  }

  admin(w: ClusterWorker = this.live()[0]!): AdminClient {
    let client = this.clients.get(w.address);
    if (!client) {
      client = createClient(AdminService, w.address, { credentials: this.options.adminCredentials, metadata: this.options.adminMetadata });
      this.clients.set(w.address, client);
    }
    return client;
  }

  /** The leader's worker (asks a live worker). */
  async leader(): Promise<ClusterWorker> {
    return eventually(async () => {
      const c = await this.admin().getCluster({}, { timeoutMs: 2_000 });
      return this.workers.find((w) => w.id === c.leaderId);
    }, { timeoutMs: 15_000, message: 'a leader' }) as Promise<ClusterWorker>;
  }

  live(): ClusterWorker[] {
    return this.workers.filter((w) => w.process && w.process.exitCode === null && w.process.signalCode === null);
  }

  async kill(w: ClusterWorker, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    w.process?.kill(signal);
    const code = (await w.exit) ?? null;
    this.clients.get(w.address)?.close();
    this.clients.delete(w.address);
    return code;
  }

  /** Kills every worker it started and deletes the cluster's keys from etcd. */
  async close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all(this.live().map((w) => this.kill(w, 'SIGKILL')));
    const etcd = new Etcd3({ hosts: this.etcd.split(',') });
    try {
      await etcd.delete().prefix(`/tributary/${this.name}/`);
    } finally {
      etcd.close();
    }
  }

  /**
   * A verifiable source's seq per stream partition as persisted in etcd: what a new leader
   * starts from after the old one dies hard (the leader's own view may be ahead by up to one
   * offset flush interval).
   */
  async durableSeqs(connector: string): Promise<Map<string, number>> {
    const backend = createEtcdBackend({ endpoints: this.etcd.split(','), cluster: this.name });
    try {
      const snapshot = await backend.snapshot();
      return new Map([...(snapshot.offsets.get(connector) ?? new Map<string, CommittedOffset>())].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
    } finally {
      await backend.stop();
    }
  }

  /** The last log lines of every worker, for assertion messages. */
  logs(lines = 20): string {
    return this.workers.map((w) => `--- ${w.id}\n${w.log.slice(-lines).join('\n')}`).join('\n');
  }
}

/**
 * A verifiable source's committed seq per stream partition (its offsets are the last seq as
 * text), as the leader holds them.
 */
export async function committedSeqs(admin: AdminClient, name: string, timeoutMs = 3_000): Promise<Map<string, number>> {
  const { offsets } = await admin.getOffsets({ name }, { timeoutMs });
  return new Map(offsets.map((o) => [o.partition, Number(o.text)]));
}

/**
 * Waits until every partition of each connector is RUNNING (and, with `partitions`, that each
 * has exactly that many); fails naming the partitions that are not, with their state and worker.
 */
export async function everyPartitionRunning(admin: () => AdminClient, names: string[], opts: { partitions?: number; timeoutMs?: number } = {}): Promise<void> {
  await eventually(async () => {
    for (const name of names) {
      const { status } = await admin().getConnectorStatus({ name }, { timeoutMs: 3_000 });
      const bad = status!.partitions.filter((p) => p.state !== PartitionState.RUNNING);
      const countWrong = opts.partitions === undefined ? status!.partitions.length === 0 : status!.partitions.length !== opts.partitions;
      if (countWrong || bad.length > 0) throw new Error(`${name}: ${bad.map((p) => `${p.partition}=${PartitionState[p.state]}@${p.workerId}`).join(' ')}`);
    }
    return true;
  }, { timeoutMs: opts.timeoutMs ?? 40_000, intervalMs: 200, message: 'every partition RUNNING' });
}
