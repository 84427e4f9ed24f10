/**
 * Security through a real worker's Admin API (etcd + Kafka): file connectors confined to the
 * worker's allowed.paths, and bearer-token roles on the Admin API, each asserted with the gRPC
 * status the caller gets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '../../src/errors.js';
import { AdminAuthenticator, AdminClient, makePrincipal, type Principal } from '../../src/admin/index.js';
import { services } from '../support/services.js';
import { startRestWorker, type RestWorker } from '../support/rest-worker.js';
import { uniqueName } from '../support/kafka.js';

let w: RestWorker;
let secured: RestWorker;
const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789', admin: 'admin-token-0123456789' };
const audit: Array<Record<string, unknown>> = [];
const outside = mkdtempSync(join('/var/tmp', 'tributary-outside-'));

before(async () => {
  const s = await services();
  w = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap });
  const tokens = new Map<string, Principal>([
    [TOKENS.viewer, makePrincipal('vera', [{ role: 'viewer' }], 'token')],
    [TOKENS.operator, makePrincipal('otto', [{ role: 'operator' }], 'token')],
    [TOKENS.admin, makePrincipal('ada', [{ role: 'admin' }], 'token')],
  ]);
  const auditLogger = { info: (fields: Record<string, unknown>) => audit.push(fields) } as unknown as import('pino').Logger;
  secured = await startRestWorker({ etcdEndpoints: s.etcdEndpoints, kafkaBootstrap: s.kafkaBootstrap, auth: new AdminAuthenticator({ tokens }, auditLogger) });
  await Promise.all([w.started, secured.started]);
});

after(async () => {
  await w?.stop();
  await secured?.stop();
  rmSync(outside, { recursive: true, force: true });
});

test('a file-sink outside allowed.paths is refused with INVALID_ARGUMENT naming "file", and nothing is created', async () => {
  const name = uniqueName('confined');
  const target = join(outside, 'out.txt');
  await assert.rejects(
    w.admin.connectors.create(name, { 'connector.class': 'file-sink', topics: `${name}-t`, file: target }),
    (err: unknown) => err instanceof InvalidArgumentError && err.code === 'INVALID_ARGUMENT' && err.problems.some((p) => p.key === 'file' && /outside the worker's allowed.paths/.test(p.message)),
  );
  // The same through the FileStreamSink alias and a `..` that climbs out of the allowed directory.
  await assert.rejects(
    w.admin.connectors.create(name, { 'connector.class': 'FileStreamSink', topics: `${name}-t`, file: join(tmpdir(), '..', outside, 'out.txt') }),
    (err: unknown) => err instanceof InvalidArgumentError && err.problems.some((p) => p.key === 'file'),
  );
  assert.equal(existsSync(target), false);
  assert.equal((await w.admin.connectors.list()).includes(name), false, 'no connector was stored');
  // Inside the allowed directory (the OS temp directory here) the same config is accepted.
  const dir = mkdtempSync(join(tmpdir(), 'tributary-allowed-'));
  try {
    await w.admin.connectors.create(name, { 'connector.class': 'file-sink', topics: `${name}-t`, file: join(dir, 'out.txt') }, { initialState: 'STOPPED' });
    await w.admin.connectors.delete(name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admin roles: no or a bad token is UNAUTHENTICATED; a viewer cannot create; an operator can pause but not delete', async () => {
  const client = (token?: string) => new AdminClient(secured.node.self.address, { timeoutMs: 20_000, token });
  const [anonymous, forged, viewer, operator, admin] = [client(), client('not-a-known-token-at-all'), client(TOKENS.viewer), client(TOKENS.operator), client(TOKENS.admin)];
  try {
    const name = uniqueName('authz');
    const config = { 'connector.class': 'verifiable-source', topic: `${name}-t`, 'topic.creation.default.partitions': '1' };
    await assert.rejects(anonymous.connectors.list(), (err: unknown) => err instanceof UnauthenticatedError && err.code === 'UNAUTHENTICATED' && /bearer token/.test(err.message));
    await assert.rejects(forged.connectors.list(), (err: unknown) => err instanceof UnauthenticatedError && /not valid/.test(err.message));
    assert.deepEqual(await viewer.connectors.list(), [], 'a viewer reads');
    await assert.rejects(viewer.connectors.create(name, config, { initialState: 'STOPPED' }), (err: unknown) => err instanceof PermissionDeniedError && err.code === 'PERMISSION_DENIED' && /"admin"/.test(err.message));
    await assert.rejects(operator.connectors.create(name, config, { initialState: 'STOPPED' }), (err: unknown) => err instanceof PermissionDeniedError);
    assert.deepEqual(await viewer.connectors.list(), [], 'nothing was created');
    await admin.connectors.create(name, config, { initialState: 'STOPPED' });
    await operator.connectors.pause(name);
    assert.equal((await viewer.connectors.get(name)).targetState, 'PAUSED');
    await assert.rejects(viewer.connectors.pause(name), (err: unknown) => err instanceof PermissionDeniedError && /"operator"/.test(err.message));
    await assert.rejects(operator.connectors.delete(name), (err: unknown) => err instanceof PermissionDeniedError && /deleteConnector needs the role "admin"; principal "otto"/.test(err.message));
    await admin.connectors.delete(name);
    // One audit line per permitted write, naming who, what and which connector; none for reads or refusals.
    assert.deepEqual(
      audit.map((a) => [a['principal'], a['call'], a['connector']]),
      [
        ['ada', 'createConnector', name],
        ['otto', 'pauseConnector', name],
        ['ada', 'deleteConnector', name],
      ],
    );
  } finally {
    for (const c of [anonymous, forged, viewer, operator, admin]) c.close();
  }
});
