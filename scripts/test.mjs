#!/usr/bin/env node
// Runs the test suites with node's built-in runner. Suites that need Kafka and etcd get them
// from deploy/local (started once for the whole run and stopped again if this run started
// them), or from KAFKA_BOOTSTRAP / ETCD_ENDPOINTS when those point at existing clusters.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// conformance: the plugin conformance suite (TypeScript, Python and Go plugins; no services).
// browser: the web console in Chromium against a three-worker cluster (needs the built UI, made first).
const all = ['unit', 'conformance', 'integration', 'browser', 'cluster'];
const withoutServices = new Set(['unit', 'conformance']);
const suites = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const s of suites) if (!all.includes(s)) throw new Error(`unknown suite "${s}"; use one of ${all.join(', ')}`);

function testFiles(suite) {
  const dir = join(root, 'test', suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((f) => String(f).endsWith('.test.ts'))
    .map((f) => relative(root, join(dir, String(f))))
    .sort();
}

function run(cmd, args, env = process.env) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  return result.status ?? 1;
}

const needsServices = suites.some((s) => !withoutServices.has(s) && testFiles(s).length > 0);
let startedServices = false;
const env = { ...process.env };
if (needsServices && !(env.KAFKA_BOOTSTRAP && env.ETCD_ENDPOINTS)) {
  const alreadyUp = spawnSync('bash', ['deploy/local/status.sh'], { cwd: root, stdio: 'ignore' }).status === 0;
  if (run('bash', ['deploy/local/up.sh']) !== 0) {
    console.error('could not start Kafka and etcd on loopback; see the output above (deploy/local/up.sh)');
    process.exit(1);
  }
  startedServices = !alreadyUp && env.TRIBUTARY_KEEP_SERVICES !== '1';
  const stateDir = env.TRIBUTARY_LOCAL_DIR ?? join(homedir(), '.cache', 'tributary', 'local');
  for (const line of readFileSync(join(stateDir, 'env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
}

let status = 0;
const totals = { pass: 0, fail: 0, skipped: 0 };
const tapDir = mkdtempSync(join(tmpdir(), 'tributary-tap-'));
try {
  for (const suite of suites) {
    const files = testFiles(suite);
    if (files.length === 0) continue;
    console.log(`\n=== ${suite} tests (${files.length} files)${withoutServices.has(suite) ? '' : ` against Kafka ${env.KAFKA_BOOTSTRAP} and etcd ${env.ETCD_ENDPOINTS}`} ===`);
    // Integration and cluster files share one broker on a 2-core machine: run them one at a time.
    const concurrency = suite === 'unit' ? '2' : '1';
    if (suite === 'browser' && run('npm', ['run', '--silent', 'build:ui']) !== 0) {
      status = 1;
      continue;
    }
    const tap = join(tapDir, `${suite}.tap`);
    // --test-force-exit (suites with services): a file whose tests all finished must not hold the
    // suite open. The self-fencing test's process sometimes stays busy after its teardown
    // completed (root cause open, see the round's closing note), which hung CI for good. Not for
    // unit tests: on Node 20 it cuts the TAP file short and the summary counts nothing.
    const forceExit = suite === 'unit' ? [] : ['--test-force-exit'];
    const code = run(process.execPath, ['--conditions=tributary-source', '--import', 'tsx', '--test', ...forceExit, `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files], env);
    if (code !== 0) status = code;
    const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
    for (const key of Object.keys(totals)) totals[key] += Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
  }
} finally {
  rmSync(tapDir, { recursive: true, force: true });
  if (startedServices) run('bash', ['deploy/local/down.sh']);
}
console.log(`\nall suites: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
console.log(`${totals.pass} passed, ${totals.fail} failed`);
process.exit(status);
