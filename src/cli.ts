/**
 * `tributary` entry point: maps subcommands to the worker, standalone runner and admin client.
 * Nothing imports this module.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('tributary')
  .description('Tributary: a data-integration runtime in the spirit of Kafka Connect, built on gRPC and protobuf.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)');

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
