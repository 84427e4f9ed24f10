/**
 * `npm run bench`: the side-by-side and PostgreSQL benches (arguments passed on, e.g. --quick);
 * `npm run bench -- --scale [--scale-connectors N …]`: only the scale step (test/bench/scale.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.includes('--scale')) {
  const { runScaleBench } = await import('./scale.js');
  await runScaleBench();
} else {
  for (const file of ['side-by-side.ts', 'postgres.ts']) {
    const { status } = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], { stdio: 'inherit' });
    if (status !== 0) process.exit(status ?? 1);
  }
}
