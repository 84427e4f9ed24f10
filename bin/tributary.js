#!/usr/bin/env -S node --max-semi-space-size=64
// The `tributary` command. An installed package runs the compiled release in dist/ (built by
// `npm run build`, shipped in the tarball, with source maps so stack traces name src/ lines).
// A source checkout (src/cli.ts present, as after `git clone && npm ci`) runs the TypeScript
// sources through tsx, a devDependency, so what runs is always what was edited: no build step,
// no stale dist/. A larger young generation (64 MiB semi-spaces) cuts the garbage collection
// that records in flight cause: about -17% CPU per record on the source pipeline
// (docs/performance.md).
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli.ts', import.meta.url);
if (existsSync(sources)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('error: this is a source checkout but tsx (a devDependency) is not installed: run `npm ci`, or run the compiled release with `npm run build && node dist/cli.js`');
    process.exit(1);
  }
  register();
  await import(sources.href);
} else {
  process.setSourceMapsEnabled(true);
  await import('../dist/cli.js');
}
