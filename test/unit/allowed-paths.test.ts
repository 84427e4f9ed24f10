/**
 * allowed.paths confines the file connectors and `${file:…}` references: `..` and symlinks are
 * resolved before comparing, the default allows nothing, and a refusal names the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../src/errors.js';
import { AllowedPaths } from '../../src/util/allowed-paths.js';
import { createFileSinkDefinition } from '../../src/connectors/file-sink/index.js';
import { createFileSourceDefinition } from '../../src/connectors/file-source/index.js';
import { fileStreamSinkPlugins, fileStreamSourcePlugins } from '../../src/connectors/file-stream/index.js';
import { tryResolveConfigReferences } from '../../src/worker/config-references.js';
import { inProcessPlugin } from '../../src/plugins/index.js';
import { compileWorkerSettings } from '../../src/cli/worker-options.js';

function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'tributary-allowed-'));
  const inside = join(root, 'inside');
  const outside = join(root, 'outside');
  mkdirSync(inside);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.properties'), 'password=hunter2\n');
  writeFileSync(join(inside, 'ok.properties'), 'password=fine\n');
  // A symlink inside the allowed directory that points out of it.
  symlinkSync(outside, join(inside, 'escape'));
  return { root, inside, outside, allowed: AllowedPaths.of([inside]), done: () => rmSync(root, { recursive: true, force: true }) };
}

test('paths under the list pass; "..", symlinks out of it, siblings with the same prefix and the default (none) do not', async () => {
  const f = fixture();
  try {
    assert.equal(await f.allowed.problem(join(f.inside, 'new', 'file.txt')), undefined, 'a file that does not exist yet under the directory');
    assert.equal(await f.allowed.problem(f.inside), undefined);
    assert.match((await f.allowed.problem(join(f.inside, '..', 'outside', 'x')))!, /outside the worker's allowed.paths/);
    assert.match((await f.allowed.problem(join(f.inside, 'escape', 'secret.properties')))!, /resolves to ".*outside\/secret.properties"/);
    assert.match((await f.allowed.problem(join(f.inside, 'escape', 'not-yet', 'x')))!, /outside the worker's allowed.paths/, 'a new file below a symlink that leaves');
    assert.match((await f.allowed.problem(`${f.inside}-sibling/x`))!, /outside/, 'a prefix of the name is not a parent');
    assert.match((await AllowedPaths.none().problem(join(f.inside, 'x')))!, /allows no file paths/);
    assert.match((await AllowedPaths.fromEnvironment({}).problem(join(f.inside, 'x')))!, /allows no file paths/, 'unset environment: none');
  } finally {
    f.done();
  }
});

test('allowed.paths must list absolute directories; the worker setting names its key', () => {
  assert.throws(
    () => compileWorkerSettings({ kafka: 'localhost:9092', allowedPaths: '/data,relative/dir' }, {}),
    (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'allowed.paths' && /relative\/dir/.test(p.message)),
  );
  assert.deepEqual(compileWorkerSettings({ kafka: 'localhost:9092' }, {}).allowedPaths.roots, [], 'a worker allows none by default');
  assert.deepEqual(compileWorkerSettings({ kafka: 'localhost:9092' }, { TRIBUTARY_ALLOWED_PATHS: '/data, /srv/in' }).allowedPaths.roots, ['/data', '/srv/in']);
  assert.deepEqual(compileWorkerSettings({ kafka: 'localhost:9092' }, {}, ['/home/me']).allowedPaths.roots, ['/home/me'], 'standalone passes its own default');
});

test('file-sink, file-source and the FileStream aliases refuse a path outside, naming their key, at validate and at open', async () => {
  const f = fixture();
  try {
    const sink = createFileSinkDefinition({ allowedPaths: f.allowed });
    assert.deepEqual(await sink.validate!({ file: join(f.inside, 'out.txt') }), []);
    const [sinkProblem] = await sink.validate!({ file: join(f.inside, 'escape', 'out.txt') });
    assert.equal(sinkProblem?.key, 'file');
    await assert.rejects(Promise.resolve().then(() => sink.open({ name: 'c', config: { file: join(f.outside, 'out.txt') } }, { id: 'p', attributes: {} } as never, undefined, new AbortController().signal)), (err: unknown) => err instanceof InvalidArgumentError && err.problems[0]?.key === 'file');

    const source = createFileSourceDefinition({ allowedPaths: f.allowed });
    const sourceProblems = await source.validate!({ path: f.outside, topic: 't', 'file.pattern': '*', 'poll.interval.ms': '500', 'batch.size': '10' });
    assert.deepEqual(sourceProblems.map((p) => p.key), ['path']);
    assert.deepEqual(await source.validate!({ path: f.inside, topic: 't', 'file.pattern': '*', 'poll.interval.ms': '500', 'batch.size': '10' }), []);

    // Kafka's FileStreamSource / FileStreamSink names: validated through the Validate RPC.
    for (const { plugin } of [fileStreamSourcePlugins(f.allowed)[0]!, fileStreamSinkPlugins(f.allowed)[0]!]) {
      const client = inProcessPlugin(plugin);
      const res = await client.validate({ connector: { name: 'fs', config: { file: join(f.outside, 'secret.properties'), topic: 't', topics: 't' } } });
      assert.ok(res.errors.some((e) => e.key === 'file' && /outside the worker's allowed.paths/.test(e.message)), JSON.stringify(res.errors));
    }
  } finally {
    f.done();
  }
});

test('${file:…} references outside allowed.paths are a problem of their key and the file is not read', async () => {
  const f = fixture();
  try {
    const reads: string[] = [];
    const { readFile } = await import('node:fs/promises');
    const { config, problems } = await tryResolveConfigReferences(
      { ok: `\${file:${join(f.inside, 'ok.properties')}:password}`, bad: `\${file:${join(f.inside, 'escape', 'secret.properties')}:password}` },
      { allowedPaths: f.allowed, readText: async (p) => (reads.push(p), readFile(p, 'utf8')) },
    );
    assert.equal(config['ok'], 'fine');
    assert.deepEqual(problems.map((p) => p.key), ['bad']);
    assert.match(problems[0]!.message, /outside the worker's allowed.paths/);
    assert.doesNotMatch(problems[0]!.message, /hunter2/);
    assert.deepEqual(reads, [join(f.inside, 'ok.properties')], 'the file outside was never read');
  } finally {
    f.done();
  }
});
