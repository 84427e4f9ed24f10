#!/usr/bin/env node
// Fails when src/gen is not what `npm run gen` produces from proto/ (someone changed a .proto
// without regenerating, or edited generated code by hand).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = mkdtempSync(join(tmpdir(), 'tributary-gen-'));
try {
  execFileSync('npx', ['buf', 'generate', '--output', out], { stdio: 'inherit' });
  const diff = spawnSync('diff', ['-r', join(out, 'src', 'gen'), 'src/gen'], { encoding: 'utf8' });
  if (diff.status !== 0) {
    console.error(diff.stdout || diff.stderr);
    console.error('src/gen is stale: run `npm run gen` and commit the result.');
    process.exit(1);
  }
  console.log('src/gen is up to date with proto/');
} finally {
  rmSync(out, { recursive: true, force: true });
}
