/**
 * What the admin CLI prints and which exit code it returns, without a cluster: tables for
 * people, JSON for scripts, errors as one line per problem plus what to do next, and the
 * offsets file formats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { AlreadyExistsError, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../src/errors.js';
import { EXIT, formatConnectorList, formatError, formatOffsets, formatStatus, formatStatusEvent, formatValidation, offsetsJson, renderTable, toJson } from '../../src/cli/output.js';
import { parseOffsetsJson } from '../../src/cli/offset-files.js';
import { DEFAULT_SERVER, serverOf } from '../../src/cli/admin-action.js';
import { fromServiceError, toServiceError } from '../../src/grpc/index.js';
import { toConnectorStatus, type ConnectorStatus } from '../../src/admin/index.js';
import { ConnectorState, ConnectorStatusSchema, PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { ConnectorKind } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { tributaryConnectorKeys } from '../../src/admin/connector-keys.js';
import { workerConnectorKeys } from '../../src/worker/index.js';

const status: ConnectorStatus = {
  name: 'orders',
  state: 'FAILED',
  kind: 'source',
  partitions: [
    { partition: 'p0', state: 'RUNNING', workerId: 'w1', epoch: 3 },
    { partition: 'p1', state: 'FAILED', workerId: 'w2', epoch: 4, error: 'boom' },
  ],
};

test('tables align columns and leave no trailing spaces', () => {
  assert.equal(renderTable(['NAME', 'STATE'], [['a', 'RUNNING'], ['longer-name', '']]), ['NAME         STATE', 'a            RUNNING', 'longer-name'].join('\n'));
});

test('a connector list shows kind, plugin, states, running partitions and workers', () => {
  const out = formatConnectorList([{ info: { name: 'orders', config: {}, targetState: 'RUNNING', kind: 'source', plugin: 'verifiable-source' }, status }]);
  assert.deepEqual(out.split('\n'), ['NAME    KIND    PLUGIN             TARGET   STATE   RUNNING  WORKERS', 'orders  source  verifiable-source  RUNNING  FAILED  1/2      w1,w2']);
  assert.match(formatConnectorList([]), /no connectors; create one with: tributary connectors create -f/);
});

test('a status shows each partition and says how to restart failed ones', () => {
  const out = formatStatus(status);
  assert.match(out, /^connector orders \(source\): FAILED, 1\/2 partitions running/);
  assert.match(out, /p1\s+FAILED\s+w2\s+4\s+boom/);
  assert.match(out, /tributary connectors restart orders --include-tasks --only-failed/);
  assert.match(formatStatus({ name: 's', state: 'STOPPED', kind: 'sink', partitions: [] }), /resume with: tributary connectors resume s/);
});

test('watch lines summarise partitions by state; deletions are marked', () => {
  const at = new Date(2026, 0, 1, 12, 34, 56);
  assert.equal(formatStatusEvent({ connector: 'orders', deleted: false, status }, at), '12:34:56  orders  FAILED  (1 RUNNING, 1 FAILED)');
  assert.equal(formatStatusEvent({ connector: 'orders', deleted: true }, at), '12:34:56  orders  DELETED');
});

test('proto statuses become plain data with state names and numeric epochs', () => {
  const proto = create(ConnectorStatusSchema, { name: 'x', state: ConnectorState.PAUSED, kind: ConnectorKind.SINK, partitions: [{ partition: 't-0', state: PartitionState.PAUSED, workerId: 'w1', epoch: 7n }, { partition: 't-1' }] });
  assert.deepEqual(toConnectorStatus(proto), {
    name: 'x',
    state: 'PAUSED',
    kind: 'sink',
    partitions: [
      { partition: 't-0', state: 'PAUSED', workerId: 'w1', epoch: 7 },
      { partition: 't-1', state: 'UNKNOWN', workerId: '', epoch: 0 },
    ],
  });
});

test('JSON output turns bigints into strings and bytes into base64', () => {
  assert.deepEqual(JSON.parse(toJson({ epoch: 5n, offset: new Uint8Array([0, 255]) })), { epoch: '5', offset: 'AP8=' });
});

test('offsets print as text, or base64 when binary, and round-trip through the alter file format', () => {
  const offsets = [
    { partition: 'p0', offset: new Uint8Array(Buffer.from('41')), text: '41' },
    { partition: 'p1', offset: new Uint8Array([0, 1]) },
  ];
  assert.match(formatOffsets('c', offsets), /p0\s+41\np1\s+base64:AAE=/);
  assert.match(formatOffsets('c', []), /no committed offsets/);
  const back = parseOffsetsJson(JSON.stringify(offsetsJson('c', offsets)), 'get.json');
  assert.equal(back.get('p0'), '41');
  assert.deepEqual(back.get('p1'), new Uint8Array([0, 1]));
});

test('the offsets file: flat maps, numbers as text, null removes, and every malformed entry named', () => {
  assert.deepEqual([...parseOffsetsJson('{"p0": "5", "p1": 7, "p2": null}', 'f')], [['p0', '5'], ['p1', '7'], ['p2', null]]);
  assert.throws(
    () => parseOffsetsJson('{"offsets": [{"partition": ""}, {"partition": "a", "offset": true}, {"partition": "b"}, {"partition": "c", "offset": "1"}, {"partition": "c", "offset": "2"}]}', 'f'),
    (err: unknown) => err instanceof InvalidArgumentError && err.problems.map((p) => p.key).join() === 'offsets[0].partition,offsets[1].offset,offsets[2].offset,offsets[4].partition',
  );
  assert.throws(() => parseOffsetsJson('{}', 'f'), /names no partition/);
  assert.throws(() => parseOffsetsJson('not json', 'f'), /not valid JSON/);
});

test('errors print one line per problem and map to exit codes', () => {
  // As the client sees it: the problems come back through gRPC trailers.
  const sent = new InvalidArgumentError('invalid config for connector "x"', [{ key: 'topic', message: 'is required' }, { key: 'partitions', message: 'must be an integer, got "abc"' }]);
  const received = fromServiceError({ ...toServiceError(sent), message: '' }, 'AdminService.CreateConnector');
  const invalid = formatError(received, DEFAULT_SERVER);
  assert.equal(invalid.exitCode, EXIT.INVALID);
  assert.deepEqual(invalid.text.split('\n').slice(0, 3), ['error: invalid config for connector "x"', '  topic: is required', '  partitions: must be an integer, got "abc"']);
  assert.match(invalid.text, /tributary config validate -f/);

  assert.equal(formatError(new NotFoundError('connector "x" not found'), DEFAULT_SERVER).exitCode, EXIT.NOT_FOUND);
  assert.equal(formatError(new AlreadyExistsError('taken'), DEFAULT_SERVER).exitCode, EXIT.CONFLICT);
  assert.equal(formatError(new FailedPreconditionError('stop it first'), DEFAULT_SERVER).exitCode, EXIT.CONFLICT);
  assert.equal(formatError(new InternalError('bug'), DEFAULT_SERVER).exitCode, EXIT.ERROR);
  assert.equal(formatError(new Error('plain'), DEFAULT_SERVER).exitCode, EXIT.ERROR);
  const down = formatError(new UnavailableError('No connection established'), '10.0.0.1:8083');
  assert.equal(down.exitCode, EXIT.UNAVAILABLE);
  assert.match(down.text, /is a worker running at 10\.0\.0\.1:8083\? point the CLI at one with --server host:port or TRIBUTARY_SERVER/);
});

test('validation results list each problem', () => {
  assert.equal(formatValidation({ plugin: 'p', valid: true, errors: [], configKeys: [], warnings: [] }), 'the config is valid for plugin p');
  assert.equal(formatValidation({ plugin: 'p', valid: false, errors: [{ key: 'topic', message: 'is required' }], configKeys: [], warnings: [] }), 'the config is not valid for plugin p:\n  topic: is required');
  assert.equal(
    formatValidation({ plugin: 'p', valid: true, errors: [], configKeys: [], warnings: [{ key: 'tpoic', message: 'has no effect' }] }),
    'the config is valid for plugin p\n  warning: tpoic: has no effect',
  );
});

test('the server comes from --server, then TRIBUTARY_SERVER, then the default listen address', () => {
  assert.equal(serverOf({ server: 'a:1' }, { TRIBUTARY_SERVER: 'b:2' }), 'a:1');
  assert.equal(serverOf({}, { TRIBUTARY_SERVER: 'b:2' }), 'b:2');
  assert.equal(serverOf({}, {}), '127.0.0.1:8083');
});

test('ValidateConfig documents every connector key Tributary reads', () => {
  assert.deepEqual(tributaryConnectorKeys().map((k) => k.name).sort(), [...workerConnectorKeys].sort());
});
