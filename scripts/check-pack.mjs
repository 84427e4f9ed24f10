#!/usr/bin/env node
// The release as a user gets it: `npm pack` (which builds dist/ first), install the tarball into
// an empty directory with production dependencies only, then run the installed command:
// `npx tributary --help`, `tributary standalone` with a verifiable source and a file sink moving
// records through the real Kafka (KAFKA_BOOTSTRAP), counted by sequence number, a clean SIGTERM
// exit, and `import { AdminClient } from 'tributary'` against the compiled library.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kafka = process.env.KAFKA_BOOTSTRAP;
if (!kafka) throw new Error('set KAFKA_BOOTSTRAP (deploy/local/up.sh writes it to $TRIBUTARY_LOCAL_DIR/env)');
const log = (msg) => console.log(`[pack] ${msg}`);
const work = mkdtempSync(join(tmpdir(), 'tributary-pack-'));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

let child;
try {
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], root));
  const files = packed.files.map((f) => f.path);
  log(`${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed`);
  for (const f of ['bin/tributary.js', 'dist/cli.js', 'dist/cli.js.map', 'dist/index.js', 'dist/index.d.ts', 'package.json']) assert.ok(files.includes(f), `the tarball lacks ${f}`);
  for (const f of files) assert.ok(!/^(src|test|scripts|deploy)\//.test(f) && !f.endsWith('.ts') || f.endsWith('.d.ts'), `the tarball should hold the compiled release only, found ${f}`);

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, type: 'module' }));
  npm(['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename)], app);
  for (const tool of ['tsx', 'typescript', 'esbuild']) assert.ok(!existsSync(join(app, 'node_modules', tool)), `${tool} was installed with the release: TypeScript tooling must not be a runtime dependency`);
  log('installed into an empty directory with --omit=dev: no tsx, typescript or esbuild');

  const help = execFileSync('npx', ['--no-install', 'tributary', '--help'], { cwd: app, encoding: 'utf8' });
  for (const cmd of ['worker', 'standalone', 'connectors']) assert.match(help, new RegExp(`^\\s+${cmd}\\b`, 'm'), `--help lists no "${cmd}" command:\n${help}`);
  log('npx tributary --help lists worker, standalone and connectors');

  const lib = execFileSync(process.execPath, ['--input-type=module', '-e', "import * as t from 'tributary'; console.log(JSON.stringify({ admin: typeof t.AdminClient, notFound: typeof t.NotFoundError, url: import.meta.resolve('tributary') }))"], { cwd: app, encoding: 'utf8' });
  const imported = JSON.parse(lib);
  assert.deepEqual([imported.admin, imported.notFound], ['function', 'function'], lib);
  assert.match(imported.url, /node_modules\/tributary\/dist\/index\.js$/);
  assert.ok(existsSync(join(app, 'node_modules', 'tributary', 'dist', 'index.d.ts')));
  log(`import from 'tributary' resolves to the compiled ${imported.url.slice(imported.url.indexOf('node_modules'))}`);

  // standalone: 2 × 300 numbered records into a fresh topic, and that topic into a file.
  const topic = `pack-${Date.now().toString(36)}`;
  // Inside the app directory: `tributary standalone` allows the file connectors its working directory only (allowed.paths).
  const out = join(app, 'sink.txt');
  const perPartition = 300;
  writeFileSync(join(app, 'source.json'), JSON.stringify({ name: 'numbers', config: { 'connector.class': 'verifiable-source', topic, partitions: '2', 'max.records': String(perPartition), 'topic.creation.default.partitions': '2' } }));
  writeFileSync(join(app, 'sink.json'), JSON.stringify({ name: 'to-file', config: { 'connector.class': 'file-sink', topics: topic, file: out } }));
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const output = [];
  child = spawn(join(app, 'node_modules', '.bin', 'tributary'), ['standalone', '--kafka', kafka, '--listen', `127.0.0.1:${port}`, '--offset-flush-interval', '200', 'source.json', 'sink.json'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c) => output.push(c.toString()));
  child.stderr.on('data', (c) => output.push(c.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  let seen = new Map();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tributary standalone exited with ${child.exitCode}:\n${output.join('').slice(-3000)}`);
    const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
    seen = new Map();
    for (const line of lines) {
      const { partition, seq } = JSON.parse(line);
      const key = `${partition}/${seq}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    if (seen.size >= 2 * perPartition) break;
    if (Date.now() > deadline) throw new Error(`after 60 s the sink file holds ${seen.size} of ${2 * perPartition} records:\n${output.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const status = execFileSync(join(app, 'node_modules', '.bin', 'tributary'), ['connectors', 'status', 'numbers', '--server', `127.0.0.1:${port}`], { cwd: app, encoding: 'utf8' });
  assert.match(status, /RUNNING/, status);
  child.kill('SIGTERM');
  const { code } = await exited;
  child = undefined;
  assert.equal(code, 0, `tributary standalone exited with ${code} on SIGTERM:\n${output.join('').slice(-3000)}`);
  let missing = 0;
  for (const p of ['p0', 'p1']) for (let s = 0; s < perPartition; s++) if (!seen.has(`${p}/${s}`)) missing++;
  const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
  log(`tributary standalone: ${seen.size} records in the file sink, ${missing} missing, ${duplicates} duplicates; SIGTERM exit ${code}`);
  assert.equal(missing, 0);
  assert.equal(seen.size, 2 * perPartition, 'the source emits max.records per partition and no more');
  assert.ok(existsSync(join(app, 'tributary-standalone.json')), 'standalone keeps its state file in the working directory');
  log('ok');
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
