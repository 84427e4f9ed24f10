export type { OffsetStore, CommittedOffset } from './offset-store.js';
export { FileOffsetStore } from './file-offset-store.js';
export type {
  CoordinatorBackend,
  Leadership,
  WorkerInfo,
  ConnectorRecord,
  PartitionRecord,
  AssignmentRecord,
  StatusRecord,
  StateWrite,
  ClusterSnapshot,
  TargetState,
} from './backend.js';
export { planAssignment, partitionKey, type Plan, type PlanInput, type Ownership, type PlannedPartition } from './assignment.js';
export { Leader, type LeaderOptions, type PartitionDiscoverer, type ConnectorLifecycle } from './leader.js';
export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export { EtcdBackend, createEtcdBackend, type EtcdBackendOptions } from './etcd/index.js';
