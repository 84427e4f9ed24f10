/**
 * EmbeddedCluster: N real `tributary worker` processes on loopback, against the real Kafka and
 * etcd, in a cluster of their own (a unique name). Tests start, SIGTERM, SIGKILL and restart
 * workers by PID and talk to them through the Admin API. Every process it starts is killed in
 * `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { AdminService } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { createClient, type Client } from '../../src/grpc/index.js';
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
}

export interface EmbeddedClusterOptions {
  workers: number;
  /** Reach etcd through this proxy (its address replaces the real endpoint), to cut etcd off. */
  etcdProxy?: TcpProxy;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  env?: Record<string, string>;
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
    this.etcd = s.etcdEndpoints.join(',');
    this.workerEtcd = this.etcd;
    if (this.options.etcdProxy) this.workerEtcd = `http://${await this.options.etcdProxy.start()}`;
    for (let i = 0; i < this.options.workers; i++) {
      const port = await freePort();
      this.workers.push({ id: `w${i + 1}`, port, address: `127.0.0.1:${port}`, process: undefined, log: [], exit: undefined });
    }
    await Promise.all(this.workers.map((w) => this.startWorker(w)));
  }

  /** Adds a worker process to the running cluster. */
  async addWorker(): Promise<ClusterWorker> {
    const port = await freePort();
    const w: ClusterWorker = { id: `w${this.workers.length + 1}`, port, address: `127.0.0.1:${port}`, process: undefined, log: [], exit: undefined };
    this.workers.push(w);
    await this.startWorker(w);
    return w;
  }

  async startWorker(w: ClusterWorker): Promise<void> {
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
        String(this.options.sessionTimeoutMs ?? 3_000),
        '--heartbeat-interval',
        String(this.options.heartbeatIntervalMs ?? 500),
        '--offset-flush-interval',
        '500',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...this.options.env } },
    );
    w.process = child;
    w.log = [];
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) w.log.push(line);
      if (w.log.length > 2_000) w.log.splice(0, w.log.length - 2_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    w.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`worker ${w.id} exited with ${child.exitCode}: ${w.log.slice(-5).join('\n')}`);
      await this.admin(w).getCluster({}, { timeoutMs: 1_000 }).catch((err: Error) => {
        // A worker that answers UNAVAILABLE (no leader yet) is up.
        if (!/no leader|UNAVAILABLE|not the leader/i.test(err.message)) throw err;
      });
      return true;
    }, { timeoutMs: 30_000, intervalMs: 100, message: `worker ${w.id} serving` });
  }

  admin(w: ClusterWorker = this.live()[0]!): AdminClient {
    let client = this.clients.get(w.address);
    if (!client) {
      client = createClient(AdminService, w.address);
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

  /** The last log lines of every worker, for assertion messages. */
  logs(lines = 20): string {
    return this.workers.map((w) => `--- ${w.id}\n${w.log.slice(-lines).join('\n')}`).join('\n');
  }
}
