/**
 * The plugin conformance suite (harness.ts) against the example plugins of every SDK: the
 * TypeScript verifiable source and sink, the Python SQLite source (sdks/python) and the Go
 * SQLite sink (sdks/go). scripts/sdk-build.sh builds the Python venv and the Go binary (cached).
 * Needs no Kafka or etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conformanceCases, endsTheProcess, PluginProcess, type Subject } from './harness.js';
import { sdkBuild, sqliteRows, sqliteSourceFixture } from '../support/sdks.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tributary-conformance-'));
const tsx = (main: string) => ({ command: process.execPath, args: ['--import', 'tsx', join(root, main)], cwd: root });

function subjects(): Subject[] {
  const build = sdkBuild();
  const sourceDb = join(work, 'source.db');
  sqliteSourceFixture(build.python, sourceDb, { conformance: 20, other: 3 });
  const sinkDb = join(work, 'sink.db');
  const sinkFile = join(work, 'verifiable-sink.jsonl');
  return [
    {
      kind: 'source',
      label: 'TypeScript verifiable-source',
      ...tsx('src/connectors/verifiable-source/main.ts'),
      config: { topic: 't', partitions: '2', 'max.records': '20' },
      partition: 'p0',
      records: 20,
      malformedOffset: Buffer.from('not-a-seq'),
    },
    {
      kind: 'sink',
      label: 'TypeScript verifiable-sink',
      ...tsx('src/connectors/verifiable-sink/main.ts'),
      config: { 'output.file': sinkFile },
      stored: async (topic, partition) => {
        if (!existsSync(sinkFile)) return [];
        return readFileSync(sinkFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { topic?: string; partition?: number; offset?: number; durable?: number })
          .filter((l) => l.durable === undefined && l.topic === topic && l.partition === partition)
          .map((l) => l.offset!);
      },
    },
    {
      kind: 'source',
      label: 'Python sqlite-source',
      command: build.python,
      args: [join(root, 'examples/python-sqlite-source/sqlite_source.py')],
      cwd: join(root, 'examples/python-sqlite-source'),
      config: { topic: 't', database: sourceDb, 'poll.interval.ms': '100' },
      partition: 'conformance',
      records: 20,
      malformedOffset: Buffer.from('row-seven'),
    },
    {
      kind: 'sink',
      label: 'Go sqlite-sink',
      command: build.goSqliteSink,
      cwd: join(root, 'examples/go-sqlite-sink'),
      config: { database: sinkDb },
      stored: async (topic, partition) =>
        sqliteRows(build.python, sinkDb, 'SELECT kafka_offset FROM records WHERE topic = ? AND kafka_partition = ? ORDER BY kafka_offset', [topic, partition]).map((r) => Number(r[0])),
    },
  ];
}

const all = subjects();
after(() => rmSync(work, { recursive: true, force: true }));

for (const subject of all) {
  describe(`plugin conformance: ${subject.label}`, { timeout: 120_000 }, () => {
    let shared: PluginProcess | undefined;
    const own: PluginProcess[] = [];
    before(async () => {
      shared = await PluginProcess.start(subject);
    });
    after(async () => {
      await Promise.all([shared, ...own].map((p) => p?.kill()));
    });
    for (const [name, run] of conformanceCases(subject)) {
      test(name, async () => {
        if (endsTheProcess(name)) {
          await run(async () => {
            const p = await PluginProcess.start(subject);
            own.push(p);
            return p;
          });
        } else {
          await run(async () => shared!);
          assert.ok(shared!.alive(), `the plugin is still running; stderr:\n${shared!.stderr.join('\n')}`);
        }
      });
    }
  });
}
