/**
 * The HTTP side of a worker (fastify): `/metrics` (Prometheus), `/health` (readiness, the shape
 * of Kafka Connect's KIP-1017 `GET /health`), `/health/live` (liveness), and whatever routes are
 * registered before start — the Kafka Connect REST API (src/admin/rest), later the web console.
 *
 * Lifecycle: register routes, start() binds, stop() closes (idempotent) after in-flight
 * requests finished.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { WorkerHealth } from './health.js';
import type { PrometheusMetrics } from './metrics.js';

export interface HttpServerOptions {
  /** `host:port` to listen on (port 0 picks one). */
  listen: string;
  logger: Logger;
  metrics?: PrometheusMetrics;
  health?: WorkerHealth;
}

/** Routes another module adds (REST API, console): a fastify plugin and its options. */
export type RouteRegistration = { plugin: FastifyPluginAsync; prefix?: string };

export class HttpServer {
  readonly app: FastifyInstance;
  private address: { host: string; port: number } | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: HttpServerOptions) {
    // Fastify takes pino itself; a child keeps the component binding on every request line.
    this.app = Fastify({ loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
    const { metrics, health } = options;
    // As a plugin, like every other route set (so onRoute hooks and encapsulation see them alike).
    void this.app.register(async (app) => {
    if (metrics) {
      app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.contentType).send(await metrics.text()));
    }
    if (health) {
      app.get('/health', async (_request, reply) => {
        const s = health.status();
        if (s.serving) return reply.code(200).send({ status: 'healthy', message: 'Worker has completed startup and is ready to handle requests.' });
        return reply.code(503).send({ status: 'starting', message: `Worker is not ready: ${s.reason}`, conditions: s.conditions });
      });
      app.get('/health/live', async () => ({ status: 'alive' }));
    }
    });
  }

  /** Adds routes; call before start(). */
  register(registration: RouteRegistration): void {
    void this.app.register(registration.plugin, registration.prefix ? { prefix: registration.prefix } : {});
  }

  async start(): Promise<{ host: string; port: number }> {
    const colon = this.options.listen.lastIndexOf(':');
    const host = this.options.listen.slice(0, colon);
    const port = Number(this.options.listen.slice(colon + 1));
    await this.app.listen({ host, port });
    const bound = this.app.server.address();
    this.address = { host, port: typeof bound === 'object' && bound ? bound.port : port };
    this.options.logger.info({ address: `${host}:${this.address.port}` }, 'HTTP server listening');
    return this.address;
  }

  /** `host:port` once started. */
  get url(): string {
    if (!this.address) throw new Error('HTTP server not started');
    return `http://${this.address.host}:${this.address.port}`;
  }

  stop(): Promise<void> {
    this.stopped ??= this.app.close();
    return this.stopped;
  }
}
