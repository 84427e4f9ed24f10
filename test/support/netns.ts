/**
 * NetnsLab: workers in Linux network namespaces of their own, each with its own address on a
 * bridge (created with `ip netns` + veth pairs by the test, removed in `close()`), reaching the
 * real etcd and Kafka across it. Needs root (CAP_NET_ADMIN); `netnsUnavailable()` says why not.
 *
 * Layout: bridge tb<id> holds 10.<a>.<b>.1 (the host); namespace n gets 10.<a>.<b>.<10+n> on its
 * veth. Kafka and etcd listen on the host's loopback and Kafka advertises 127.0.0.1:<port>, so
 * the host forwards <bridge ip>:<port> to loopback and each namespace runs a forwarder from its
 * own 127.0.0.1:<kafka port> to the host across its veth: every byte crosses the namespace
 * boundary. `cut(ns)` takes the namespace's veth down (nothing gets in or out: etcd, Kafka and
 * the other workers see silence), `heal(ns)` brings it up again. `startEtcd` instead runs a
 * 3-member etcd inside the namespaces, its peer traffic on a second bridge that
 * `cutEtcdPeers` can take down alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AdminService } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { createClient } from '../../src/grpc/index.js';
import type { AdminClient } from './cluster.js';
import { eventually } from './eventually.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const forwarder = fileURLToPath(new URL('./forward.mjs', import.meta.url));

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs CAP_NET_ADMIN';
  const probe = `tbprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.error) return `the ip command is not available: ${r.error.message}`;
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

export interface NsWorker {
  id: string;
  ns: string;
  address: string;
  process: ChildProcess | undefined;
  log: string[];
  exit: Promise<number | null> | undefined;
}

/**
 * What the host-side Kafka forwarder sees of one namespace's connections: the arrival time of
 * each produce request (Kafka API key 0), and a delay it adds to everything the broker sends
 * back (a slow broker: the namespace's producer waits for answers, its sends queue up).
 */
export interface KafkaTap {
  responseDelayMs: number;
  produceRequests: number[];
}

const PRODUCE_API_KEY = 0;

/** Splits a client's byte stream into Kafka request frames (int32 size, then int16 API key…). */
class RequestFrames {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onRequest: (apiKey: number) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 6) {
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) return;
      this.onRequest(this.pending.readInt16BE(4));
      this.pending = this.pending.subarray(4 + size);
    }
  }
}

export class NetnsLab {
  private readonly id = Math.random().toString(36).slice(2, 6);
  private readonly subnet = `10.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
  readonly bridge = `tb${this.id}`;
  readonly hostIp = `${this.subnet}.1`;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, AdminClient>();
  private readonly kafkaTaps = new Map<string, KafkaTap>();
  /** Namespace addresses whose etcd traffic the host forwarders hold (isolateControlPlane). */
  private readonly etcdHeld = new Set<string>();
  private readonly heldEtcdSockets = new Map<string, Set<Socket>>();
  private readonly blackholes = new Map<NsWorker, NsWorker[]>();
  readonly workers: NsWorker[] = [];
  readonly cluster = `netns-${Date.now().toString(36)}-${this.id}`;

  /** etcd members started in the namespaces (startEtcd): each worker then uses its own member. */
  private readonly etcdMembers: { ns: string; client: string; peerLink: string; process: ChildProcess; log: string[] }[] = [];
  private readonly peerBridge = `tp${this.id}`;
  private readonly peerSubnet = `10.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;

  constructor(private readonly opts: { kafkaBootstrap: string; etcdEndpoints: string[]; sessionTimeoutMs?: number; heartbeatIntervalMs?: number }) {}

  /**
   * A 3-member etcd inside the first `members` namespaces (made here): clients on the
   * namespace's address, peer traffic over a second bridge of its own, so `cutEtcdPeers` can
   * partition etcd's members while everything else still flows. Workers added afterwards go
   * into these namespaces in order and talk to their own member only.
   */
  async startEtcd(members: number, dataDir: string): Promise<string[]> {
    ip('link', 'add', this.peerBridge, 'type', 'bridge');
    ip('link', 'set', this.peerBridge, 'up');
    const nodes: { ns: string; address: string; peer: string; peerLink: string }[] = [];
    for (let i = 0; i < members; i++) {
      const { ns, address } = await this.addNamespace();
      const n = this.namespaces.length;
      const peer = `${this.peerSubnet}.${10 + n}`;
      const peerLink = `${this.peerBridge}h${n}`;
      ip('link', 'add', peerLink, 'type', 'veth', 'peer', 'name', `${this.peerBridge}n${n}`);
      ip('link', 'set', `${this.peerBridge}n${n}`, 'netns', ns);
      ip('link', 'set', peerLink, 'master', this.peerBridge);
      ip('link', 'set', peerLink, 'up');
      ip('-n', ns, 'addr', 'add', `${peer}/24`, 'dev', `${this.peerBridge}n${n}`);
      ip('-n', ns, 'link', 'set', `${this.peerBridge}n${n}`, 'up');
      nodes.push({ ns, address, peer, peerLink });
    }
    const initial = nodes.map((x, i) => `e${i + 1}=http://${x.peer}:2380`).join(',');
    for (const [i, x] of nodes.entries()) {
      const child = spawn('ip', ['netns', 'exec', x.ns, 'etcd', '--name', `e${i + 1}`, '--data-dir', `${dataDir}/e${i + 1}`, '--listen-client-urls', `http://${x.address}:2379`, '--advertise-client-urls', `http://${x.address}:2379`,
        '--listen-peer-urls', `http://${x.peer}:2380`, '--initial-advertise-peer-urls', `http://${x.peer}:2380`, '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', this.cluster,
        '--heartbeat-interval', '100', '--election-timeout', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.push(child);
      const log: string[] = [];
      const keep = (c: Buffer) => {
        log.push(c.toString());
        if (log.length > 200) log.splice(0, 100);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      this.etcdMembers.push({ ns: x.ns, client: `http://${x.address}:2379`, peerLink: x.peerLink, process: child, log });
    }
    return this.etcdMembers.map((m) => m.client);
  }

  /** Takes down the etcd peer link of the worker's namespace: its member is alone, without quorum. */
  cutEtcdPeers(w: NsWorker): void {
    ip('link', 'set', this.etcdMembers.find((m) => m.ns === w.ns)!.peerLink, 'down');
  }

  healEtcdPeers(w: NsWorker): void {
    ip('link', 'set', this.etcdMembers.find((m) => m.ns === w.ns)!.peerLink, 'up');
  }

  async start(): Promise<void> {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.hostIp}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    // Host side: <bridge ip>:<port> -> the loopback services.
    const kafka = this.kafkaTarget();
    await this.forward(this.hostIp, kafka.port, kafka, 'kafka');
    for (const target of this.opts.etcdEndpoints.map((e) => new URL(e)).map((u) => ({ host: u.hostname, port: Number(u.port) }))) {
      await this.forward(this.hostIp, target.port, target, 'etcd');
    }
  }

  /** The Kafka tap of a worker's namespace (see KafkaTap); counting starts when it is first asked for. */
  kafkaTap(w: NsWorker): KafkaTap {
    const address = w.address.split(':')[0]!;
    let tap = this.kafkaTaps.get(address);
    if (!tap) {
      tap = { responseDelayMs: 0, produceRequests: [] };
      this.kafkaTaps.set(address, tap);
    }
    return tap;
  }

  /**
   * Cuts a worker off from the control plane only: its etcd traffic is held by the host
   * forwarders (silence, like a dropped link) and routes to the other workers are blackholed
   * inside its namespace, while its Kafka traffic still flows. Workers in `stillReaches` stay
   * reachable from it.
   */
  isolateControlPlane(w: NsWorker, opts: { stillReaches?: NsWorker[] } = {}): void {
    const address = w.address.split(':')[0]!;
    this.etcdHeld.add(address);
    for (const socket of [...this.sockets]) if (socket.remoteAddress === address && (socket as Socket & { etcd?: boolean }).etcd) this.hold(address, socket);
    const blackholed = this.workers.filter((other) => other !== w && !opts.stillReaches?.includes(other));
    this.blackholes.set(w, blackholed);
    for (const other of blackholed) ip('-n', w.ns, 'route', 'add', 'blackhole', `${other.address.split(':')[0]}/32`);
  }

  rejoinControlPlane(w: NsWorker): void {
    const address = w.address.split(':')[0]!;
    for (const other of this.blackholes.get(w) ?? []) ip('-n', w.ns, 'route', 'del', 'blackhole', `${other.address.split(':')[0]}/32`);
    this.blackholes.delete(w);
    this.etcdHeld.delete(address);
    // Held connections are dropped, so the worker's etcd client reconnects through a live one.
    for (const socket of this.heldEtcdSockets.get(address) ?? []) socket.destroy();
    this.heldEtcdSockets.delete(address);
  }

  private hold(address: string, client: Socket): void {
    client.unpipe();
    client.pause();
    let held = this.heldEtcdSockets.get(address);
    if (!held) this.heldEtcdSockets.set(address, (held = new Set()));
    held.add(client);
  }

  private kafkaTarget(): { host: string; port: number } {
    const [host, port] = this.opts.kafkaBootstrap.split(',')[0]!.split(':');
    return { host: host!, port: Number(port) };
  }

  private forward(listenHost: string, listenPort: number, target: { host: string; port: number }, kind: 'kafka' | 'etcd'): Promise<void> {
    const server = createServer((client) => {
      const from = client.remoteAddress ?? '';
      if (kind === 'etcd' && this.etcdHeld.has(from)) {
        // Accepted and never answered: what a cut-off etcd looks like to a client.
        this.sockets.add(client);
        this.hold(from, client);
        client.on('error', () => client.destroy()).on('close', () => this.sockets.delete(client));
        return;
      }
      const upstream = connect(target.port, target.host);
      this.sockets.add(client).add(upstream);
      if (kind === 'etcd') {
        (client as Socket & { etcd?: boolean }).etcd = true;
        client.pipe(upstream);
        upstream.pipe(client);
      } else {
        this.tapKafka(from, client, upstream);
      }
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => server.once('error', reject).listen(listenPort, listenHost, () => resolve()));
  }

  /** Forwards a Kafka connection, counting its produce requests and delaying answers as the tap of its namespace says. */
  private tapKafka(from: string, client: Socket, upstream: Socket): void {
    const frames = new RequestFrames((apiKey) => {
      if (apiKey === PRODUCE_API_KEY) this.kafkaTaps.get(from)?.produceRequests.push(Date.now());
    });
    client.on('data', (chunk: Buffer) => {
      frames.push(chunk);
      upstream.write(chunk);
    });
    // Answers wait in one queue, so they keep their order whatever the delay was when each came.
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (client.writable) client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - Date.now());
    };
    upstream.on('data', (chunk: Buffer) => {
      queue.push({ at: Date.now() + (this.kafkaTaps.get(from)?.responseDelayMs ?? 0), chunk });
      if (timer === undefined) pump();
    });
    client.on('close', () => clearTimeout(timer));
  }

  /** A namespace with its own address, a default route to the host and a Kafka forwarder. */
  async addNamespace(): Promise<{ ns: string; address: string }> {
    const n = this.namespaces.length + 1;
    const ns = `tb${this.id}-${n}`;
    const address = `${this.subnet}.${10 + n}`;
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    ip('link', 'add', `${this.bridge}h${n}`, 'type', 'veth', 'peer', 'name', `${this.bridge}n${n}`);
    ip('link', 'set', `${this.bridge}n${n}`, 'netns', ns);
    ip('link', 'set', `${this.bridge}h${n}`, 'master', this.bridge);
    ip('link', 'set', `${this.bridge}h${n}`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', `${this.bridge}n${n}`);
    ip('-n', ns, 'link', 'set', `${this.bridge}n${n}`, 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', this.hostIp);
    const kafka = this.kafkaTarget();
    const fwd = spawn('ip', ['netns', 'exec', ns, process.execPath, forwarder, `127.0.0.1:${kafka.port}`, `${this.hostIp}:${kafka.port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(fwd);
    await new Promise<void>((resolve, reject) => {
      fwd.stdout!.once('data', () => resolve());
      fwd.once('exit', (code) => reject(new Error(`the Kafka forwarder in ${ns} exited with ${code}`)));
    });
    return { ns, address };
  }

  /** Starts a worker in a namespace of its own (made for it). */
  async addWorker(): Promise<NsWorker> {
    const member = this.etcdMembers[this.workers.length];
    const { ns, address } = member ? { ns: member.ns, address: new URL(member.client).hostname } : await this.addNamespace();
    const w: NsWorker = { id: `w${this.workers.length + 1}`, ns, address: `${address}:8083`, process: undefined, log: [], exit: undefined };
    this.workers.push(w);
    await this.startWorker(w);
    return w;
  }

  async startWorker(w: NsWorker): Promise<void> {
    const member = this.etcdMembers.find((m) => m.ns === w.ns);
    const etcd = member ? member.client : this.opts.etcdEndpoints.map((e) => `http://${this.hostIp}:${new URL(e).port}`).join(',');
    const child = spawn('ip', ['netns', 'exec', w.ns, process.execPath, '--import', 'tsx', cli, 'worker', '--id', w.id, '--cluster', this.cluster, '--etcd', etcd, '--kafka', this.opts.kafkaBootstrap, '--listen', w.address,
      '--session-timeout', String(this.opts.sessionTimeoutMs ?? 3_000), '--heartbeat-interval', String(this.opts.heartbeatIntervalMs ?? 500), '--offset-flush-interval', '500'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' } });
    this.children.push(child);
    w.process = child;
    w.log = [];
    // $TRIBUTARY_TEST_LOG_DIR keeps every line of every worker (the in-memory log is capped).
    const logFile = process.env.TRIBUTARY_TEST_LOG_DIR ? join(process.env.TRIBUTARY_TEST_LOG_DIR, `${this.cluster}-${w.id}.log`) : undefined;
    const keep = (chunk: Buffer) => {
      if (logFile) appendFileSync(logFile, chunk);
      for (const line of chunk.toString().split('\n')) if (line) w.log.push(line);
      if (w.log.length > 3_000) w.log.splice(0, w.log.length - 3_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    w.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`worker ${w.id} exited with ${child.exitCode}: ${w.log.slice(-5).join('\n')}`);
      await this.admin(w).getCluster({}, { timeoutMs: 1_000 }).catch((err: Error) => {
        if (!/no leader|UNAVAILABLE|not the leader/i.test(err.message)) throw err;
      });
      return true;
    }, { timeoutMs: 120_000, intervalMs: 200, message: `worker ${w.id} serving in ${w.ns}` });
  }

  admin(w: NsWorker): AdminClient {
    let client = this.clients.get(w.address);
    if (!client) {
      client = createClient(AdminService, w.address);
      this.clients.set(w.address, client);
    }
    return client;
  }

  /** Takes the namespace's link down: nothing gets in or out. */
  cut(w: NsWorker): void {
    ip('link', 'set', `${this.bridge}h${this.namespaces.indexOf(w.ns) + 1}`, 'down');
  }

  heal(w: NsWorker): void {
    ip('link', 'set', `${this.bridge}h${this.namespaces.indexOf(w.ns) + 1}`, 'up');
  }

  /** Kills every process it started and removes the namespaces, their links and the bridge. */
  async close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    for (const w of this.workers) if (w.process && w.process.exitCode === null) w.process.kill('SIGKILL');
    await Promise.all(this.workers.map((w) => w.exit));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', this.bridge]);
    if (this.etcdMembers.length > 0) spawnSync('ip', ['link', 'del', this.peerBridge]);
  }

  logs(lines = 15): string {
    return this.workers.map((w) => `--- ${w.id} (${w.ns} ${w.address})\n${w.log.slice(-lines).join('\n')}`).join('\n');
  }
}
