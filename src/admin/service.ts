/**
 * The Admin gRPC service every worker serves. The leader answers; any other worker forwards the
 * call to the leader it follows and relays the answer (errors included), so operators can talk
 * to any node. With no reachable leader a call fails with UNAVAILABLE saying so. Log levels
 * are per worker and answered locally.
 */
import type { Logger } from 'pino';
import { AdminService } from '../gen/tributary/admin/v1/admin_pb.js';
import { createClient, type CallContext, type Client, type ServiceImplementation } from '../grpc/index.js';
import { FORWARDED_IDENTITY, forwardedIdentityOf, holds, type AdminAuthenticator, type Principal } from './auth.js';
import { FailedPreconditionError, InvalidArgumentError, NotDeliveredError, UnauthenticatedError } from '../errors.js';
import { sleep } from '../util/iterate.js';
import type { WorkerNode } from '../worker/index.js';
import { LeaderAdmin } from './leader-admin.js';
import { watchStatus } from './watch-status.js';

type Methods = (typeof AdminService)['method'];

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface AdminServiceOptions {
  /** How long a call waits for a new leader during a handover before failing with UNAVAILABLE. */
  handoverWaitMs?: number;
  cluster: string;
  /** The process's root logger, whose level SetLogLevel changes. */
  logger: Logger;
  /** Bound on a forwarded call. */
  forwardTimeoutMs?: number;
  /** Bearer tokens, JWTs and certificate identities with their roles (docs/security.md); none: every call is allowed. */
  auth?: AdminAuthenticator;
  /** `grpc.tls.client.auth=required`: every call needs a client certificate the CA verified. */
  requireClientCertificate?: boolean;
}

/**
 * The caller's own credentials, passed on when a call is forwarded to the leader: its bearer
 * token, or else the identities of the client certificate this worker verified (the leader
 * believes those only from a forwarder's certificate, docs/security.md).
 */
function callerMetadata(context: CallContext | undefined, certificateIdentities: boolean): Record<string, string> | undefined {
  if (!context) return undefined;
  const authorization = context.metadata.get('authorization')[0];
  if (authorization !== undefined) return { authorization: String(authorization) };
  const forwarded = certificateIdentities ? forwardedIdentityOf(context.peerCertificate, context.metadata) : undefined;
  return forwarded === undefined ? undefined : { [FORWARDED_IDENTITY]: forwarded };
}

export function createAdminService(node: WorkerNode, options: AdminServiceOptions): ServiceImplementation<Methods> {
  const local = new LeaderAdmin(node, options.cluster);
  const forwardIdentities = options.auth?.usesCertificates ?? false;
  let forwardClient: { address: string; client: Client<Methods> } | undefined;

  function leaderClient(): Client<Methods> {
    const leader = node.membership?.currentLeader;
    if (!leader) throw new NotDeliveredError(`no leader is reachable from worker ${node.options.id}: the cluster is electing one or etcd is unreachable; retry shortly`);
    // Elected but not yet leading (reading the snapshot): forwarding to itself would loop.
    if (leader.id === node.options.id) throw new NotDeliveredError(`worker ${node.options.id} was just elected leader and is taking over; retry shortly`);
    if (forwardClient?.address !== leader.address) {
      forwardClient?.client.close();
      forwardClient = { address: leader.address, client: createClient(AdminService, leader.address, { credentials: node.clientCredentials }) };
    }
    return forwardClient.client;
  }

  /**
   * Runs `here` on the leader, or forwards the same request to it. During a leader handover
   * (no leader yet, or the old one's port refuses) the request certainly did not reach a
   * leader, so it waits for the next one (bounded) instead of failing at once.
   */
  function route<Req, Res>(method: keyof Methods, here: (req: Req) => Promise<Res> | Res) {
    return async (req: Req, context?: CallContext): Promise<Res> => {
      const deadline = Date.now() + (options.handoverWaitMs ?? 6_000);
      for (;;) {
        if (node.leader) return here(req);
        try {
          const call = leaderClient()[method] as unknown as (r: Req, o: { timeoutMs: number; metadata?: Record<string, string> }) => Promise<Res>;
          return await call(req, { timeoutMs: options.forwardTimeoutMs ?? 30_000, metadata: callerMetadata(context, forwardIdentities) });
        } catch (err) {
          // Only a call that never reached a leader is sent again: anything else may have happened.
          if (!(err instanceof NotDeliveredError) || Date.now() >= deadline) throw err;
          await sleep(200);
        }
      }
    };
  }

  const implementation: ServiceImplementation<Methods> = {
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
    getRecordCounters: async () => {
      const totals = node.metrics.recordTotals;
      if (!totals) throw new FailedPreconditionError(`worker ${node.self.id} keeps no Prometheus metrics, so it has no record counters`);
      const t = await totals.call(node.metrics);
      return {
        workerId: node.self.id,
        startedAtMs: BigInt(t.startedAtMs),
        connectors: t.connectors.map((c) => ({ connector: c.connector, sourceRecordsProduced: BigInt(c.sourceRecordsProduced), sinkRecordsWritten: BigInt(c.sinkRecordsWritten) })),
      };
    },
    watchStatus: (r, context) => {
      if (node.leader) return watchStatus(local, r.name, context.signal);
      return leaderClient().watchStatus(r, { signal: context.signal, metadata: callerMetadata(context, forwardIdentities) });
    },
  };
  const checks: Array<(method: string, req: { name?: string }, context: CallContext) => void> = [];
  if (options.requireClientCertificate) {
    checks.push((method, _req, context) => {
      if (!context.peerCertificate) {
        throw new UnauthenticatedError(`${method}: this worker requires a client certificate signed by its CA (grpc.tls.client.auth=required): pass --cert and --key (and --ca), or set them in the context`);
      }
    });
  }
  if (checks.length === 0 && !options.auth) return implementation;
  return guarded(implementation, checks, options.auth);
}

/** A list answer cut down to the connectors `principal` may view (connector-limited grants). */
function visibleList<T extends { names: string[]; infos: Array<{ name: string }>; statuses: Array<{ name: string }> }>(answer: T, principal: Principal): T {
  const visible = (name: string) => holds(principal, 'viewer', name);
  return { ...answer, names: answer.names.filter(visible), infos: answer.infos.filter((i) => visible(i.name)), statuses: answer.statuses.filter((s) => visible(s.name)) };
}

/**
 * Every call authenticated and authorised before it runs or is forwarded; the leader checks the
 * forwarded caller again (the same identity files on every worker). Lists and WatchStatus of
 * every connector carry only the connectors the caller may view.
 */
function guarded(
  implementation: ServiceImplementation<Methods>,
  checks: ReadonlyArray<(method: string, req: { name?: string }, context: CallContext) => void>,
  auth: AdminAuthenticator | undefined,
): ServiceImplementation<Methods> {
  const check = async (name: string, req: { name?: string }, context: CallContext): Promise<Principal | undefined> => {
    for (const c of checks) c(name, req, context);
    return auth?.authorize(name, context, req.name);
  };
  const out: Record<string, unknown> = {};
  for (const method of AdminService.methods) {
    const name = method.localName;
    const fn = (implementation as unknown as Record<string, (req: { name?: string }, context: CallContext) => unknown>)[name]!;
    out[name] =
      method.methodKind === 'server_streaming'
        ? async function* (req: { name?: string }, context: CallContext) {
            const principal = await check(name, req, context);
            for await (const message of fn(req, context) as AsyncIterable<{ status?: { name: string } }>) {
              // Filtered here as well as on the leader: a forwarded stream is relayed as it comes.
              if (principal && message.status && !holds(principal, 'viewer', message.status.name)) continue;
              yield message;
            }
          }
        : async (req: { name?: string }, context: CallContext) => {
            const principal = await check(name, req, context);
            const answer = await fn(req, context);
            return name === 'listConnectors' && principal ? visibleList(answer as Parameters<typeof visibleList>[0], principal) : answer;
          };
  }
  return out as unknown as ServiceImplementation<Methods>;
}
