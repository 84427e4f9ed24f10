/** `tributary context add|use|list|remove`: named clusters in the contexts file (contexts.ts). */
import type { Command } from 'commander';
import { addContext, contextsPath, readContexts, removeContext, useContext, type Context } from './contexts.js';
import { EXIT, formatError, toJson } from './output.js';

function run(body: () => void): void {
  try {
    body();
  } catch (err) {
    console.error(formatError(err, '').text);
    process.exitCode = EXIT.INVALID;
  }
}

export function contextCommands(program: Command): void {
  const context = program.command('context').description(`named clusters (server, TLS, token) in ${contextsPath()}`);
  context.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  context
    .command('add')
    .description('add or replace a context; the first one added becomes current')
    .argument('<name>')
    .requiredOption('-s, --server <host:port>', "a worker's gRPC address")
    .option('--tls', 'connect with TLS (system CAs unless --ca)')
    .option('--ca <file>', 'PEM file of the CA that signed the workers (implies --tls)')
    .option('--cert <file>', 'client certificate (PEM) for mutual TLS (implies --tls; with --key)')
    .option('--key <file>', 'client key (PEM) for mutual TLS')
    .option('--token <token>', 'bearer token sent on every call (needs TLS)')
    .action((name: string, o: { server: string; tls?: boolean; ca?: string; cert?: string; key?: string; token?: string }) =>
      run(() => {
        const ctx: Context = { server: o.server };
        if (o.tls || o.ca || o.cert || o.key) ctx.tls = { ...(o.ca && { ca: o.ca }), ...(o.cert && { cert: o.cert }), ...(o.key && { key: o.key }) };
        if (o.token !== undefined) ctx.token = o.token;
        const file = addContext(name, ctx);
        console.log(`context ${name} → ${o.server}${file.current === name ? ' (current)' : `; switch to it with: tributary context use ${name}`}`);
      }),
    );

  context
    .command('use')
    .description('make a context current')
    .argument('<name>')
    .action((name: string) => run(() => void (useContext(name), console.log(`now using context ${name}`))));

  context
    .command('remove')
    .description('remove a context')
    .argument('<name>')
    .action((name: string) => run(() => void (removeContext(name), console.log(`removed context ${name}`))));

  context
    .command('list')
    .description('every context; * marks the current one (tokens are never printed)')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(() => {
        const file = readContexts();
        const rows = Object.entries(file.contexts).map(([name, c]) => ({ name, current: name === file.current, server: c.server, tls: c.tls !== undefined, token: c.token !== undefined }));
        if (o.json) return console.log(toJson(rows));
        if (rows.length === 0) return console.log('no contexts; add one with: tributary context add <name> --server host:port');
        const width = Math.max(4, ...rows.map((r) => r.name.length));
        console.log(`  ${'NAME'.padEnd(width)}  SERVER                 TLS  TOKEN`);
        for (const r of rows) console.log(`${r.current ? '*' : ' '} ${r.name.padEnd(width)}  ${r.server.padEnd(21)}  ${r.tls ? 'yes' : 'no '}  ${r.token ? 'yes' : 'no'}`);
      }),
    );
}
