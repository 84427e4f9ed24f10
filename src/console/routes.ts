/**
 * The console's HTTP side, a fastify plugin mounted at `/ui` on the worker's HTTP server:
 *
 * - `/ui`, `/ui/` and `/ui/assets/*`: the built front end (dist/ui, shipped in the package; no CDN);
 * - `GET /ui/api/session`: who the caller is and whether it may act;
 * - `GET /ui/api/events`: server-sent events from the worker's one ConsoleHub (one `update`
 *   per push; a slow browser gets the latest state, never a backlog);
 * - `POST /ui/api/connectors/:name/actions` `{action, partition?}`: pause, resume, stop,
 *   restart a connector or restart one partition, as the caller (its bearer token goes to the
 *   Admin API, whose roles decide). Refused unless the worker enables `console.actions`.
 *
 * With a token file, every `/ui/api` route needs a valid bearer token (401 otherwise). Actions
 * also need the header `x-tributary-console: 1`, which a cross-site form or simple request
 * cannot send, so another web page cannot act through a logged-in browser.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import send from '@fastify/send';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { holds, toRestError, type AdminAuthenticator, type Principal } from '../admin/index.js';
import { InvalidArgumentError, PermissionDeniedError } from '../errors.js';
import { bearerToken, principalOf, type CallerAdmins } from './caller-admin.js';
import type { ConsoleHub, HubUpdate } from './hub.js';
import type { ConsoleAction, ConsoleSession } from './types.js';

export interface ConsoleRoutesOptions {
  hub: ConsoleHub;
  workerId: string;
  /** Admin calls as the caller (actions). */
  callers: CallerAdmins;
  /** The worker's token authenticator; none: the console is open, like the Admin API. */
  auth?: AdminAuthenticator;
  /** `console.actions`: whether the console may pause, resume, stop and restart at all. */
  actionsEnabled: boolean;
  /** Directory of the built front end; default: dist/ui of this package. */
  assetsDir?: string;
}

const ACTIONS: readonly ConsoleAction[] = ['pause', 'resume', 'stop', 'restart'];

/** dist/ui of the package this file belongs to (from src/console or dist/console alike). */
export function defaultAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'ui');
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'ui');
}

function canAct(principal: Principal | undefined, auth: AdminAuthenticator | undefined, actionsEnabled: boolean): boolean {
  if (!actionsEnabled) return false;
  if (!auth) return true;
  return principal !== undefined && principal.roles.some((r) => r === 'operator' || r === 'admin');
}

/** The live view cut down to the connectors `principal` may view (its other grants are limited to some). */
export function visibleUpdate(u: HubUpdate, principal: Principal): HubUpdate {
  const visible = (connector: string | undefined) => connector === undefined || holds(principal, 'viewer', connector);
  const connectors = u.state.connectors.filter((c) => visible(c.name));
  // `connector/partition`, and a connector's name may itself hold a `/`: the owner is the
  // longest connector name the entry starts with (unknown owner: hidden).
  const ownedByVisible = (p: string) => {
    const owner = u.state.connectors.filter((c) => p.startsWith(`${c.name}/`)).reduce<string | undefined>((best, c) => (best === undefined || c.name.length > best.length ? c.name : best), undefined);
    return owner !== undefined && visible(owner);
  };
  return {
    reset: u.reset,
    events: u.events.filter((e) => visible(e.connector)),
    state: { ...u.state, connectors, workers: u.state.workers.map((w) => ({ ...w, partitions: w.partitions.filter(ownedByVisible) })) },
  };
}

export function consoleRoutes(options: ConsoleRoutesOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const { hub, auth, callers } = options;
    const assets = options.assetsDir ?? defaultAssetsDir();

    app.setErrorHandler((err, request, reply) => {
      const { status, body } = toRestError(err);
      if (status >= 500) request.log.warn({ err: body.message, url: request.url }, 'console request failed');
      void reply.code(status).send(body);
    });

    /** The caller's principal; UNAUTHENTICATED (401) when the worker needs a token and this one is missing or unknown. */
    const caller = async (request: FastifyRequest): Promise<Principal | undefined> => (auth ? principalOf(auth, bearerToken(request)) : undefined);

    if (existsSync(join(assets, 'index.html'))) {
      // @fastify/send (what @fastify/static is built on) resolves inside `root` only and refuses dotfiles.
      const serve = async (request: FastifyRequest, reply: FastifyReply, path: string) => {
        // Vite names assets by content hash, so they never change; index.html must be revalidated.
        const hashed = path.startsWith('/assets/');
        const result = await send(request.raw, path, { root: assets, index: false, dotfiles: 'deny', maxAge: hashed ? '365d' : 0, immutable: hashed });
        if (result.type !== 'file') {
          result.stream.destroy();
          return reply.code(404).send({ error_code: 404, message: `no console asset ${path}` });
        }
        return reply.code(result.statusCode).headers(result.headers).send(result.stream);
      };
      app.get('/', (request, reply) => serve(request, reply, '/index.html'));
      app.get('/assets/*', (request: FastifyRequest<{ Params: { '*': string } }>, reply) => serve(request, reply, `/assets/${request.params['*']}`));
    } else {
      // Not built (a source checkout before `npm run build`): say so rather than answering 404.
      app.get('/', async (_request, reply) => reply.code(503).type('text/plain').send(`The console's front end is not built in ${assets}: run npm run build.\n`));
    }

    app.get('/api/session', async (request): Promise<ConsoleSession> => {
      // Without a token a secured worker still says that it needs one (the page asks for it).
      let principal: Principal | undefined;
      if (auth && bearerToken(request) !== undefined) principal = await caller(request);
      const session: ConsoleSession = {
        workerId: options.workerId,
        authRequired: auth !== undefined,
        roles: principal ? [...principal.roles] : [],
        actionsEnabled: options.actionsEnabled,
        canAct: (auth === undefined || principal !== undefined) && canAct(principal, auth, options.actionsEnabled),
      };
      if (principal) session.principal = principal.name;
      return session;
    });

    app.get('/api/events', async (request, reply: FastifyReply) => {
      const principal = await caller(request);
      // A principal limited to some connectors sees only those in the shared live view.
      const limited = principal !== undefined && !holds(principal, 'viewer', undefined);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      // Backpressure: while the socket is full, keep only the newest state and the events since.
      let blocked: HubUpdate | undefined;
      let waiting = false;
      const write = (data: string) => {
        if (!res.write(`event: update\ndata: ${data}\n\n`) && !waiting) {
          waiting = true;
          res.once('drain', () => {
            waiting = false;
            const next = blocked;
            blocked = undefined;
            if (next) write(JSON.stringify(next));
          });
        }
      };
      const send = (u: HubUpdate, data: string) => {
        if (waiting) blocked = blocked ? { state: u.state, events: [...blocked.events, ...u.events], reset: blocked.reset || u.reset } : u;
        else write(data);
      };
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      ping.unref();
      const listener = limited ? (u: HubUpdate) => { const v = visibleUpdate(u, principal); send(v, JSON.stringify(v)); } : send;
      const unsubscribe = hub.subscribe(listener, () => {
        clearInterval(ping);
        res.end();
      });
      request.raw.once('close', () => {
        clearInterval(ping);
        unsubscribe();
      });
    });

    app.post('/api/connectors/:name/actions', async (request: FastifyRequest<{ Params: { name: string }; Body: unknown }>, reply) => {
      const principal = await caller(request);
      if (request.headers['x-tributary-console'] !== '1') throw new InvalidArgumentError('console actions need the header x-tributary-console: 1', [{ key: 'x-tributary-console', message: 'missing' }]);
      if (!options.actionsEnabled) throw new PermissionDeniedError(`the console is read-only on worker ${options.workerId}: set console.actions=true (TRIBUTARY_CONSOLE_ACTIONS) to allow actions`);
      const body = (request.body ?? {}) as { action?: unknown; partition?: unknown };
      const action = body.action as ConsoleAction;
      if (!ACTIONS.includes(action)) throw new InvalidArgumentError('invalid console action', [{ key: 'action', message: `must be one of ${ACTIONS.join(', ')}` }]);
      if (body.partition !== undefined && (typeof body.partition !== 'string' || body.partition === '')) throw new InvalidArgumentError('invalid console action', [{ key: 'partition', message: 'must be a partition id' }]);
      if (body.partition !== undefined && action !== 'restart') throw new InvalidArgumentError('invalid console action', [{ key: 'action', message: 'only restart applies to one partition' }]);
      const name = request.params.name;
      const admin = callers.client(bearerToken(request)).connectors;
      if (typeof body.partition === 'string') await admin.restartPartition(name, body.partition);
      else if (action === 'pause') await admin.pause(name);
      else if (action === 'resume') await admin.resume(name);
      else if (action === 'stop') await admin.stop(name);
      else await admin.restart(name, { includeTasks: true, onlyFailed: false });
      request.log.info({ principal: principal?.name ?? '', action, connector: name, partition: body.partition ?? '' }, 'console action');
      return reply.code(202).send({ action, connector: name, ...(typeof body.partition === 'string' ? { partition: body.partition } : {}) });
    });
  };
}
