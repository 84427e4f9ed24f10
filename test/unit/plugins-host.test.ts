/**
 * The plugin host: registrations (in code and from a plugin directory), starting and describing
 * instances, and clear errors for unknown plugins, bad plugin files and plugins that do not come
 * up (the child processes here are plain `node -e` one-liners).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlreadyExistsError, DeadlineExceededError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../src/errors.js';
import { ConnectorKind } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { PluginHost, loadPluginDirectory } from '../../src/plugins/index.js';
import { verifiableSourcePlugin } from '../../src/connectors/verifiable-source/index.js';
import { verifiableSinkPlugin } from '../../src/connectors/verifiable-sink/index.js';
import { hangingDescribePlugin } from '../fixtures/plugins/hostile.js';
import { eventually } from '../support/eventually.js';

function childPids(): number[] {
  try {
    return readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('starts an in-process plugin, describes it once and caches the description', async () => {
  let created = 0;
  const host = new PluginHost();
  host.register({ name: 'verifiable-source', source: { type: 'in-process', create: () => (created++, verifiableSourcePlugin) } });
  host.register({ name: 'verifiable-sink', source: { type: 'in-process', create: () => (created++, verifiableSinkPlugin) } });
  const instance = await host.start('verifiable-source');
  assert.equal(instance.description.kind, ConnectorKind.SOURCE);
  assert.equal(instance.pid, undefined);
  assert.equal((await host.describe('verifiable-source')).name, 'verifiable-source');
  assert.equal(created, 1);
  const [a, b] = await Promise.all([host.describe('verifiable-sink'), host.describe('verifiable-sink')]);
  assert.equal(a.kind, ConnectorKind.SINK);
  assert.equal(a, b);
  assert.equal(created, 2);
  assert.deepEqual(host.registrations().map((r) => r.name), ['verifiable-sink', 'verifiable-source']);
  await instance.close();
  await host.stop();
});

test('an unknown plugin is a NotFoundError listing the known ones; a second registration is refused', async () => {
  const host = new PluginHost();
  host.register({ name: 'b', source: { type: 'in-process', create: () => verifiableSourcePlugin } });
  host.register({ name: 'a', source: { type: 'in-process', create: () => verifiableSourcePlugin } });
  await assert.rejects(host.start('nope'), (err: unknown) => err instanceof NotFoundError && /unknown plugin "nope"; known plugins: a, b/.test(err.message));
  assert.throws(() => host.describe('nope'), NotFoundError);
  assert.throws(() => host.register({ name: 'a', source: { type: 'in-process', create: () => verifiableSourcePlugin } }), AlreadyExistsError);
  assert.throws(() => host.register({ name: 'r', source: { type: 'remote', url: 'http://x:1' } }), InvalidArgumentError);
});

test('a plugin that hangs in Describe fails its start with DeadlineExceededError', async () => {
  const host = new PluginHost({ describeTimeoutMs: 100 });
  host.register({ name: 'hang', source: { type: 'in-process', create: hangingDescribePlugin } });
  await assert.rejects(host.start('hang'), (err: unknown) => err instanceof DeadlineExceededError && /plugin "hang": Describe failed at start: Describe .*100 ms/.test(err.message));
});

test('loads *.plugin.json registrations from a plugin directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-plugins-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'local.plugin.json'), JSON.stringify({ name: 'local', command: './bin/run', args: ['--x'], env: { K: 'v' } }));
    writeFileSync(join(dir, 'path.plugin.json'), JSON.stringify({ name: 'on-path', command: 'python3', cwd: 'bin' }));
    writeFileSync(join(dir, 'remote.plugin.json'), JSON.stringify({ name: 'sidecar', url: 'grpc://127.0.0.1:7070' }));
    writeFileSync(join(dir, 'notes.json'), '{}');
    const found = await loadPluginDirectory(dir);
    assert.deepEqual(found, [
      { name: 'local', source: { type: 'command', command: join(dir, 'bin', 'run'), args: ['--x'], env: { K: 'v' }, cwd: dir } },
      { name: 'on-path', source: { type: 'command', command: 'python3', args: [], env: {}, cwd: join(dir, 'bin') } },
      { name: 'sidecar', source: { type: 'remote', url: 'grpc://127.0.0.1:7070' } },
    ]);
    const host = new PluginHost();
    await host.loadDirectory(dir);
    assert.deepEqual(host.registrations().map((r) => r.name), ['local', 'on-path', 'sidecar']);

    writeFileSync(join(dir, 'bad.plugin.json'), JSON.stringify({ name: '', command: 7, url: 'http://x', extra: true }));
    await assert.rejects(loadPluginDirectory(dir), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /bad\.plugin\.json/);
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ['command', 'extra', 'name', 'url', 'url'].sort());
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a command that cannot be started fails with UnavailableError naming it', async () => {
  const host = new PluginHost();
  host.register({ name: 'missing', source: { type: 'command', command: '/nonexistent/tributary-plugin' } });
  await assert.rejects(host.start('missing'), (err: unknown) => err instanceof UnavailableError && /cannot start "\/nonexistent\/tributary-plugin".*ENOENT/.test(err.message));
});

test('a plugin that exits before its handshake fails the start with its exit code and stderr', async () => {
  const host = new PluginHost();
  host.register({ name: 'quitter', source: { type: 'command', command: process.execPath, args: ['-e', 'console.error("nope: bad setup"); process.exit(7)'] } });
  await assert.rejects(host.start('quitter'), (err: unknown) => {
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /plugin "quitter" \(pid \d+\) exited with code 7 before it was ready/);
    assert.match(err.message, /nope: bad setup/);
    return true;
  });
});

test('a plugin that never prints its handshake times out with its stderr tail and is killed', async () => {
  const before = new Set(childPids());
  const host = new PluginHost({ startTimeoutMs: 3_000 }); // node itself may take over 1 s to start on a loaded machine
  host.register({ name: 'mute', source: { type: 'command', command: process.execPath, args: ['-e', 'console.error("warming up"); setInterval(() => {}, 1000)'] } });
  await assert.rejects(host.start('mute'), (err: unknown) => {
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /did not print its "TRIBUTARY_PLUGIN 1 <address>" line within 3000 ms/);
    assert.match(err.message, /warming up/);
    return true;
  });
  await eventually(() => childPids().every((pid) => before.has(pid)), { message: 'the mute plugin is still running' });
});

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const hostileMain = fileURLToPath(new URL('../fixtures/plugins/hostile-main.ts', import.meta.url));

test('a plugin file\'s startTimeoutMs overrides the host\'s start timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-plugins-'));
  // No child process prints its handshake within 1 ms, so the host's own bound always fails it.
  const host = new PluginHost({ startTimeoutMs: 1 });
  try {
    const command = { command: process.execPath, args: ['--import', 'tsx', hostileMain, 'hang-read'], cwd: repoRoot };
    writeFileSync(join(dir, 'patient.plugin.json'), JSON.stringify({ name: 'patient', ...command, startTimeoutMs: 120_000 }));
    writeFileSync(join(dir, 'hasty.plugin.json'), JSON.stringify({ name: 'hasty', ...command }));
    const found = await host.loadDirectory(dir);
    assert.deepEqual(found.map((r) => (r.source.type === 'command' ? r.source.startTimeoutMs : null)), [undefined, 120_000]);

    await assert.rejects(host.start('hasty'), (err: unknown) => err instanceof UnavailableError && /within 1 ms/.test(err.message));
    const instance = await host.start('patient');
    assert.ok(instance.pid && instance.pid > 0);
    assert.equal(instance.description.kind, ConnectorKind.SOURCE);
    await instance.close();
  } finally {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad startTimeoutMs is refused naming the key, in a plugin file and in code', async () => {
  for (const bad of ['10s', 0, -5, 1.5, 600_001, null]) {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-plugins-'));
    try {
      writeFileSync(join(dir, 'slow.plugin.json'), JSON.stringify({ name: 'slow', command: 'java', startTimeoutMs: bad }));
      await assert.rejects(loadPluginDirectory(dir), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, /slow\.plugin\.json/);
        assert.deepEqual(err.problems.map((p) => p.key), ['startTimeoutMs']);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'tributary-plugins-'));
  try {
    writeFileSync(join(dir, 'sidecar.plugin.json'), JSON.stringify({ name: 'sidecar', url: 'grpc://127.0.0.1:7070', startTimeoutMs: 5_000 }));
    await assert.rejects(loadPluginDirectory(dir), (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'startTimeoutMs' && /only to "command"/.test(p.message)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const host = new PluginHost();
  assert.throws(
    () => host.register({ name: 'slow', source: { type: 'command', command: 'java', startTimeoutMs: -1 } }),
    (err: unknown) => err instanceof InvalidArgumentError && err.problems[0]?.key === 'startTimeoutMs',
  );
  assert.deepEqual(host.registrations(), []);
});
