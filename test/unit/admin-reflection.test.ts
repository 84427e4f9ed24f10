/**
 * Server reflection built from the protobuf-es descriptors, driven in-process (no network):
 * the services are listed, every symbol resolves to its file followed by the imports not yet
 * sent, and the files rebuild a registry a generic client could call with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { ReflectionIndex, reflectionServices } from '../../src/admin/reflection.js';
import { AdminService } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { CoordinatorService } from '../../src/gen/tributary/cluster/v1/cluster_pb.js';
import { Health } from '../../src/gen/grpc/health/v1/health_pb.js';
import { file_tributary_connector_v1_connector } from '../../src/gen/tributary/connector/v1/connector_pb.js';

const index = new ReflectionIndex([AdminService, CoordinatorService, Health, ...reflectionServices], [file_tributary_connector_v1_connector]);

type Req = Parameters<ReflectionIndex['serve']>[0] extends AsyncIterable<infer R> ? R : never;

async function ask(...requests: Req[]) {
  async function* source() {
    yield* requests;
  }
  const out = [];
  for await (const r of index.serve(source())) out.push(r);
  return out;
}

function fileNames(response: Awaited<ReturnType<typeof ask>>[number]): string[] {
  assert.equal(response.messageResponse.case, 'fileDescriptorResponse');
  const files = (response.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto;
  return files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

test('lists every served service, reflection included', async () => {
  const [r] = await ask({ host: '', messageRequest: { case: 'listServices', value: '' } });
  assert.equal(r!.messageResponse.case, 'listServicesResponse');
  assert.deepEqual((r!.messageResponse.value as { service: Array<{ name: string }> }).service.map((s) => s.name), [
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
    'tributary.admin.v1.AdminService',
    'tributary.cluster.v1.CoordinatorService',
  ]);
});

test('resolves services, methods, messages and enums to their file, sending each import once per stream', async () => {
  const [service, method, again, nested] = await ask(
    { host: '', messageRequest: { case: 'fileContainingSymbol', value: 'tributary.admin.v1.AdminService' } },
    { host: '', messageRequest: { case: 'fileContainingSymbol', value: 'tributary.cluster.v1.CoordinatorService.Session' } },
    { host: '', messageRequest: { case: 'fileContainingSymbol', value: '.tributary.admin.v1.ConnectorState' } },
    { host: '', messageRequest: { case: 'fileContainingSymbol', value: 'grpc.health.v1.HealthCheckResponse.ServingStatus' } },
  );
  assert.deepEqual(fileNames(service!), ['tributary/admin/v1/admin.proto', 'tributary/connector/v1/connector.proto']);
  assert.deepEqual(fileNames(method!), ['tributary/cluster/v1/cluster.proto'], 'connector.proto was already sent on this stream');
  assert.deepEqual(fileNames(again!), ['tributary/admin/v1/admin.proto']);
  assert.deepEqual(fileNames(nested!), ['grpc/health/v1/health.proto']);
});

test('finds files by name, including the connector protocol, and answers NOT_FOUND otherwise', async () => {
  const [byName, missing, unknownSymbol] = await ask(
    { host: 'h', messageRequest: { case: 'fileByFilename', value: 'tributary/connector/v1/connector.proto' } },
    { host: 'h', messageRequest: { case: 'fileByFilename', value: 'nope.proto' } },
    { host: 'h', messageRequest: { case: 'fileContainingSymbol', value: 'tributary.admin.v1.AdminService.NoSuchMethod' } },
  );
  assert.deepEqual(fileNames(byName!), ['tributary/connector/v1/connector.proto']);
  assert.equal(byName!.validHost, 'h');
  for (const r of [missing!, unknownSymbol!]) {
    assert.equal(r.messageResponse.case, 'errorResponse');
    assert.equal((r.messageResponse.value as { errorCode: number }).errorCode, 5);
  }
});

test('the descriptors sent rebuild a registry with every admin method and message', async () => {
  const [r] = await ask({ host: '', messageRequest: { case: 'fileContainingSymbol', value: 'tributary.admin.v1.AdminService' } });
  const files = (r!.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
  // The requested file comes first (as grpc-go sends it); a FileDescriptorSet wants imports first.
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files.reverse() }));
  const service = registry.getService('tributary.admin.v1.AdminService');
  assert.ok(service);
  assert.deepEqual(service.methods.map((m) => m.name).sort(), AdminService.methods.map((m) => m.name).sort());
  assert.ok(registry.getMessage('tributary.connector.v1.ConfigKey'), 'imported types resolve');
});
