/**
 * The real PostgreSQL for integration tests, and a fresh database per test.
 *
 * The server is found like Kafka and etcd (services.ts): `PG_URL` from the environment, else the
 * `env` file of deploy/local/up.sh if that server answers, else `up.sh` is run once per process.
 * `freshDatabase()` creates an empty database with a unique name on it; `drop()` removes it,
 * after ending every session (replication ones included) and dropping the database's logical
 * replication slots, which would otherwise block `DROP DATABASE`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { eventually } from './eventually.js';
import { anyReachable, readEnvFile, runUp } from './services.js';

let cached: Promise<string> | undefined;

/** The URL of the test server's `postgres` database (a superuser connection). */
export function postgresUrl(): Promise<string> {
  cached ??= resolveUrl();
  return cached;
}

async function resolveUrl(): Promise<string> {
  if (process.env.PG_URL) return process.env.PG_URL;
  const hostPort = (url: string) => `${new URL(url).hostname}:${new URL(url).port || 5432}`;
  let url = (await readEnvFile()).PG_URL;
  if (!url || !(await anyReachable(hostPort(url)))) {
    await runUp();
    url = (await readEnvFile()).PG_URL;
  }
  if (!url) throw new Error('deploy/local/up.sh ran but its env file lacks PG_URL');
  return url;
}

export interface FreshDatabase {
  /** The database's name (`t_<hex>`). */
  name: string;
  /** A connection URL for it, as the same user as `PG_URL`. */
  url: string;
  /** Runs one statement on it (a short-lived connection). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Ends its sessions, drops its replication slots, drops it. Idempotent. */
  drop(): Promise<void>;
}

/** Creates an empty database for one test. */
export async function freshDatabase(prefix = 't'): Promise<FreshDatabase> {
  const serverUrl = await postgresUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${name}`;
  const url = dbUrl.toString();
  let dropped = false;
  return {
    name,
    url,
    query: (sql, params) => withClient(url, (c) => c.query(sql, params)),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        // A slot's walsender may take a moment to exit after its backend is terminated.
        await eventually(
          async () => {
            await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [name]);
            return true;
          },
          { timeoutMs: 10_000, message: `dropping the replication slots of ${name}` },
        );
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
