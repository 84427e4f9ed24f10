/**
 * The OpenAPI document kept in the repo (src/admin/rest/openapi.json) describes every route the
 * REST layer and the HTTP server register, and nothing else; and errors map to Kafka Connect's
 * status codes and `{"error_code","message"}` bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { connectRestPlugin, openApiDocument, taskIds, type RestAdmin } from '../../src/admin/index.js';
import { toRestError } from '../../src/admin/rest/errors.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../src/errors.js';
import { HttpServer, PrometheusMetrics, WorkerHealth } from '../../src/observability/index.js';

test('the OpenAPI document lists exactly the routes that are served', async () => {
  const server = new HttpServer({ listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), metrics: new PrometheusMetrics({ processMetrics: false }), health: new WorkerHealth() });
  const served = new Set<string>();
  server.app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') served.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
  });
  server.register({ plugin: connectRestPlugin({ admin: {} as RestAdmin, version: 'test' }) });
  await server.app.ready();
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
  assert.deepEqual([...served].sort(), [...documented].sort());
  await server.stop();
});

test('errors map to Kafka Connect status codes with {error_code, message}', () => {
  assert.deepEqual(toRestError(new NotFoundError('no such connector')), { status: 404, body: { error_code: 404, message: 'no such connector' } });
  assert.equal(toRestError(new AlreadyExistsError('x')).status, 409);
  assert.equal(toRestError(new InvalidArgumentError('bad', [{ key: 'topic', message: 'is required' }])).status, 400);
  assert.equal(toRestError(new FailedPreconditionError('running')).status, 409);
  assert.equal(toRestError(new FailedPreconditionError('running'), { FAILED_PRECONDITION: 400 }).status, 400);
  assert.equal(toRestError(new UnavailableError('no leader')).status, 503);
  assert.equal(toRestError(Object.assign(new Error('who are you'), { statusCode: 401 })).status, 401);
  assert.equal(toRestError(new Error('bug')).status, 500);
});

test('task ids follow the natural order of partition ids, so adding a later partition keeps existing ids', () => {
  assert.deepEqual(taskIds(['p10', 'p2', 'p1']), ['p1', 'p2', 'p10']);
  const before = taskIds(['orders-0', 'orders-1', 'orders-9']);
  const after = taskIds(['orders-10', 'orders-0', 'orders-9', 'orders-1']);
  assert.deepEqual(after.slice(0, before.length), before);
});
