/**
 * The CLI for many clusters: the contexts file (add, use, list, remove, and which server a call
 * goes to), `connectors patch --set/--unset`, connector selection by names or --regex, and the
 * generated completion scripts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { addContext, activeContext, readContexts, removeContext, useContext } from '../../src/cli/contexts.js';
import { connectionOf } from '../../src/cli/admin-action.js';
import { patchConfig, selectConnectors } from '../../src/cli/patch.js';
import { completionScript } from '../../src/cli/operator-commands.js';
import { connectorsCommands } from '../../src/cli/connectors-commands.js';
import { InvalidArgumentError, NotFoundError } from '../../src/errors.js';

const file = () => join(mkdtempSync(join(tmpdir(), 'tributary-ctx-')), 'contexts.json');

test('context add makes the first context current, use switches, remove forgets; the file is private', () => {
  const path = file();
  addContext('dev', { server: '127.0.0.1:8083' }, path);
  addContext('prod', { server: '10.0.0.5:8083', tls: { ca: '/etc/ca.pem' }, token: 's3cret' }, path);
  assert.equal(readContexts(path).current, 'dev');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  useContext('prod', path);
  assert.deepEqual(activeContext(undefined, path), { name: 'prod', context: { server: '10.0.0.5:8083', tls: { ca: '/etc/ca.pem' }, token: 's3cret' } });
  assert.equal(activeContext('dev', path)!.context.server, '127.0.0.1:8083');
  assert.throws(() => useContext('staging', path), NotFoundError);
  removeContext('prod', path);
  assert.equal(readContexts(path).current, 'dev');
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(path, 'utf8')).contexts), ['dev']);
});

test('bad contexts are refused naming the flag, and nothing is written', () => {
  const path = file();
  assert.throws(() => addContext('x', { server: 'no-port' }, path), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--server');
  assert.throws(() => addContext('x', { server: 'h:1', token: 't' }, path), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--token');
  assert.throws(() => addContext('x', { server: 'h:1', tls: { cert: '/c.pem' } }, path), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--cert');
  assert.deepEqual(readContexts(path), { contexts: {} });
});

test('which server a call goes to: --server, TRIBUTARY_SERVER, --context, the current context, the default', () => {
  const path = file();
  addContext('a', { server: 'a.example:1' }, path);
  addContext('b', { server: 'b.example:2' }, path);
  const env = { TRIBUTARY_CONFIG: path } as NodeJS.ProcessEnv;
  const saved = process.env.TRIBUTARY_CONFIG;
  process.env.TRIBUTARY_CONFIG = path;
  try {
    assert.equal(connectionOf({ server: 'x:9' }, env).server, 'x:9');
    assert.equal(connectionOf({}, { ...env, TRIBUTARY_SERVER: 'y:9' }).server, 'y:9');
    assert.equal(connectionOf({ context: 'b' }, env).server, 'b.example:2');
    assert.equal(connectionOf({}, { ...env, TRIBUTARY_CONTEXT: 'b' }).server, 'b.example:2');
    assert.deepEqual(connectionOf({}, env), { server: 'a.example:1', credentials: undefined, context: 'a' });
    assert.throws(() => connectionOf({ context: 'zzz' }, env), NotFoundError);
    process.env.TRIBUTARY_CONFIG = file();
    assert.equal(connectionOf({}, {}).server, '127.0.0.1:8083');
  } finally {
    if (saved === undefined) delete process.env.TRIBUTARY_CONFIG;
    else process.env.TRIBUTARY_CONFIG = saved;
  }
});

test('connectors patch sets and unsets keys, keeps the rest, and refuses malformed input', () => {
  const config = { 'connector.class': 'file-source', file: '/a', 'db.password': '********' };
  assert.deepEqual(patchConfig(config, ['file=/b', 'batch.size=10'], ['db.password']), { 'connector.class': 'file-source', file: '/b', 'batch.size': '10' });
  assert.deepEqual(patchConfig(config, ['query=a=b'], []), { ...config, query: 'a=b' });
  assert.throws(() => patchConfig(config, ['novalue'], []), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--set');
  assert.throws(() => patchConfig(config, [], []), InvalidArgumentError);
  assert.throws(() => patchConfig(config, ['a=1'], ['a']), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--unset');
});

test('bulk actions take names or a --regex, not both', () => {
  const all = ['orders-db', 'orders-s3', 'users-db'];
  assert.deepEqual(selectConnectors([], '^orders-', all), ['orders-db', 'orders-s3']);
  assert.deepEqual(selectConnectors(['a', 'b'], undefined, all), ['a', 'b']);
  assert.throws(() => selectConnectors(['a'], 'x', all), InvalidArgumentError);
  assert.throws(() => selectConnectors([], undefined, all), InvalidArgumentError);
  assert.throws(() => selectConnectors([], '(', all), (e: unknown) => e instanceof InvalidArgumentError && e.problems[0]!.key === '--regex');
});

test('completion scripts are generated from the command tree; bash completes subcommands and flags', () => {
  const program = new Command().name('tributary');
  connectorsCommands(program);
  const bash = completionScript(program, 'bash');
  const complete = (words: string[]) =>
    spawnSync('bash', ['-c', `${bash}\nCOMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _tributary; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.trim().split(' ');
  assert.deepEqual(complete(['tributary', 'connectors', 'pa']).sort(), ['patch', 'pause']);
  assert.ok(complete(['tributary', 'connectors', 'patch', 'x', '--']).includes('--unset'));
  assert.ok(complete(['tributary', 'connectors', 'pause', '--']).includes('--regex'));
  assert.match(completionScript(program, 'zsh'), /^#compdef tributary/);
  assert.match(completionScript(program, 'fish'), /complete -c tributary -n '__fish_seen_subcommand_from connectors' -a '.*patch/);
  assert.throws(() => completionScript(program, 'tcsh'), NotFoundError);
});
