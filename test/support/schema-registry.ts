/**
 * A real schema registry for tests: Conduit's Confluent-compatible registry
 * (deploy/local/schema-registry, built once per source hash by its build.sh), in memory, on a
 * free loopback port, optionally requiring HTTP Basic credentials. Stopped by its PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const buildScript = fileURLToPath(new URL('../../deploy/local/schema-registry/build.sh', import.meta.url));

export interface RegistryProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/** Builds the registry if needed (minutes on a cold Go cache) and returns the binary's path. */
export function buildSchemaRegistry(): string {
  const result = spawnSync('bash', [buildScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  if (result.status !== 0) throw new Error(`schema-registry build.sh failed with ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

export async function startSchemaRegistry(options: { basicAuth?: string } = {}): Promise<RegistryProcess> {
  const bin = buildSchemaRegistry();
  const args = ['-addr', '127.0.0.1:0', ...(options.basicAuth ? ['-basic-auth', options.basicAuth] : [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-4000)));
  const exited = once(child, 'exit');
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`schema registry did not start within 30 s: ${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`schema registry exited at start: ${stderr}`));
    });
  });
  return {
    url: `http://${address}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}
