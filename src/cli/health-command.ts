/**
 * `tributary health`: asks a worker's gRPC health service (grpc.health.v1.Health/Check, on the
 * worker's --listen port) whether it is SERVING; exits 0 when it is, 1 otherwise. This is the
 * probe the container image's HEALTHCHECK and the Compose file run (deploy/, docs/deployment.md).
 */
import type { Command } from 'commander';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import { createClient } from '../grpc/index.js';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_SERVER, connectionOf, tlsFlags, type AdminFlags } from './admin-action.js';

export function healthCommand(program: Command): void {
  tlsFlags(program.command('health'))
    .description("check a worker's gRPC health (grpc.health.v1): exits 0 when SERVING, 1 otherwise")
    .option('-s, --server <host:port>', `the worker's gRPC address (TRIBUTARY_SERVER; default ${DEFAULT_SERVER})`)
    .option('--timeout <ms>', 'deadline of the check in ms (default 3000)')
    .action(async (flags: AdminFlags & { timeout?: string }) => {
      const timeoutMs = flags.timeout === undefined ? 3_000 : Number(flags.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError(`--timeout must be a positive number of milliseconds, got "${flags.timeout}"`);
      const { server, credentials } = connectionOf(flags);
      const client = createClient(Health, server, { credentials });
      try {
        const { status } = await client.check({ service: '' }, { timeoutMs });
        const name = HealthCheckResponse_ServingStatus[status] ?? String(status);
        console.log(`${server}: ${name}`);
        process.exitCode = status === HealthCheckResponse_ServingStatus.SERVING ? 0 : 1;
      } catch (err) {
        console.error(`${server}: not healthy: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
