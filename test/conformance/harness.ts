/**
 * The plugin conformance harness: drives any plugin binary through the hard cases of the
 * connector protocol (docs/connector-protocol.md) as the worker would, but as a strict
 * counterpart that checks every rule instead of tolerating mistakes:
 *
 * - process: exactly one handshake line on stdout, a short unix socket path, health SERVING for
 *   any name, exit 0 on SIGTERM with a Read stream open, exit on stdin EOF, socket dir removed;
 * - sources: credits exactly exhausted (nothing more until the next credit), drain in the middle
 *   of a poll that is waiting upstream (the records that poll returns, then `drained` with the
 *   last offset and count, then nothing), acks after drain, a request stream that ends without
 *   drain, resuming after a committed offset, malformed opens and offsets;
 * - sinks: `opened`, no `durable` before anything was written (unless it holds offsets),
 *   `durable` through the last offset only after flush, records without a Kafka offset, malformed
 *   opens, a request stream that ends without flush.
 *
 * A subject describes one plugin: how to start it, a valid config, and for sources a partition
 * that has exactly `records` records and then waits (so a poll is in progress when drain comes).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health_pb.js';
import {
  ConnectorKind,
  ConnectorPluginService,
  type ReadRequestSchema,
  type ReadResponse,
  type WriteRequestSchema,
  type WriteResponse,
} from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { createClient, type Client } from '../../src/grpc/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;
type WriteRequestInit = MessageInitShape<typeof WriteRequestSchema>;
type PluginClient = Client<(typeof ConnectorPluginService)['method']>;

interface SubjectCommon {
  /** Shown in test names. */
  label: string;
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** A valid connector config. */
  config: Record<string, string>;
}

export interface SourceSubject extends SubjectCommon {
  kind: 'source';
  /** A partition that has exactly `records` records (at least 12), then none until drain. */
  partition: string;
  records: number;
  /** An offset the plugin must reject with INVALID_ARGUMENT. */
  malformedOffset: Uint8Array;
}

export interface SinkSubject extends SubjectCommon {
  kind: 'sink';
  /** Reads back the Kafka offsets the external system holds for topic-partition (t, p). */
  stored(topic: string, partition: number): Promise<number[]>;
}

export type Subject = SourceSubject | SinkSubject;

/** How long "nothing more arrives" is watched for: an absence cannot be awaited. */
const QUIET_MS = 400;

/** One plugin process started the way the worker starts it. */
export class PluginProcess {
  readonly child: ChildProcess;
  readonly stderr: string[] = [];
  /** stdout lines after the handshake (must stay empty). */
  readonly extraStdout: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  address = '';
  client!: PluginClient;
  health!: Client<(typeof Health)['method']>;

  private constructor(subject: Subject) {
    this.child = spawn(subject.command, subject.args ?? [], {
      cwd: subject.cwd,
      env: { ...process.env, ...subject.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 50) this.stderr.shift();
    });
  }

  static async start(subject: Subject): Promise<PluginProcess> {
    const p = new PluginProcess(subject);
    const lines = createInterface({ input: p.child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no handshake line within 20 s; stderr:\n${p.stderr.join('\n')}`)), 20_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      void p.exited.then(({ code, signal }) => reject(new Error(`exited (${code ?? signal}) before the handshake; stderr:\n${p.stderr.join('\n')}`)));
    });
    lines.on('line', (line) => p.extraStdout.push(line));
    const m = /^TRIBUTARY_PLUGIN 1 (unix:\/\/(\/\S+))$/.exec(first);
    assert.ok(m, `handshake line is "TRIBUTARY_PLUGIN 1 unix:///abs/path", got ${JSON.stringify(first)}`);
    assert.ok(m[2]!.length < 100, `socket path stays under 100 bytes: ${m[2]}`);
    p.address = m[1]!;
    p.client = createClient(ConnectorPluginService, p.address);
    p.health = createClient(Health, p.address);
    return p;
  }

  get socketDir(): string {
    return dirname(this.address.slice('unix://'.length));
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills what is left (tests end with the process gone either way). */
  async kill(): Promise<void> {
    this.client?.close();
    this.health?.close();
    if (this.alive() && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
      await this.exited;
    }
  }
}

/** A bidi stream driven step by step. */
class Stream<Req, Res> {
  readonly requests = new AsyncQueue<Req>();
  private readonly iterator: AsyncIterator<Res>;
  private pending: Promise<IteratorResult<Res>> | undefined;

  constructor(open: (requests: AsyncIterable<Req>) => AsyncIterable<Res>) {
    this.iterator = open(this.requests)[Symbol.asyncIterator]();
  }

  send(request: Req): void {
    this.requests.push(request);
  }

  end(): void {
    this.requests.end();
  }

  /** The next message; fails after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<IteratorResult<Res>> {
    this.pending ??= this.iterator.next();
    const p = this.pending;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs)))]);
      this.pending = undefined;
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asserts that nothing arrives for `ms` (the pending read is kept for later). */
  async quiet(ms: number, what: string): Promise<void> {
    this.pending ??= this.iterator.next();
    const p = this.pending.then((r) => ({ r }), (err: unknown) => ({ err }));
    const outcome = await Promise.race([p, new Promise<'quiet'>((resolve) => setTimeout(() => resolve('quiet'), ms))]);
    if (outcome !== 'quiet') assert.fail(`${what}: expected nothing for ${ms} ms, got ${JSON.stringify('r' in outcome ? outcome.r.value?.kind?.case ?? 'end' : String(outcome.err), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  }

  /** The error the stream ends with (fails if it ends cleanly). */
  async error(timeoutMs = 10_000): Promise<Error & { code?: string }> {
    for (;;) {
      try {
        const r = await this.next(timeoutMs);
        if (r.done) assert.fail('the stream ended without an error');
      } catch (err) {
        if (err instanceof Error && /no message within/.test(err.message)) throw err;
        return err as Error & { code?: string };
      }
    }
  }
}

const text = (b: Uint8Array | undefined) => (b === undefined ? '<none>' : Buffer.from(b).toString('latin1'));

export function readStream(p: PluginProcess) {
  return new Stream<ReadRequestInit, ReadResponse>((r) => p.client.read(r));
}

export function writeStream(p: PluginProcess) {
  return new Stream<WriteRequestInit, WriteResponse>((r) => p.client.write(r));
}

function openRead(subject: SourceSubject, offset?: Uint8Array): ReadRequestInit {
  return { kind: { case: 'open', value: { connector: { name: 'conformance', config: subject.config }, partition: { id: subject.partition }, offset } } };
}
const credit = (records: number): ReadRequestInit => ({ kind: { case: 'credit', value: { records } } });
const drain: ReadRequestInit = { kind: { case: 'drain', value: {} } };
const ack = (offset: Uint8Array, records: bigint): ReadRequestInit => ({ kind: { case: 'ack', value: { offset, records } } });

/** Reads batches until `count` records arrived; checks no batch overshoots `allowed`. */
async function readRecords(s: Stream<ReadRequestInit, ReadResponse>, count: number, allowed: number, into: Uint8Array[]): Promise<void> {
  const target = into.length + count;
  while (into.length < target) {
    const r = await s.next();
    assert.equal(r.done, false, 'the stream ended early');
    const kind = r.value!.kind;
    assert.equal(kind.case, 'batch', `expected a batch, got ${kind.case}`);
    if (kind.case !== 'batch') return;
    assert.ok(kind.value.records.length > 0, 'no empty batches');
    for (const rec of kind.value.records) into.push(rec.offset);
    assert.ok(into.length <= allowed, `${into.length} records sent with ${allowed} credits granted`);
  }
}

/** One case: its name, whether it ends the process (then it needs a process of its own), the body. */
export type Case = [name: string, run: (start: () => Promise<PluginProcess>) => Promise<void>];

/** Cases whose process does not survive them. */
export function endsTheProcess(name: string): boolean {
  return name.startsWith('SIGTERM') || name.startsWith('stdin EOF');
}

/** Every case of the suite for one subject (the test file wraps them in tests). */
export function conformanceCases(subject: Subject): Case[] {
  const common: Case[] = [
    [
      'handshake: one stdout line, health SERVING for any service name, Describe and Validate',
      async (start) => {
        const p = await start();
        for (const service of ['', 'tributary.connector.v1.ConnectorPluginService', 'any.other.Name']) {
          const h = await p.health.check({ service }, { timeoutMs: 5_000 });
          assert.equal(h.status, HealthCheckResponse_ServingStatus.SERVING, `health of "${service}"`);
        }
        const d = await p.client.describe({}, { timeoutMs: 5_000 });
        assert.ok(d.name.length > 0, 'Describe names the plugin');
        assert.equal(d.kind, subject.kind === 'source' ? ConnectorKind.SOURCE : ConnectorKind.SINK);
        const ok = await p.client.validate({ connector: { name: 'c', config: subject.config } }, { timeoutMs: 5_000 });
        assert.deepEqual(ok.errors, [], 'the subject config is valid');
        const required = d.configKeys.filter((k) => k.required && k.defaultValue === undefined).map((k) => k.name).sort();
        const bad = await p.client.validate({ connector: { name: 'c', config: {} } }, { timeoutMs: 5_000 });
        assert.deepEqual(bad.errors.map((e) => e.key).sort(), required, 'an empty config names every required key');
        assert.deepEqual(p.extraStdout, [], 'nothing on stdout after the handshake');
      },
    ],
    [
      'SIGTERM with a stream open: exits 0 within the grace and removes its socket dir',
      async (start) => {
        const p = await start();
        const s = subject.kind === 'source' ? readStream(p) : writeStream(p);
        if (subject.kind === 'source') {
          (s as Stream<ReadRequestInit, ReadResponse>).send(openRead(subject));
          (s as Stream<ReadRequestInit, ReadResponse>).send(credit(1_000_000));
          // Wait until the stream is really open (the first batch), then the poll waits upstream.
          await (s as Stream<ReadRequestInit, ReadResponse>).next();
        } else {
          (s as Stream<WriteRequestInit, WriteResponse>).send({ kind: { case: 'open', value: { connector: { name: 'c', config: subject.config }, partition: { id: 'conf-0', topic: 'conf', kafkaPartition: 0 } } } });
          await (s as Stream<WriteRequestInit, WriteResponse>).next();
        }
        const dir = p.socketDir;
        p.child.kill('SIGTERM');
        const exit = await Promise.race([p.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 8_000))]);
        assert.notEqual(exit, 'late', 'exited within 8 s of SIGTERM');
        assert.deepEqual(exit, { code: 0, signal: null }, `exit status; stderr:\n${p.stderr.join('\n')}`);
        assert.equal(existsSync(dir), false, 'socket dir removed');
      },
    ],
    [
      'stdin EOF (the worker died): exits at once and removes its socket dir',
      async (start) => {
        const p = await start();
        const s = subject.kind === 'source' ? readStream(p) : undefined;
        if (s && subject.kind === 'source') {
          s.send(openRead(subject));
          s.send(credit(1_000_000));
          await s.next();
        }
        const dir = p.socketDir;
        p.child.stdin!.end();
        const exit = await Promise.race([p.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 3_000))]);
        assert.notEqual(exit, 'late', 'exited within 3 s of stdin closing');
        await eventually(() => !existsSync(dir), { timeoutMs: 2_000, message: 'socket dir removed' });
      },
    ],
  ];
  return [...common, ...(subject.kind === 'source' ? sourceCases(subject) : sinkCases(subject))];
}

function sourceCases(subject: SourceSubject): Case[] {
  const n = subject.records;
  return [
    [
      'credits exactly exhausted: nothing more until the next credit, then exactly that many, in order',
      async (start) => {
        const p = await start();
        const s = readStream(p);
        const offsets: Uint8Array[] = [];
        s.send(openRead(subject));
        s.send(credit(7));
        await readRecords(s, 7, 7, offsets);
        await s.quiet(QUIET_MS, 'with credits exhausted');
        s.send(credit(1));
        s.send(credit(2));
        await readRecords(s, 3, 10, offsets);
        await s.quiet(QUIET_MS, 'with credits exhausted again');
        assert.equal(new Set(offsets.map(text)).size, 10, 'ten distinct offsets');
        s.send(drain);
        const d = await s.next();
        assert.equal(d.value?.kind.case, 'drained');
        if (d.value?.kind.case !== 'drained') return;
        assert.equal(d.value.kind.value.records, 10n);
        assert.equal(text(d.value.kind.value.lastOffset), text(offsets[9]));
        s.end();
        assert.equal((await s.next()).done, true, 'the response stream ends after the request stream');
      },
    ],
    [
      'drain while a poll waits upstream: drained names the last offset and count, nothing after it, acks after drain, clean end',
      async (start) => {
        const p = await start();
        const s = readStream(p);
        const offsets: Uint8Array[] = [];
        s.send(openRead(subject));
        s.send(credit(n + 100));
        await readRecords(s, n, n + 100, offsets);
        // Every record is out: the plugin's poll is now waiting for more.
        s.send(ack(offsets[4]!, 5n));
        await s.quiet(QUIET_MS, 'after the last available record');
        s.send(drain);
        const d = await s.next();
        assert.equal(d.value?.kind.case, 'drained', `expected drained, got ${d.value?.kind.case}`);
        if (d.value?.kind.case !== 'drained') return;
        assert.equal(d.value.kind.value.records, BigInt(n));
        assert.equal(text(d.value.kind.value.lastOffset), text(offsets[n - 1]));
        // Acks still arrive after drain; nothing is sent after drained.
        s.send(ack(offsets[n - 1]!, BigInt(n)));
        s.send(credit(50));
        await s.quiet(QUIET_MS, 'after drained');
        assert.ok(p.alive(), 'still running');
        s.end();
        assert.equal((await s.next()).done, true, 'the response stream ends cleanly');
        const again = await p.client.describe({}, { timeoutMs: 5_000 });
        assert.ok(again.name, 'the plugin still answers');
      },
    ],
    [
      'drain before any record: drained with no last offset and zero records',
      async (start) => {
        const p = await start();
        const s = readStream(p);
        s.send(openRead(subject));
        s.send(drain);
        const d = await s.next();
        assert.equal(d.value?.kind.case, 'drained');
        if (d.value?.kind.case !== 'drained') return;
        assert.equal(d.value.kind.value.records, 0n);
        assert.equal(d.value.kind.value.lastOffset, undefined);
        s.end();
        assert.equal((await s.next()).done, true);
      },
    ],
    [
      'request stream ending without drain: the response stream ends and the plugin keeps serving',
      async (start) => {
        const p = await start();
        const s = readStream(p);
        s.send(openRead(subject));
        s.send(credit(3));
        await readRecords(s, 3, 3, []);
        s.end();
        const end = await s.next().then((r) => (r.done ? 'done' : `message ${r.value?.kind.case}`), (err: Error) => `error ${err.message}`);
        assert.equal(end, 'done');
        // A second stream on the same partition works: the first released it.
        const t = readStream(p);
        t.send(openRead(subject));
        t.send(credit(2));
        await readRecords(t, 2, 2, []);
        t.end();
        assert.equal((await t.next()).done, true);
      },
    ],
    [
      'resumes after a committed offset: the next record is the one after it',
      async (start) => {
        const p = await start();
        const first = readStream(p);
        const offsets: Uint8Array[] = [];
        first.send(openRead(subject));
        first.send(credit(8));
        await readRecords(first, 8, 8, offsets);
        first.end();
        await first.next();
        const second = readStream(p);
        const resumed: Uint8Array[] = [];
        second.send(openRead(subject, offsets[4]));
        second.send(credit(3));
        await readRecords(second, 3, 3, resumed);
        assert.deepEqual(resumed.map(text), offsets.slice(5, 8).map(text));
        second.end();
        await second.next();
      },
    ],
    [
      'malformed open: a first message that is not open, an open without partition, a second open, a malformed offset',
      async (start) => {
        const p = await start();
        const cases: Array<[string, ReadRequestInit[]]> = [
          ['credit first', [credit(1)]],
          ['no partition', [{ kind: { case: 'open', value: { connector: { name: 'c', config: subject.config } } } }]],
          ['open twice', [openRead(subject), openRead(subject)]],
          ['malformed offset', [openRead(subject, subject.malformedOffset), credit(1)]],
        ];
        for (const [what, messages] of cases) {
          const s = readStream(p);
          for (const m of messages) s.send(m);
          const err = await s.error();
          assert.equal(err.code, 'INVALID_ARGUMENT', `${what}: ${err.message}`);
          s.end();
        }
        assert.ok(p.alive(), 'bad input does not crash the plugin');
      },
    ],
  ];
}

function sinkCases(subject: SinkSubject): Case[] {
  const topic = `conformance-${Date.now().toString(36)}`;
  const open = (partition: number): WriteRequestInit => ({
    kind: { case: 'open', value: { connector: { name: 'conformance', config: subject.config }, partition: { id: `${topic}-${partition}`, topic, kafkaPartition: partition } } },
  });
  const batch = (...offsets: number[]): WriteRequestInit => ({
    kind: { case: 'batch', value: { records: offsets.map((o) => ({ kafkaOffset: BigInt(o), key: Buffer.from(`k${o}`), value: Buffer.from(`v${o}`), topic, kafkaPartition: 0 })) } },
  });
  const flush: WriteRequestInit = { kind: { case: 'flush', value: {} } };
  return [
    [
      'durable only after flush, through the last offset received; the data is in the external system then',
      async (start) => {
        const p = await start();
        const s = writeStream(p);
        s.send(open(0));
        const opened = await s.next();
        assert.equal(opened.value?.kind.case, 'opened');
        const held = opened.value?.kind.case === 'opened' ? opened.value.kind.value.resumeAfterOffset : undefined;
        s.send(flush);
        if (held === undefined) await s.quiet(QUIET_MS, 'a flush with nothing written and no offsets held');
        else {
          const d = await s.next();
          assert.equal(d.value?.kind.case === 'durable' && d.value.kind.value.throughOffset, held);
        }
        s.send(batch(100, 101, 102));
        s.send(batch(103, 104));
        await s.quiet(QUIET_MS, 'records written but not flushed');
        s.send(flush);
        const d = await s.next();
        assert.equal(d.value?.kind.case, 'durable');
        if (d.value?.kind.case !== 'durable') return;
        assert.equal(d.value.kind.value.throughOffset, 104n);
        assert.deepEqual(await subject.stored(topic, 0), [100, 101, 102, 103, 104], 'durable records are in the external system');
        s.end();
        assert.equal((await s.next()).done, true, 'the response stream ends after the request stream');
      },
    ],
    [
      'request stream ending without flush: clean end; unflushed records were not reported durable',
      async (start) => {
        const p = await start();
        const s = writeStream(p);
        s.send(open(1));
        await s.next();
        s.send(batch(7, 8));
        s.end();
        const r = await s.next();
        assert.equal(r.done, true, `expected a clean end, got ${r.value?.kind.case}`);
        assert.ok(p.alive());
      },
    ],
    [
      'malformed open and records: first message not open, open without partition, open twice, a record without kafka_offset',
      async (start) => {
        const p = await start();
        const cases: Array<[string, WriteRequestInit[]]> = [
          ['batch first', [batch(1)]],
          ['no partition', [{ kind: { case: 'open', value: { connector: { name: 'c', config: subject.config } } } }]],
          ['open twice', [open(2), open(2)]],
          ['no kafka_offset', [open(2), { kind: { case: 'batch', value: { records: [{ value: Buffer.from('x') }] } } }]],
        ];
        for (const [what, messages] of cases) {
          const s = writeStream(p);
          for (const m of messages) s.send(m);
          const err = await s.error();
          assert.equal(err.code, 'INVALID_ARGUMENT', `${what}: ${err.message}`);
          s.end();
        }
        assert.ok(p.alive(), 'bad input does not crash the plugin');
      },
    ],
  ];
}
