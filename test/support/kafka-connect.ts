/**
 * The Kafka Connect bridge for tests: builds it (cached by bridges/kafka-connect/build.sh),
 * lays out Kafka Connect plugin directories from Maven Central (cached by install-plugin.sh),
 * and writes `*.plugin.json` files naming the bridge and a connector directory.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bridgeDir = fileURLToPath(new URL('../../bridges/kafka-connect/', import.meta.url));
export const bridgeLauncher = join(bridgeDir, 'bin', 'tributary-kafka-connect');
const cache = process.env.TRIBUTARY_CACHE ?? join(homedir(), '.cache', 'tributary');

function run(script: string, args: string[]): string {
  const result = spawnSync('bash', [join(bridgeDir, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} failed with ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

/** Builds the bridge if needed; returns its cache directory. */
export function buildBridge(): string {
  return run('build.sh', []);
}

/** A Kafka Connect plugin directory holding these Maven artifacts and their dependencies. */
export function connectPluginDir(name: string, ...coordinates: string[]): string {
  return run('install-plugin.sh', [join(cache, 'kafka-connect-plugins', name), ...coordinates]);
}

export const FILE_SOURCE = 'org.apache.kafka.connect.file.FileStreamSourceConnector';
export const FILE_SINK = 'org.apache.kafka.connect.file.FileStreamSinkConnector';
export const CONNECT_FILE = 'org.apache.kafka:connect-file:4.1.1';

/**
 * The bridge is a JVM: on a loaded machine it can take well over the worker's default 10 s to
 * print its handshake, so its plugin files allow two minutes (as docs/kafka-connect-bridge.md advises).
 */
export const BRIDGE_START_TIMEOUT_MS = 120_000;

/** A fresh folder of `*.plugin.json` files, one per connector class, each running the bridge over `pluginDir`. */
export function bridgePluginPath(entries: Array<{ connectorClass: string; pluginDir: string; name?: string; env?: Record<string, string> }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-kc-plugins-'));
  for (const [i, e] of entries.entries()) {
    writeFileSync(
      join(dir, `bridge-${i}.plugin.json`),
      JSON.stringify({ name: e.name ?? e.connectorClass, command: bridgeLauncher, startTimeoutMs: BRIDGE_START_TIMEOUT_MS, args: ['--plugin-dir', e.pluginDir, '--connector-class', e.connectorClass], ...(e.env ? { env: e.env } : {}) }, null, 2),
    );
  }
  return dir;
}

/**
 * A plugin directory with the bridge's test connectors (bridges/kafka-connect/test-connectors),
 * compiled with javac against the bridge's connect-api; cached by the sources' hash.
 */
export function testConnectorsDir(): string {
  const src = join(bridgeDir, 'test-connectors');
  const files = readdirSync(src, { recursive: true }).map(String).filter((f) => statSync(join(src, f)).isFile()).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(src, f)));
  const out = join(cache, 'kafka-connect-plugins', `bridge-test-connectors-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(out, 'test-connectors.jar'))) return out;
  const lib = join(buildBridge(), 'lib');
  const classes = mkdtempSync(join(tmpdir(), 'tributary-kc-classes-'));
  try {
    const javac = spawnSync('javac', ['-d', classes, '-cp', `${lib}/*`, ...files.filter((f) => f.endsWith('.java')).map((f) => join(src, f))], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    if (javac.status !== 0) throw new Error(`javac failed with ${javac.status}`);
    cpSync(join(src, 'META-INF'), join(classes, 'META-INF'), { recursive: true });
    mkdirSync(`${out}.tmp`, { recursive: true });
    const jar = spawnSync('jar', ['cf', join(`${out}.tmp`, 'test-connectors.jar'), '-C', classes, '.'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (jar.status !== 0) throw new Error(`jar failed with ${jar.status}`);
    rmSync(out, { recursive: true, force: true });
    renameSync(`${out}.tmp`, out);
  } finally {
    rmSync(classes, { recursive: true, force: true });
  }
  return out;
}

export const HOSTILE_SOURCE = 'dev.tributary.bridge.testing.HostileSourceConnector';

export const DEBEZIUM_POSTGRES = 'io.debezium.connector.postgresql.PostgresConnector';
/** Debezium's PostgreSQL connector, and connect-json so the bridge can run JsonConverter beside it. */
export const DEBEZIUM_POSTGRES_ARTIFACTS = ['io.debezium:debezium-connector-postgres:3.6.1.Final', 'org.apache.kafka:connect-json:4.1.1'];

/** The bridge's plugin path with Debezium's PostgreSQL connector (built from Maven Central once, cached). */
export function debeziumPostgresPluginPath(): string {
  const dir = connectPluginDir('debezium-postgres-3.6.1.Final', ...DEBEZIUM_POSTGRES_ARTIFACTS);
  return bridgePluginPath([{ connectorClass: DEBEZIUM_POSTGRES, pluginDir: dir }]);
}

/**
 * A Debezium PostgreSQL config as a Kafka Connect user writes it, capturing `public.items` of
 * `database` (a URL; the slot and publication are named after `dbname`) into `topic`, with
 * schemaless JSON keys and values from the bridge's JsonConverter.
 */
export function debeziumPostgresConfig(database: string, dbname: string, prefix: string, topic: string): Record<string, string> {
  const pg = new URL(database);
  const json = 'org.apache.kafka.connect.json.JsonConverter';
  return {
    'connector.class': DEBEZIUM_POSTGRES,
    'database.hostname': pg.hostname,
    'database.port': pg.port,
    'database.user': 'postgres',
    'database.dbname': dbname,
    'topic.prefix': prefix,
    topic,
    'plugin.name': 'pgoutput',
    'slot.name': `slot_${dbname}`,
    'publication.name': `pub_${dbname}`,
    'publication.autocreate.mode': 'filtered',
    'table.include.list': 'public.items',
    'bridge.key.converter': json,
    'bridge.key.converter.schemas.enable': 'false',
    'bridge.value.converter': json,
    'bridge.value.converter.schemas.enable': 'false',
  };
}

export const MIRROR_SOURCE = 'org.apache.kafka.connect.mirror.MirrorSourceConnector';
export const CONNECT_MIRROR = 'org.apache.kafka:connect-mirror:4.1.1';
