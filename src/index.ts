/**
 * The public library surface of the `tributary` package: the error classes every API throws and
 * the admin client (`import { AdminClient } from 'tributary'`).
 *
 * The client modules are imported directly, not through src/admin/index.ts, so a program that
 * only talks to a cluster does not load the worker, Kafka and etcd code the admin service needs.
 */
export * from './errors.js';
export { AdminClient, type AdminClientOptions, type OffsetChanges } from './admin/client.js';
export type {
  ClusterInfo,
  ConfigKeyInfo,
  ConfigTypeName,
  ConnectorInfo,
  ConnectorKindName,
  ConnectorStateName,
  ConnectorStatus,
  PartitionOffset,
  PartitionStateName,
  PartitionStatus,
  PluginInfo,
  StatusEvent,
  TargetStateName,
  ValidationResult,
  WorkerStatus,
} from './admin/model.js';
