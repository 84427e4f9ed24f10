/**
 * The one hook a worker process uses to serve the admin plane: the Admin service and server
 * reflection describing everything the worker serves (Admin, Coordinator and Health, which
 * WorkerNode itself registers, and reflection), plus the connector protocol's file, so grpcurl
 * can also decode plugin messages.
 */
import type * as grpc from '@grpc/grpc-js';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import { AdminService } from '../gen/tributary/admin/v1/admin_pb.js';
import { CoordinatorService } from '../gen/tributary/cluster/v1/cluster_pb.js';
import { file_tributary_connector_v1_connector } from '../gen/tributary/connector/v1/connector_pb.js';
import { addService } from '../grpc/index.js';
import type { WorkerNode } from '../worker/index.js';
import { addReflection } from './reflection.js';
import { createAdminService, type AdminServiceOptions } from './service.js';

/** Adds Admin and reflection to a worker's server (pass it as WorkerNode's `registerServices`). */
export function registerAdminServices(server: grpc.Server, node: WorkerNode, options: AdminServiceOptions): void {
  addService(server, AdminService, createAdminService(node, options));
  addReflection(server, [AdminService, CoordinatorService, Health], [file_tributary_connector_v1_connector]);
}
