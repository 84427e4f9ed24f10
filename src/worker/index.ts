/**
 * The worker: everything one `tributary worker` process runs. Its parts, outside in:
 *
 * - `WorkerNode` (node.ts) is the worker — the process as a whole. It owns the gRPC server, the
 *   coordinator backend (etcd), the standing campaign for leadership (running the coordinator's
 *   `Leader` while elected), and the two parts below; `start()`/`stop()` are the process's
 *   lifecycle (stop is the SIGTERM drain).
 * - `ClusterMember` (cluster-member.ts) is the worker's side of the cluster: its session with the
 *   current leader (hello, heartbeats, offset/status reports, revoke acks), its fence clock
 *   (fence-clock.ts), and applying the leader's assigns and revokes to the data plane.
 * - `Worker` (worker.ts) is the data plane: the Kafka clients shared between connectors, the
 *   credit pool, and one `ConnectorRuntime` per connector with partitions here, which runs one
 *   task per partition (source-task.ts, sink-task.ts). It decides nothing about placement; the
 *   ClusterMember (or the standalone runner) tells it what to run.
 */
export { Worker, compileWorkerOptions, DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_INFLIGHT_RECORDS, type WorkerOptions, type CompiledWorkerOptions } from './worker.js';
export { WorkerNode, type WorkerNodeOptions, VERSION, DEFAULT_SESSION_TIMEOUT_MS } from './node.js';
export { ClusterMember } from './cluster-member.js';
export { ConnectorRuntime, validateConnectorConfig, type ProducerFactory } from './connector-runtime.js';
export { CreditPool } from './credits.js';
export { TaskState, type TaskStatus } from './task-state.js';
export { parseConnectorSettings, workerConnectorKeys, type ConnectorSettings } from './connector-settings.js';
export { passThroughProcessor, type RecordProcessor } from './processing.js';
export { sinkPartitionId } from './partition-discovery.js';
export { encodeKafkaOffset, decodeKafkaOffset } from './sink-task.js';
export type { Task, StopReason } from './task.js';
export { resolveConfigReferences, tryResolveConfigReferences, parseProperties, isOnlyReferences } from './config-references.js';
export { defaultRestartPolicy, restartCeilingMs, restartDelayMs, type RestartPolicy } from './restart-policy.js';
