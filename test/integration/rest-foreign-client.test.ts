/**
 * The Kafka Connect REST API driven by published Kafka Connect REST clients that are not ours
 * (issue 22): `kafka-connect-py` 1.0.0 (PyPI's most used one) for the connector lifecycle and
 * `bkkt` 0.1.0a1's ConnectClient for KIP-875 offsets, which kafka-connect-py lacks. Both are
 * pinned in test/fixtures/rest/foreign-clients/requirements.txt and installed by
 * scripts/rest-clients-build.sh into a cached venv. A real worker (etcd, Kafka) answers; the
 * records in Kafka are counted by sequence number to check what the offsets calls say.
 *
 * create → status → pause → (PAUSED) → offsets → stop → offsets altered → resume (the source
 * resumes after the altered offset: the records after it are in Kafka twice) → delete.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually } from '../support/eventually.js';
import { countSeqs, readTopic, uniqueName } from '../support/data-plane.js';
import { services } from '../support/services.js';
import { startRestWorker, type RestWorker } from '../support/rest-worker.js';

type Answer = { result?: unknown; error?: { type: string; status: number | null; message: string } };

/** One long-lived Python process (drive.py) calling the published clients, one JSON line per call. */
class ForeignClients {
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  private stderr = '';

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Calls `method` of `client` with `args`; the answer is {result} or {error} as drive.py reports it. */
  call(client: 'kafka-connect-py' | 'bkkt', method: string, ...args: unknown[]): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`drive.py exited:\n${this.stderr}`));
      this.child.once('exit', onExit);
      this.waiting.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as Answer);
      });
      this.child.stdin.write(`${JSON.stringify({ client, method, args })}\n`);
    });
  }

  /** The result of a call that must succeed. */
  async ok(client: 'kafka-connect-py' | 'bkkt', method: string, ...args: unknown[]): Promise<unknown> {
    const a = await this.call(client, method, ...args);
    if (a.error) throw new Error(`${client}.${method} failed: ${a.error.type} ${a.error.status ?? ''} ${a.error.message}`);
    return a.result;
  }

  close(): void {
    this.lines.close();
    this.child.stdin.end();
    this.child.kill();
  }
}

type Status = { name: string; connector: { state: string; worker_id: string }; tasks: Array<{ id: number; state: string; worker_id: string }>; type: string };
type Offsets = { offsets: Array<{ partition: { partition: string }; offset: { offset: string } }> };

let w: RestWorker;
let brokers: string[];
let py: ForeignClients;

before(async () => {
  const s = await services();
  brokers = s.kafkaBootstrap.split(',');
  // CI exports the venv's python (.ci/run); elsewhere the same cached build runs here.
  let python = process.env.TRIBUTARY_REST_CLIENT_PYTHON;
  if (!python) {
    const script = fileURLToPath(new URL('../../scripts/rest-clients-build.sh', import.meta.url));
    const { stdout } = await promisify(execFile)('bash', [script], { encoding: 'utf8', timeout: 300_000 });
    python = /^TRIBUTARY_REST_CLIENT_PYTHON=(.+)$/m.exec(stdout)?.[1];
    assert.ok(python, `rest-clients-build.sh printed no python: ${stdout}`);
  }
  w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap });
  await w.started;
  await eventually(() => w.health.status().serving, { timeoutMs: 20_000, message: 'the worker joined its cluster' });
  const drive = fileURLToPath(new URL('../fixtures/rest/foreign-clients/drive.py', import.meta.url));
  py = new ForeignClients(spawn(python, [drive, w.url], { stdio: ['pipe', 'pipe', 'pipe'] }));
});

after(async () => {
  py?.close();
  await w?.stop();
});

const offsetsOf = (o: Offsets) => new Map(o.offsets.map((e) => [e.partition.partition, Number(e.offset.offset)]));

test('kafka-connect-py and bkkt drive create → status → pause → offsets → resume → delete', { timeout: 240_000 }, async () => {
  const name = uniqueName('foreign');
  const topic = uniqueName('foreign-topic');
  const config = { 'connector.class': 'verifiable-source', topic, partitions: '2', 'records.per.second': '100', 'topic.creation.default.partitions': '2' };

  const info = (await py.ok('kafka-connect-py', 'get_cluster_info')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(info).sort(), ['commit', 'kafka_cluster_id', 'version']);

  // kafka-connect-py posts its argument as the body: {name, config}.
  assert.deepEqual(await py.ok('kafka-connect-py', 'create_connector', { name, config }), { name, config: { ...config, name }, tasks: [], type: 'source' });
  const duplicate = await py.call('kafka-connect-py', 'create_connector', { name, config });
  assert.equal(duplicate.error?.type, 'HTTPError');
  assert.equal(duplicate.error?.status, 409);
  assert.ok(((await py.ok('kafka-connect-py', 'list_connectors')) as string[]).includes(name));

  const running = (await eventually(async () => {
    const s = (await py.ok('kafka-connect-py', 'get_connector_status', name)) as Status;
    return s.connector.state === 'RUNNING' && s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING') ? s : undefined;
  }, { timeoutMs: 30_000, message: 'kafka-connect-py sees the connector and both tasks RUNNING' }))!;
  assert.deepEqual(running, { name, connector: { state: 'RUNNING', worker_id: 'w1' }, tasks: [{ id: 0, state: 'RUNNING', worker_id: 'w1' }, { id: 1, state: 'RUNNING', worker_id: 'w1' }], type: 'source' });
  // bkkt parses the same answer into its own model.
  const parsed = (await py.ok('bkkt', 'get_status', name)) as { name: string; connector_state: string; worker_id: string; task_states: string[] };
  assert.deepEqual([parsed.name, parsed.connector_state, parsed.worker_id, parsed.task_states], [name, 'RUNNING', 'w1', ['RUNNING', 'RUNNING']]);
  const expanded = (await py.ok('kafka-connect-py', 'list_connectors', 'status', null, 'running')) as Record<string, { status: Status }>;
  assert.equal(expanded[name]?.status.connector.state, 'RUNNING', 'kafka-connect-py filters ?expand=status by state');
  const tasks = (await py.ok('kafka-connect-py', 'list_connector_tasks', name)) as Array<{ id: { connector: string; task: number } }>;
  assert.deepEqual(tasks.map((t) => t.id), [{ connector: name, task: 0 }, { connector: name, task: 1 }]);
  assert.deepEqual(await py.ok('kafka-connect-py', 'get_connector_task_status', name, 1), { id: 1, state: 'RUNNING', worker_id: 'w1' });

  // Let a few records per partition be committed first, so there is an offset to move back.
  await eventually(async () => {
    const o = offsetsOf((await py.ok('bkkt', 'get_offsets', name)) as Offsets);
    return o.size === 2 && [...o.values()].every((v) => v >= 10);
  }, { timeoutMs: 30_000, message: 'both partitions committed at least 10 records' });

  assert.equal(await py.ok('kafka-connect-py', 'pause_connector', name), null);
  await eventually(async () => {
    const s = (await py.ok('kafka-connect-py', 'get_connector_status', name)) as Status;
    return s.connector.state === 'PAUSED' && s.tasks.every((t) => t.state === 'PAUSED');
  }, { timeoutMs: 30_000, message: 'PAUSED' });
  const whilePaused = (await py.ok('bkkt', 'get_offsets', name)) as Offsets;
  assert.deepEqual(whilePaused.offsets.map((e) => e.partition.partition).sort(), ['p0', 'p1']);
  for (const e of whilePaused.offsets) assert.match(e.offset.offset, /^\d+$/);
  // Altering offsets needs STOPPED, as in Kafka Connect; bkkt reports the 400.
  const early = await py.call('bkkt', 'patch_offsets', name, { offsets: [{ partition: { partition: 'p0' }, offset: { offset: '1' } }] });
  assert.equal(early.error?.type, 'ConnectApiError');
  assert.match(early.error!.message, /HTTP 400/);

  assert.equal(await py.ok('kafka-connect-py', 'stop_connector', name), null);
  await eventually(async () => {
    const s = (await py.ok('kafka-connect-py', 'get_connector_status', name)) as Status;
    return s.connector.state === 'STOPPED' && s.tasks.every((t) => t.state === 'UNASSIGNED');
  }, { timeoutMs: 30_000, message: 'STOPPED and released' });

  // Stopped: every record in Kafka is committed, so each partition's offset is its highest seq there.
  const stopped = offsetsOf((await py.ok('bkkt', 'get_offsets', name)) as Offsets);
  const before = [...(await readTopic(brokers, topic, 1)).values()].flat();
  const seqsBefore = countSeqs(before);
  for (const p of ['p0', 'p1']) {
    assert.deepEqual(seqsBefore.get(p)?.missing, [], `${p}: nothing missing`);
    assert.equal(stopped.get(p), seqsBefore.get(p)!.max, `${p}: the committed offset is the last seq in Kafka`);
  }

  const moveTo = Math.floor(seqsBefore.get('p0')!.max / 2);
  assert.deepEqual(await py.ok('bkkt', 'patch_offsets', name, { offsets: [{ partition: { partition: 'p0' }, offset: { offset: String(moveTo) } }] }), {
    message: 'The offsets for this connector have been altered successfully',
  });
  const altered = offsetsOf((await py.ok('bkkt', 'get_offsets', name)) as Offsets);
  assert.deepEqual([altered.get('p0'), altered.get('p1')], [moveTo, stopped.get('p1')]);

  assert.equal(await py.ok('kafka-connect-py', 'resume_connector', name), null);
  await eventually(async () => ((await py.ok('kafka-connect-py', 'get_connector_status', name)) as Status).connector.state === 'RUNNING', { timeoutMs: 30_000, message: 'RUNNING again' });
  // p0 resumes after the altered offset: it produces moveTo+1 … its old max again, then goes on.
  const oldMax = seqsBefore.get('p0')!.max;
  await eventually(async () => offsetsOf((await py.ok('bkkt', 'get_offsets', name)) as Offsets).get('p0')! > oldMax, { timeoutMs: 60_000, message: 'p0 passed its old last seq' });
  const afterResume = countSeqs([...(await readTopic(brokers, topic, before.length + (oldMax - moveTo))).values()].flat());
  assert.deepEqual(afterResume.get('p0')!.missing, []);
  assert.deepEqual(afterResume.get('p0')!.repeated.sort((a, b) => a - b), Array.from({ length: oldMax - moveTo }, (_, i) => moveTo + 1 + i), 'exactly the seqs after the altered offset came twice');
  assert.deepEqual(afterResume.get('p1')!.repeated, [], 'p1 kept its offset');

  assert.equal(await py.ok('kafka-connect-py', 'delete_connector', name), null);
  const gone = await py.call('kafka-connect-py', 'get_connector', name);
  assert.equal(gone.error?.status, 404);
  assert.equal(await py.ok('bkkt', 'get_config_optional', name), null, 'bkkt reads the 404 as "no such connector"');
  assert.ok(!((await py.ok('kafka-connect-py', 'list_connectors')) as string[]).includes(name));
});
