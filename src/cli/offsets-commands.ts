/** `tributary offsets get|alter|reset`: committed offsets of a connector's stream partitions. */
import type { Command } from 'commander';
import { adminAction, adminFlags } from './admin-action.js';
import { readOffsetsFile } from './offset-files.js';
import { formatOffsets, offsetsJson } from './output.js';

export function offsetsCommands(program: Command): void {
  const offsets = program.command('offsets').description("read and change a connector's committed offsets");
  offsets.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  adminFlags(offsets.command('get'))
    .description('committed offset of each stream partition')
    .argument('<name>', 'connector')
    .action(adminAction(async (ctx, name) => {
      const list = await ctx.admin.offsets.get(name);
      ctx.print(() => formatOffsets(name, list), offsetsJson(name, list));
    }));

  adminFlags(offsets.command('alter'))
    .description('set offsets of some partitions (the connector must be STOPPED: tributary connectors stop <name>)')
    .argument('<name>', 'connector')
    .requiredOption('-f, --file <file>', 'JSON: {"offsets":[{"partition":"p0","offset":"41"}]} (as offsets get --json prints) or {"p0":"41"}; null removes')
    .action(adminAction(async (ctx, name) => {
      const changes = readOffsetsFile(String(ctx.options['file']));
      await ctx.admin.offsets.alter(name, changes);
      ctx.print(`altered ${changes.size} offset(s) of ${name}; it continues from them after: tributary connectors resume ${name}`, { name, altered: [...changes.keys()] });
    }));

  adminFlags(offsets.command('reset'))
    .description('remove every committed offset (the connector must be STOPPED); it then starts from the beginning')
    .argument('<name>', 'connector')
    .action(adminAction(async (ctx, name) => {
      await ctx.admin.offsets.reset(name);
      ctx.print(`reset the offsets of ${name}; it starts from the beginning after: tributary connectors resume ${name}`, { name, reset: true });
    }));
}
