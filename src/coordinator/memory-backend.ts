/**
 * The memory coordinator backend, for one process (`tributary standalone`, unit tests). Election is
 * immediate: the first candidate leads at once (term 1), later candidates queue and the next one
 * leads when the leader resigns (term 2, …). Watchers are plain callbacks, called synchronously.
 *
 * Cluster state is kept as the same key/value layout the etcd backend uses (store-layout/keys.ts) and
 * changed by the same write plan (store-layout/state.ts), so both backends give a batch the same meaning.
 * With `{ path }` the state and the last term are persisted as one JSON file, rewritten atomically
 * (temporary file, fsync, rename, fsync of the folder) by every write and election, and loaded by
 * start(): a restarted standalone process resumes its connectors, partitions, offsets and epoch.
 * A write is applied in memory only once it is on disk.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import type { ClusterSnapshot, CoordinatorBackend, Leadership, StateWrite, WorkerInfo } from './backend.js';
import { FailedPreconditionError, InternalError } from '../errors.js';
import { ClusterKeys, planWrites, snapshotFromKvs } from './store-layout/index.js';

export interface MemoryBackendOptions {
  /** JSON file that keeps the cluster state across restarts; in memory only when absent. */
  path?: string;
  /** Name used in the key layout and logs (default `standalone`). */
  cluster?: string;
  logger?: Logger;
}

interface FileFormat {
  version: 1;
  cluster: string;
  /** Last term handed out (decimal). */
  term: string;
  /** Cluster state by key relative to `/tributary/<cluster>/`: JSON values inline, others as text. */
  state: Record<string, unknown>;
}

interface Candidate {
  self: WorkerInfo;
  signal: AbortSignal;
  onAbort: () => void;
  resolve: (leadership: Leadership | undefined) => void;
}

const NOT_LEADER = 'this worker is no longer the leader (it resigned or the backend stopped); the write was not applied';

export class MemoryBackend implements CoordinatorBackend {
  readonly kind = 'memory' as const;
  /** A resigned or stopped holder is gone at once. */
  readonly leaderExpiryMs = 0;
  private readonly keys: ClusterKeys;
  private readonly log: Logger;
  /** Cluster state by full key, as the etcd backend would store it. */
  private state = new Map<string, string>();
  private term = 0n;
  private holder: MemoryLeadership | undefined;
  private readonly waiting: Candidate[] = [];
  private readonly memberMap = new Map<string, WorkerInfo>();
  private readonly leaderListeners = new Set<(leader: WorkerInfo | undefined) => void>();
  private readonly memberListeners = new Set<(members: WorkerInfo[]) => void>();
  /** Writes and elections touch the file one at a time. */
  private queue: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;

  constructor(private readonly options: MemoryBackendOptions = {}) {
    this.keys = new ClusterKeys(options.cluster ?? 'standalone');
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'coordinator-memory', cluster: this.keys.cluster });
  }

  /** Loads the state file, if one is configured and exists. */
  async start(): Promise<void> {
    if (this.stopped) throw new FailedPreconditionError('the memory coordinator backend is stopped');
    if (this.started) return;
    this.started = true;
    if (this.options.path) await this.load(this.options.path);
  }

  /** Resigns a held leadership, withdraws waiting candidates, drops members and listeners. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const candidate of this.waiting.splice(0)) {
      candidate.signal.removeEventListener('abort', candidate.onAbort);
      candidate.resolve(undefined);
    }
    await this.holder?.resign();
    await this.queue;
    this.memberMap.clear();
    this.leaderListeners.clear();
    this.memberListeners.clear();
  }

  private assertRunning(): void {
    if (this.stopped) throw new FailedPreconditionError('the memory coordinator backend is stopped');
  }

  // ── election ──────────────────────────────────────────────────────────────

  async campaign(self: WorkerInfo, signal: AbortSignal): Promise<Leadership | undefined> {
    this.assertRunning();
    if (signal.aborted) return undefined;
    if (!this.holder) return this.elect(self);
    return new Promise<Leadership | undefined>((resolve) => {
      const candidate: Candidate = {
        self,
        signal,
        resolve,
        onAbort: () => {
          const i = this.waiting.indexOf(candidate);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(undefined);
        },
      };
      signal.addEventListener('abort', candidate.onAbort, { once: true });
      this.waiting.push(candidate);
    });
  }

  private async elect(self: WorkerInfo): Promise<Leadership> {
    this.term += 1n;
    const leadership = new MemoryLeadership(this, this.term, self);
    this.holder = leadership;
    this.log.info({ workerId: self.id, term: this.term.toString() }, 'elected leader');
    this.notifyLeader();
    try {
      // Persist the term so that terms keep growing across restarts.
      await this.enqueue(() => this.persist(this.state));
    } catch (err) {
      await leadership.resign();
      throw err;
    }
    return leadership;
  }

  /** Called by a leadership that ends; hands leadership to the next waiting candidate. */
  release(leadership: MemoryLeadership): void {
    if (this.holder !== leadership) return;
    this.holder = undefined;
    const next = this.waiting.shift();
    if (next && !this.stopped) {
      next.signal.removeEventListener('abort', next.onAbort);
      this.elect(next.self).then(next.resolve, () => next.resolve(undefined));
    } else {
      this.notifyLeader();
    }
  }

  async leader(): Promise<WorkerInfo | undefined> {
    this.assertRunning();
    return this.holder?.self;
  }

  watchLeader(listener: (leader: WorkerInfo | undefined) => void): () => void {
    this.assertRunning();
    this.leaderListeners.add(listener);
    listener(this.holder?.self);
    return () => this.leaderListeners.delete(listener);
  }

  private notifyLeader(): void {
    const leader = this.holder?.self;
    for (const listener of [...this.leaderListeners]) listener(leader);
  }

  // ── membership ────────────────────────────────────────────────────────────

  async register(self: WorkerInfo): Promise<void> {
    this.assertRunning();
    this.memberMap.set(self.id, { ...self });
    this.notifyMembers();
  }

  async members(): Promise<WorkerInfo[]> {
    this.assertRunning();
    return this.memberList();
  }

  /** Calls `listener` with the member list at once and after every change. */
  watchMembers(listener: (members: WorkerInfo[]) => void): () => void {
    this.assertRunning();
    this.memberListeners.add(listener);
    listener(this.memberList());
    return () => this.memberListeners.delete(listener);
  }

  private memberList(): WorkerInfo[] {
    return [...this.memberMap.values()].map((m) => ({ ...m })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private notifyMembers(): void {
    for (const listener of [...this.memberListeners]) listener(this.memberList());
  }

  // ── state ─────────────────────────────────────────────────────────────────

  async snapshot(): Promise<ClusterSnapshot> {
    this.assertRunning();
    // Decoding from the stored text hands out fresh objects: callers cannot alter our state.
    return snapshotFromKvs(this.keys, [...this.state].map(([key, value]) => ({ key, value })));
  }

  /** Applies a batch for `leadership`, in order, all or nothing; on disk first when persisted. */
  write(leadership: MemoryLeadership, writes: StateWrite[]): Promise<void> {
    return this.enqueue(async () => {
      if (leadership.lost.aborted || this.holder !== leadership) throw new FailedPreconditionError(NOT_LEADER, { cause: leadership.lost.reason });
      if (writes.length === 0) return;
      const next = new Map(this.state);
      for (const op of planWrites(this.keys, writes)) {
        if (op.op === 'put') next.set(op.key, op.value);
        else if (op.op === 'delete') next.delete(op.key);
        else for (const key of [...next.keys()]) if (key.startsWith(op.prefix)) next.delete(key);
      }
      await this.persist(next);
      this.state = new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  private async persist(state: Map<string, string>): Promise<void> {
    const path = this.options.path;
    if (!path) return;
    const data: FileFormat = { version: 1, cluster: this.keys.cluster, term: this.term.toString(), state: {} };
    for (const [key, value] of [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      data.state[key.slice(this.keys.root.length)] = inline(value);
    }
    try {
      await writeFileAtomic(path, JSON.stringify(data, null, 1));
    } catch (err) {
      throw new InternalError(`could not write the standalone state file ${path}: ${(err as Error).message}; check the disk and the folder's permissions`, { cause: err });
    }
  }

  private async load(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new InternalError(`could not read the standalone state file ${path}: ${(err as Error).message}`, { cause: err });
    }
    const broken = (detail: string, cause?: unknown) =>
      new InternalError(`standalone state file ${path} ${detail}; restore it from a backup or move it away to start empty`, { cause });
    let data: FileFormat;
    try {
      data = JSON.parse(text) as FileFormat;
    } catch (err) {
      throw broken(`is not valid JSON (${(err as Error).message})`, err);
    }
    if (data?.version !== 1 || typeof data.state !== 'object' || data.state === null || !/^\d+$/.test(String(data.term))) {
      throw broken('has an unknown format (expected version 1 with "term" and "state")');
    }
    const state = new Map<string, string>();
    for (const [key, value] of Object.entries(data.state)) {
      state.set(this.keys.root + key, typeof value === 'string' ? value : JSON.stringify(value));
    }
    try {
      snapshotFromKvs(this.keys, [...state].map(([key, value]) => ({ key, value }))); // validates every record
    } catch (err) {
      throw broken(`holds an invalid record: ${(err as Error).message}`, err);
    }
    this.state = state;
    this.term = BigInt(data.term);
    this.log.info({ path, keys: state.size, term: data.term }, 'loaded standalone state');
  }
}

/** JSON records inline as objects (readable file); anything else (the epoch) as its text. */
function inline(value: string): unknown {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // not JSON: stored as text
  }
  return value;
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  // The rename is durable only once the folder is synced (not possible on every platform).
  try {
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch {
    // best effort
  }
}

class MemoryLeadership implements Leadership {
  private readonly controller = new AbortController();

  constructor(
    private readonly backend: MemoryBackend,
    readonly term: bigint,
    readonly self: WorkerInfo,
  ) {}

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  write(writes: StateWrite[]): Promise<void> {
    if (this.lost.aborted) return Promise.reject(new FailedPreconditionError(NOT_LEADER, { cause: this.lost.reason }));
    return this.backend.write(this, writes);
  }

  async resign(): Promise<void> {
    if (this.lost.aborted) return;
    this.controller.abort(new FailedPreconditionError('this worker resigned its leadership'));
    this.backend.release(this);
  }
}
