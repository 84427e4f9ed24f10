/**
 * Where the real Kafka and etcd for integration tests live.
 *
 * 1. `KAFKA_BOOTSTRAP` / `ETCD_ENDPOINTS` (comma separated) from the environment, if set;
 * 2. else the `env` file that deploy/local/up.sh writes into its state dir
 *    (`$TRIBUTARY_LOCAL_DIR`, default ~/.cache/tributary/local), if its services answer;
 * 3. else runs `bash deploy/local/up.sh` once per process and reads that file.
 *
 * Node built-ins only. See docs/local-services.md.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Services {
  /** Kafka bootstrap servers, `host:port[,host:port...]`. */
  kafkaBootstrap: string;
  /** etcd client URLs, e.g. `['http://127.0.0.1:12379']`. */
  etcdEndpoints: string[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const upScript = join(repoRoot, 'deploy', 'local', 'up.sh');

export function localStateDir(): string {
  return process.env.TRIBUTARY_LOCAL_DIR || join(homedir(), '.cache', 'tributary', 'local');
}

let cached: Promise<Services> | undefined;

/** Kafka and etcd addresses for tests; starts the local services at most once per process. */
export async function services(): Promise<Services> {
  cached ??= resolveServices();
  return cached;
}

async function resolveServices(): Promise<Services> {
  const fromEnv = { kafka: process.env.KAFKA_BOOTSTRAP, etcd: process.env.ETCD_ENDPOINTS };
  if (fromEnv.kafka && fromEnv.etcd) return toServices(fromEnv.kafka, fromEnv.etcd);

  let file = await readEnvFile();
  let kafka = fromEnv.kafka || file.KAFKA_BOOTSTRAP;
  let etcd = fromEnv.etcd || file.ETCD_ENDPOINTS;
  // A stale env file (services killed without down.sh) must not hand out dead addresses.
  const fileOk =
    kafka !== undefined &&
    etcd !== undefined &&
    (fromEnv.kafka !== undefined || (await anyReachable(kafka))) &&
    (fromEnv.etcd !== undefined || (await anyReachable(etcd)));
  if (!fileOk) {
    await runUp();
    file = await readEnvFile();
    kafka = fromEnv.kafka || file.KAFKA_BOOTSTRAP;
    etcd = fromEnv.etcd || file.ETCD_ENDPOINTS;
  }
  if (!kafka || !etcd) {
    throw new Error(`deploy/local/up.sh ran but ${join(localStateDir(), 'env')} lacks KAFKA_BOOTSTRAP/ETCD_ENDPOINTS`);
  }
  return toServices(kafka, etcd);
}

function toServices(kafka: string, etcd: string): Services {
  return {
    kafkaBootstrap: kafka.trim(),
    etcdEndpoints: etcd.split(',').map((s) => s.trim()).filter(Boolean),
  };
}

/** The variables of the state dir's `env` file (empty when it does not exist). */
export async function readEnvFile(): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(join(localStateDir(), 'env'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim();
  }
  return vars;
}

/** True if any `host:port` or URL in the comma-separated list accepts a TCP connection. */
export async function anyReachable(list: string): Promise<boolean> {
  const checks = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const url = new URL(item.includes('://') ? item : `tcp://${item}`);
      return tcpOpen(url.hostname, Number(url.port));
    });
  return (await Promise.all(checks)).some(Boolean);
}

function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    if (!port) return resolve(false);
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Runs `bash deploy/local/up.sh` (idempotent). */
export function runUp(): Promise<void> {
  return new Promise((resolve, reject) => {
    // The script's progress goes to our stderr: stdout may be the test runner's protocol.
    const child = spawn('bash', [upScript], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`bash ${upScript} failed (${signal ?? `exit ${code}`}); see its output above`));
    });
  });
}
