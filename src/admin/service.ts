/**
 * The Admin gRPC service every worker serves. The leader answers; any other worker forwards the
 * call to the leader it follows and relays the answer (errors included), so operators can talk
 * to any node. With no reachable leader a call fails with UNAVAILABLE saying so. Log levels
 * are per worker and answered locally.
 */
import type { Logger } from 'pino';
import { AdminService } from '../gen/tributary/admin/v1/admin_pb.js';
import { createClient, type Client, type ServiceImplementation } from '../grpc/index.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { sleep } from '../util/iterate.js';
import type { WorkerNode } from '../worker/index.js';
import { LeaderAdmin } from './leader-admin.js';
import { watchStatus } from './watch-status.js';

type Methods = (typeof AdminService)['method'];

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A forwarded call that failed this way never reached a leader, so sending it again is safe. */
function notDelivered(message: string): boolean {
  return /no leader is reachable|was just elected leader|ECONNREFUSED|No connection established/.test(message);
}

export interface AdminServiceOptions {
  /** How long a call waits for a new leader during a handover before failing with UNAVAILABLE. */
  handoverWaitMs?: number;
  cluster: string;
  /** The process's root logger, whose level SetLogLevel changes. */
  logger: Logger;
  /** Bound on a forwarded call. */
  forwardTimeoutMs?: number;
}

export function createAdminService(node: WorkerNode, options: AdminServiceOptions): ServiceImplementation<Methods> {
  const local = new LeaderAdmin(node, options.cluster);
  let forwardClient: { address: string; client: Client<Methods> } | undefined;

  function leaderClient(): Client<Methods> {
    const leader = node.membership?.currentLeader;
    if (!leader) throw new UnavailableError(`no leader is reachable from worker ${node.options.id}: the cluster is electing one or etcd is unreachable; retry shortly`);
    // Elected but not yet leading (reading the snapshot): forwarding to itself would loop.
    if (leader.id === node.options.id) throw new UnavailableError(`worker ${node.options.id} was just elected leader and is taking over; retry shortly`);
    if (forwardClient?.address !== leader.address) {
      forwardClient?.client.close();
      forwardClient = { address: leader.address, client: createClient(AdminService, leader.address) };
    }
    return forwardClient.client;
  }

  /**
   * Runs `here` on the leader, or forwards the same request to it. During a leader handover
   * (no leader yet, or the old one's port refuses) the request certainly did not reach a
   * leader, so it waits for the next one (bounded) instead of failing at once.
   */
  function route<Req, Res>(method: keyof Methods, here: (req: Req) => Promise<Res> | Res) {
    return async (req: Req): Promise<Res> => {
      const deadline = Date.now() + (options.handoverWaitMs ?? 6_000);
      for (;;) {
        if (node.leader) return here(req);
        try {
          const call = leaderClient()[method] as unknown as (r: Req, o: { timeoutMs: number }) => Promise<Res>;
          return await call(req, { timeoutMs: options.forwardTimeoutMs ?? 30_000 });
        } catch (err) {
          if (!(err instanceof UnavailableError) || !notDelivered(err.message) || Date.now() >= deadline) throw err;
          await sleep(200);
        }
      }
    };
  }

  return {
    listConnectors: route('listConnectors', (r) => local.list(r.expandStatus, r.expandInfo)),
    getConnector: route('getConnector', (r) => local.get(r.name)),
    createConnector: route('createConnector', (r) => local.create(r.name, r.config, r.initialState)),
    putConnectorConfig: route('putConnectorConfig', (r) => local.put(r.name, r.config)),
    deleteConnector: route('deleteConnector', (r) => local.delete(r.name)),
    getConnectorStatus: route('getConnectorStatus', async (r) => ({ status: await local.status(r.name) })),
    pauseConnector: route('pauseConnector', (r) => local.setTargetState(r.name, 'PAUSED')),
    resumeConnector: route('resumeConnector', (r) => local.setTargetState(r.name, 'RUNNING')),
    stopConnector: route('stopConnector', (r) => local.setTargetState(r.name, 'STOPPED')),
    restartConnector: route('restartConnector', (r) => local.restart(r.name, r.includeTasks, r.onlyFailed)),
    restartPartition: route('restartPartition', (r) => local.restartPartition(r.name, r.partition)),
    getOffsets: route('getOffsets', (r) => local.offsets(r.name)),
    alterOffsets: route('alterOffsets', (r) => local.alterOffsets(r.name, r.offsets)),
    resetOffsets: route('resetOffsets', (r) => local.resetOffsets(r.name)),
    listPlugins: route('listPlugins', () => local.plugins()),
    validateConfig: route('validateConfig', (r) => local.validate(r.config)),
    listWorkers: route('listWorkers', () => local.workers()),
    getCluster: route('getCluster', () => local.cluster()),
    getConnectorTopics: route('getConnectorTopics', (r) => local.topics(r.name)),
    resetConnectorTopics: route('resetConnectorTopics', (r) => local.resetTopics(r.name)),
    getLogLevel: async () => ({ level: options.logger.level }),
    setLogLevel: async (r) => {
      if (!LEVELS.includes(r.level)) throw new InvalidArgumentError('invalid log level', [{ key: 'level', message: `must be one of ${LEVELS.join(', ')}` }]);
      const previous = options.logger.level;
      options.logger.level = r.level;
      return { previous };
    },
    watchStatus: (r, context) => {
      if (node.leader) return watchStatus(local, r.name, context.signal);
      return leaderClient().watchStatus(r, { signal: context.signal });
    },
  };
}
