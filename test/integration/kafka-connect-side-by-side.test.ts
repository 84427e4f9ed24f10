/**
 * The same Kafka Connect connector config run by Apache Kafka Connect 4.1.1 itself
 * (`ConnectStandalone`, jars from test/bench/connect/jars.sh) and by `tributary standalone`, on
 * the same input file: FileStreamSource, JsonConverter with schemas.enable=true for key and
 * value, a chain HoistField$Value → InsertField$Value (static field) → ValueToKey →
 * InsertHeader → RegexRouter guarded by a negated TopicNameMatches predicate, and
 * errors.tolerance=all. Both workers default to StringConverter (the connector's JsonConverter
 * must win over the worker's). Every record's key, value and headers must be byte-identical.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPartitionReader, createTopicAdmin, type FetchedRecord, type PartitionReader, type TopicAdmin } from '../../src/kafka/index.js';
import { kafkaBootstrap, kafkaConn, readUntil, uniqueName } from '../support/kafka.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const LINES = [
  ...Array.from({ length: 300 }, (_, i) => `line ${i} "quoted" \\ é ✓ ${'x'.repeat(i % 17)}`),
  '',
  '\ttab and trailing space ',
  '{"looks":"like json"}',
  '😀 astral',
];

function properties(map: Record<string, string>): string {
  return `${Object.entries(map)
    .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
    .join('\n')}\n`;
}

/** The connector config, as a Kafka Connect user writes it; only the input topic differs per system. */
function connectorConfig(name: string, file: string, topic: string): Record<string, string> {
  return {
    name,
    'connector.class': 'FileStreamSource',
    'tasks.max': '1',
    file,
    topic,
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable': 'true',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'true',
    transforms: 'hoist,insert,key,header,route',
    'transforms.hoist.type': 'org.apache.kafka.connect.transforms.HoistField$Value',
    'transforms.hoist.field': 'line',
    'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.insert.static.field': 'origin',
    'transforms.insert.static.value': 'file',
    'transforms.key.type': 'org.apache.kafka.connect.transforms.ValueToKey',
    'transforms.key.fields': 'origin',
    'transforms.header.type': 'org.apache.kafka.connect.transforms.InsertHeader',
    'transforms.header.header': 'via',
    'transforms.header.value.literal': 'side-by-side',
    'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
    'transforms.route.regex': '(.*)-in',
    'transforms.route.replacement': '$1-out',
    'transforms.route.predicate': 'skipped',
    'transforms.route.negate': 'true',
    predicates: 'skipped',
    'predicates.skipped.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.skipped.pattern': '.*-skip',
    'errors.tolerance': 'all',
    'errors.log.enable': 'true',
  };
}

interface Started {
  child: ChildProcess;
  log: string;
}

function launch(command: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): Started {
  const out = createWriteStream(log);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return { child, log };
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started) return;
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

const bytes = (r: FetchedRecord) => ({
  key: r.key?.toString('hex') ?? null,
  value: r.value?.toString('hex') ?? null,
  headers: r.headers.map((h) => [h.key, h.value?.toString('hex') ?? null]),
});

describe('Kafka Connect 4.1.1 and Tributary write the same bytes for the same connector config', () => {
  const run = uniqueName('sbs');
  const dir = mkdtempSync(join(tmpdir(), 'tributary-side-by-side-'));
  const input = join(dir, 'input.txt');
  let bootstrap: string;
  let admin: TopicAdmin;
  let reader: PartitionReader;
  let connect: Started | undefined;
  let tributary: Started | undefined;

  before(async () => {
    bootstrap = await kafkaBootstrap();
    admin = createTopicAdmin(kafkaConn(bootstrap, `${run}-admin`));
    await admin.start();
    await admin.createTopics(['connect', 'tributary'].flatMap((s) => [`${run}-${s}-in`, `${run}-${s}-out`]).map((name) => ({ name, partitions: 1 })));
    reader = createPartitionReader(kafkaConn(bootstrap, `${run}-reader`));
    await reader.start();
    writeFileSync(input, LINES.map((l) => `${l}\n`).join(''));
  });

  after(async () => {
    await stop(connect);
    await stop(tributary);
    await reader?.stop();
    await admin?.deleteTopics(['connect', 'tributary'].flatMap((s) => [`${run}-${s}-in`, `${run}-${s}-out`])).catch(() => undefined);
    await admin?.stop();
  });

  it('keys, values and headers are byte-identical', async () => {
    // Both workers default to StringConverter: the connector's JsonConverter must win.
    const lib = execFileSync('bash', [join(repoRoot, 'test/bench/connect/jars.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    writeFileSync(
      join(dir, 'worker.properties'),
      properties({
        'bootstrap.servers': bootstrap,
        'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
        'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
        'offset.storage.file.filename': join(dir, 'connect.offsets'),
        'plugin.discovery': 'only_scan',
        listeners: 'http://127.0.0.1:0',
      }),
    );
    writeFileSync(join(dir, 'connect.properties'), properties(connectorConfig(`${run}-connect`, input, `${run}-connect-in`)));
    writeFileSync(join(dir, 'tributary.properties'), properties(connectorConfig(`${run}-tributary`, input, `${run}-tributary-in`)));
    writeFileSync(join(dir, 'worker.json'), JSON.stringify({ 'kafka.bootstrap': bootstrap, 'key.converter': 'org.apache.kafka.connect.storage.StringConverter', 'value.converter': 'org.apache.kafka.connect.storage.StringConverter' }));

    connect = launch('java', ['-Xms64M', '-Xmx512M', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', '-cp', `${lib}/*`, 'org.apache.kafka.connect.cli.ConnectStandalone', join(dir, 'worker.properties'), join(dir, 'connect.properties')], join(dir, 'connect.log'));
    tributary = launch(
      process.execPath,
      [join(repoRoot, 'bin/tributary.js'), 'standalone', '--config', join(dir, 'worker.json'), '--state-file', join(dir, 'state.json'), join(dir, 'tributary.properties')],
      join(dir, 'tributary.log'),
      { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
    );

    const read = async (system: string, started: Started) => {
      try {
        return await readUntil(reader, { topic: `${run}-${system}-out`, partition: 0 }, 0n, { until: (r) => r.length >= LINES.length, timeoutMs: 150_000 });
      } catch (err) {
        throw new Error(`${system}: ${(err as Error).message}\n${readFileSync(started.log, 'utf8').slice(-4000)}`);
      }
    };
    const [fromConnect, fromTributary] = await Promise.all([read('connect', connect), read('tributary', tributary)]);

    assert.equal(fromConnect.length, LINES.length, 'Kafka Connect wrote one record per line');
    // What Kafka Connect wrote is what the chain says (so the comparison is not of two empty topics).
    assert.equal(
      fromConnect[0]!.value!.toString(),
      `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"line"},{"type":"string","optional":true,"field":"origin"}],"optional":false},"payload":{"line":${JSON.stringify(LINES[0])},"origin":"file"}}`,
    );
    assert.equal(fromConnect[0]!.headers.length, 1);
    assert.deepEqual(fromTributary.slice(0, LINES.length).map(bytes), fromConnect.map(bytes));
    // Nothing beyond: Tributary wrote exactly one record per line too.
    assert.deepEqual((await admin.partitionOffsets(`${run}-tributary-out`)).map((p) => p.latest), [BigInt(LINES.length)]);
  });
});
