/**
 * Plugins as real child processes and remote endpoints, through the PluginHost: the verifiable
 * source started with `node --import tsx main.ts`, read across credits and counted; killed with
 * SIGKILL mid-stream (the stream fails naming the exit, onCrash fires, the host restarts it); a
 * plugin that crashes by itself (its stderr reaches the error); close() leaves no process; and
 * the same source served at grpc://127.0.0.1:<port>.
 *
 * Needs no Kafka or etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ConnectorKind, ConnectorPluginService, type ReadRequestSchema, type ReadResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { Health } from '../../src/gen/grpc/health/v1/health_pb.js';
import { addService, bindServer, shutdownServer } from '../../src/grpc/index.js';
import { DeadlineExceededError, UnavailableError } from '../../src/errors.js';
import { PluginHost, servingHealth, type ConnectorPlugin, type HostedPluginInstance } from '../../src/plugins/index.js';
import { parseVerifiableValue, verifiableSourcePlugin } from '../../src/connectors/verifiable-source/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';
import { eventually } from '../support/eventually.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sourceMain = fileURLToPath(new URL('../../src/connectors/verifiable-source/main.ts', import.meta.url));
const workerMain = fileURLToPath(new URL('../fixtures/plugins/worker-main.ts', import.meta.url));
const hostileMain = fileURLToPath(new URL('../fixtures/plugins/hostile-main.ts', import.meta.url));
const node = (main: string, ...args: string[]) => ({ type: 'command' as const, command: process.execPath, args: ['--import', 'tsx', main, ...args], cwd: repoRoot });

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function openRead(plugin: ConnectorPlugin, partition: string, offset?: string) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  requests.push({
    kind: { case: 'open', value: { connector: { name: 'vs', config: { topic: 't', partitions: '2' } }, partition: { id: partition }, offset: offset === undefined ? undefined : Buffer.from(offset) } },
  });
  return {
    requests,
    next: () => iterator.next() as Promise<IteratorResult<ReadResponse>>,
    credit: (records: number) => requests.push({ kind: { case: 'credit', value: { records } } }),
  };
}

/** Reads `count` records with a window of `window` credits, re-granted per batch; returns their seqs. */
async function readCounting(plugin: ConnectorPlugin, partition: string, count: number, window: number, offset?: string) {
  const read = openRead(plugin, partition, offset);
  let granted = Math.min(window, count);
  read.credit(granted);
  const seqs: number[] = [];
  while (seqs.length < count) {
    const { value, done } = await read.next();
    assert.equal(done, false, 'the stream ended early');
    if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
    for (const record of value!.kind.value.records) seqs.push(parseVerifiableValue(record.value)!.seq);
    assert.ok(seqs.length <= granted, `${seqs.length} records received with ${granted} credits`);
    const more = Math.min(value!.kind.value.records.length, count - granted);
    if (more > 0) {
      granted += more;
      read.credit(more);
    }
  }
  return { seqs, read };
}

describe('plugins in child processes', () => {
  const host = new PluginHost({
    logger: process.env.TEST_LOG ? pino({ level: 'debug' }, pino.destination(2)) : undefined,
    startTimeoutMs: 20_000,
    childProcess: { restartInitialMs: 100, restartMaxMs: 1_000, healthIntervalMs: 1_000 },
  });
  host.register({ name: 'verifiable-source', source: node(sourceMain) });
  host.register({ name: 'crashing-source', source: node(hostileMain, 'crash') });

  after(() => host.stop(2_000));

  test('describes the verifiable source and reads 10,000 records across credits, then drains', async () => {
    const instance = await host.start('verifiable-source');
    try {
      assert.equal(instance.description.name, 'verifiable-source');
      assert.equal(instance.description.kind, ConnectorKind.SOURCE);
      assert.ok(instance.description.configKeys.some((k) => k.name === 'topic' && k.required));
      assert.ok(instance.pid && isAlive(instance.pid));

      const { seqs, read } = await readCounting(instance.plugin, 'p0', 10_000, 500);
      assert.equal(seqs.length, 10_000);
      assert.ok(seqs.every((seq, i) => seq === i), 'seqnos are not exactly 0..9999 in order');

      read.requests.push({ kind: { case: 'drain', value: {} } });
      const drained = await read.next();
      if (drained.value?.kind.case !== 'drained') assert.fail(`expected drained, got ${drained.value?.kind.case}`);
      assert.equal(drained.value.kind.value.records, 10_000n);
      assert.equal(Buffer.from(drained.value.kind.value.lastOffset!).toString(), '9999');
      read.requests.end();
      assert.equal((await read.next()).done, true);
    } finally {
      await instance.close();
    }
  });

  test('a child killed mid-stream fails its stream with the exit, fires onCrash, and is restarted', async () => {
    const crashes: Error[] = [];
    const instance = await host.start('verifiable-source', { onCrash: (err) => crashes.push(err) });
    try {
      const pid = instance.pid!;
      const { read } = await readCounting(instance.plugin, 'p1', 100, 50);
      read.credit(1_000_000);
      process.kill(pid, 'SIGKILL');
      await assert.rejects(
        (async () => {
          for (;;) if ((await read.next()).done) return;
        })(),
        (err: unknown) => {
          assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${String(err)}`);
          assert.match(err.message, new RegExp(`plugin "verifiable-source" \\(pid ${pid}\\) exited with signal SIGKILL`));
          return true;
        },
      );
      await eventually(() => crashes.length === 1, { message: 'onCrash did not fire' });
      assert.match(crashes[0]!.message, /exited with signal SIGKILL/);
      assert.equal(isAlive(pid), false);

      // A call made while it is down waits for the restart.
      const description = await instance.plugin.describe({});
      assert.equal(description.name, 'verifiable-source');
      const restarted = instance.pid;
      assert.ok(restarted && restarted !== pid && isAlive(restarted), 'no new process');
      const { seqs, read: again } = await readCounting(instance.plugin, 'p1', 1_000, 100, '41');
      assert.deepEqual(seqs, Array.from({ length: 1_000 }, (_, i) => 42 + i));
      again.requests.end();
    } finally {
      await instance.close();
    }
  });

  test('a plugin that crashes by itself reports its exit code and stderr on the stream and to onCrash', async () => {
    const crashes: Error[] = [];
    const instance = await host.start('crashing-source', { onCrash: (err) => crashes.push(err) });
    try {
      assert.equal(instance.description.name, 'crashing-source');
      const read = openRead(instance.plugin, 'p0');
      read.credit(1_000);
      let received = 0;
      await assert.rejects(
        (async () => {
          for (;;) {
            const { value, done } = await read.next();
            if (done) return;
            if (value.kind.case === 'batch') received += value.kind.value.records.length;
          }
        })(),
        (err: unknown) => {
          assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${String(err)}`);
          assert.match(err.message, /exited with code 3/);
          assert.match(err.message, /boom: simulated crash/);
          return true;
        },
      );
      // The last batch may die with the process, but never more than it had sent.
      assert.ok(received <= 100, `received ${received} records from a plugin that sent 100`);
      await eventually(() => crashes.length >= 1, { message: 'onCrash did not fire' });
      assert.match(crashes[0]!.message, /boom: simulated crash/);
    } finally {
      await instance.close();
    }
  });

  test('close() ends the child: its PID is gone and calls fail', async () => {
    const instance: HostedPluginInstance = await host.start('verifiable-source');
    const pid = instance.pid!;
    assert.ok(isAlive(pid));
    await instance.close();
    assert.equal(isAlive(pid), false, `pid ${pid} still alive after close()`);
    assert.equal(instance.pid, undefined);
    await assert.rejects(instance.plugin.describe({}), UnavailableError);
    await instance.close(); // idempotent
  });

  test('a child that stops answering health checks is killed and restarted; its stream says why', async () => {
    const strict = new PluginHost({ startTimeoutMs: 20_000, childProcess: { healthIntervalMs: 200, healthTimeoutMs: 200, healthFailures: 2, restartInitialMs: 100 } });
    strict.register({ name: 'freeze-read', source: node(hostileMain, 'freeze-read') });
    const crashes: Error[] = [];
    const instance = await strict.start('freeze-read', { onCrash: (err) => crashes.push(err) });
    try {
      const frozen = instance.pid!;
      const read = openRead(instance.plugin, 'p0');
      read.credit(10);
      await assert.rejects(read.next(), (err: unknown) => {
        assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${String(err)}`);
        assert.ok(err.message.includes(`(pid ${frozen}) exited with signal SIGKILL (killed after 2 failed health checks`), err.message);
        return true;
      });
      await eventually(() => crashes.length >= 1, { message: 'onCrash did not fire' });
      await eventually(() => instance.pid !== undefined && instance.pid !== frozen, { timeoutMs: 20_000, message: 'not restarted' });
      assert.equal((await instance.plugin.describe({})).name, 'verifiable-source');
    } finally {
      await instance.close();
    }
  });

  test('close() kills a child that does not exit on SIGTERM once the deadline passes', async () => {
    const lax = new PluginHost({ startTimeoutMs: 20_000, childProcess: { healthIntervalMs: 0 } });
    lax.register({ name: 'freeze-read', source: node(hostileMain, 'freeze-read') });
    const instance = await lax.start('freeze-read');
    const pid = instance.pid!;
    const read = openRead(instance.plugin, 'p0');
    read.credit(10);
    void read.next().catch(() => {});
    // The admin-style call to a frozen plugin fails by its deadline instead of hanging.
    await assert.rejects(instance.plugin.describe({}, { timeoutMs: 300 }), DeadlineExceededError);
    await instance.close(300);
    assert.equal(isAlive(pid), false, `pid ${pid} survived close()`);
  });

  test('a plugin exits by itself when its worker is killed with SIGKILL (stdin closes)', async () => {
    const worker = spawn(process.execPath, ['--import', 'tsx', workerMain], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      worker.stdout.setEncoding('utf8');
      worker.stdout.on('data', (chunk: string) => (out += chunk));
      const pid = await eventually(() => Number(/PLUGIN_PID (\d+)/.exec(out)?.[1] ?? 0), { timeoutMs: 20_000, message: 'the worker did not start its plugin' });
      assert.ok(isAlive(pid));
      worker.kill('SIGKILL');
      await eventually(() => !isAlive(pid), { timeoutMs: 5_000, message: `plugin pid ${pid} outlived its worker` });
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('a plugin that hangs in Describe fails its start with DeadlineExceededError and is not left running', async () => {
    const quick = new PluginHost({ startTimeoutMs: 20_000, describeTimeoutMs: 500 });
    quick.register({ name: 'hang-describe', source: node(hostileMain, 'hang-describe') });
    const before = new Set(childPids());
    await assert.rejects(quick.start('hang-describe'), (err: unknown) => {
      assert.ok(err instanceof DeadlineExceededError, `expected DeadlineExceededError, got ${String(err)}`);
      assert.match(err.message, /Describe/);
      return true;
    });
    await eventually(() => childPids().every((pid) => before.has(pid)), { message: 'the hung plugin process is still running' });
  });
});

/** PIDs of this process's children (Linux /proc). */
function childPids(): number[] {
  try {
    return readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('remote plugins', () => {
  let server: grpc.Server;
  let port: number;

  before(async () => {
    server = new grpc.Server();
    addService(server, ConnectorPluginService, verifiableSourcePlugin);
    addService(server, Health, servingHealth);
    port = await bindServer(server, '127.0.0.1:0');
  });

  after(() => shutdownServer(server, 1_000));

  test('opens the verifiable source at grpc://127.0.0.1:<port>', async () => {
    const host = new PluginHost();
    host.register({ name: 'remote-source', source: { type: 'remote', url: `grpc://127.0.0.1:${port}` } });
    const instance = await host.start('remote-source');
    try {
      assert.equal(instance.description.name, 'verifiable-source');
      const { seqs, read } = await readCounting(instance.plugin, 'p0', 2_000, 250);
      assert.ok(seqs.every((seq, i) => seq === i));
      read.requests.push({ kind: { case: 'drain', value: {} } });
      const drained = await read.next();
      assert.equal(drained.value?.kind.case === 'drained' && drained.value.kind.value.records, 2_000n);
      read.requests.end();
      assert.equal((await read.next()).done, true);
    } finally {
      await instance.close();
    }
  });

  test('an unreachable endpoint fails the start with UnavailableError naming the URL', async () => {
    const probe = new grpc.Server();
    const free = await bindServer(probe, '127.0.0.1:0');
    await shutdownServer(probe, 100);
    const host = new PluginHost({ startTimeoutMs: 500 });
    host.register({ name: 'gone', source: { type: 'remote', url: `grpc://127.0.0.1:${free}` } });
    await assert.rejects(host.start('gone'), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`grpc://127\\.0\\.0\\.1:${free}`));
      return true;
    });
  });
});
