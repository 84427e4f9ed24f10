/**
 * The release and the deployment manifests, run as a user would run them, against the real
 * Kafka and etcd: scripts/check-pack.mjs (npm pack, install into an empty directory, npx
 * tributary --help, tributary standalone counting records) and scripts/check-deploy.ts (the
 * command lines of deploy/compose, deploy/helm and deploy/systemd started as processes). Each
 * script asserts its own counts; this test runs them and fails with their output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { services } from '../support/services.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function script(args: string[]): Promise<{ code: number | null; output: string }> {
  const s = await services();
  const env = { ...process.env, KAFKA_BOOTSTRAP: s.kafkaBootstrap, ETCD_ENDPOINTS: s.etcdEndpoints.join(',') };
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    process.stdout.write(c.toString().split('\n').filter((l) => l.startsWith('[')).map((l) => `${l}\n`).join(''));
  });
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

test('npm pack: the tarball installs into an empty directory; npx tributary --help and tributary standalone work', { timeout: 600_000 }, async () => {
  const { code, output } = await script(['scripts/check-pack.mjs']);
  assert.equal(code, 0, output.slice(-4000));
  assert.match(output, /records in the file sink, 0 missing, 0 duplicates; SIGTERM exit 0/);
});

test('deploy/: the Compose, chart and systemd command lines run as processes; every worker drains on SIGTERM', { timeout: 600_000 }, async () => {
  const { code, output } = await script(['--import', 'tsx', 'scripts/check-deploy.ts']);
  assert.equal(code, 0, output.slice(-4000));
  assert.match(output, /compose demo connectors: .* records in the sink, no gaps/);
  assert.match(output, /every worker drained and exited 0 on SIGTERM/);
});
