#!/usr/bin/env node
// Startup figure for a worker: runs `<command…> worker --listen 127.0.0.1:<free port> …` and
// exits as soon as the worker logs "worker started" (bound, registered in etcd, campaigning),
// killing it by PID. Time it as a whole process (e.g. `/usr/bin/time`) to compare builds:
//   node scripts/time-to-started.mjs node bin/tributary.js
// It reads the Kafka and etcd addresses from KAFKA_BOOTSTRAP / ETCD_ENDPOINTS.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const command = process.argv.slice(2);
if (command.length === 0) throw new Error('usage: time-to-started.mjs <command> [args…]');
const { KAFKA_BOOTSTRAP: kafka, ETCD_ENDPOINTS: etcd } = process.env;
if (!kafka || !etcd) throw new Error('set KAFKA_BOOTSTRAP and ETCD_ENDPOINTS (see deploy/local/up.sh)');

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const child = spawn(command[0], [...command.slice(1), 'worker', '--cluster', `startup-${process.pid}`, '--etcd', etcd, '--kafka', kafka, '--listen', `127.0.0.1:${port}`], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
});
let seen = '';
const onData = (chunk) => {
  seen += chunk.toString();
  if (seen.includes('"worker started"')) {
    child.kill('SIGKILL');
    process.exit(0);
  }
};
child.stdout.on('data', onData);
child.stderr.on('data', onData);
child.on('exit', (code) => {
  console.error(`the worker exited (${code}) before it started:\n${seen.slice(-2000)}`);
  process.exit(1);
});
