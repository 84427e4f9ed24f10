/**
 * Config references (`${env:…}`, `${file:…:key}`): resolved on the worker, never stored resolved,
 * and an unresolvable one is a problem naming its key. Also: masked secrets in views.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { isOnlyReferences, parseProperties, referencesIn, resolveConfigReferences, tryResolveConfigReferences } from '../../src/worker/config-references.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { AllowedPaths } from '../../src/util/allowed-paths.js';
import { maskSecrets, SECRET_MASK } from '../../src/admin/views.js';
import { ConfigType, DescribeResponseSchema } from '../../src/gen/tributary/connector/v1/connector_pb.js';

// The file connectors and ${file:…} references are confined to allowed.paths (none by default);
// these tests' files live under the OS temp directory.
process.env.TRIBUTARY_ALLOWED_PATHS = tmpdir();

test('parses env and file references with Kafka Connect syntax and ignores other providers', () => {
  assert.deepEqual(referencesIn('jdbc://${env:DB_HOST}:5432/${file:/etc/db.properties:database}?x=${vault:secret/db:pw}'), [
    { raw: '${env:DB_HOST}', provider: 'env', path: '', key: 'DB_HOST' },
    { raw: '${file:/etc/db.properties:database}', provider: 'file', path: '/etc/db.properties', key: 'database' },
  ]);
  assert.deepEqual(referencesIn('no references, just ${braces}'), []);
  assert.equal(isOnlyReferences('${file:/etc/creds.properties:password}'), true);
  assert.equal(isOnlyReferences(' ${env:A}${env:B} '), true);
  assert.equal(isOnlyReferences('hunter2${env:A}'), false);
  assert.equal(isOnlyReferences('plain'), false);
});

test('reads Java properties: separators, comments, continuations and escapes', () => {
  const p = parseProperties(['# comment', '! also a comment', 'a=1', 'b : two words ', 'c value', '  d=multi\\', '    line', 'e=tab\\there', 'f\\:g=colon key', 'empty'].join('\n'));
  assert.equal(p.get('a'), '1');
  assert.equal(p.get('b'), 'two words ');
  assert.equal(p.get('c'), 'value');
  assert.equal(p.get('d'), 'multiline');
  assert.equal(p.get('e'), 'tab\there');
  assert.equal(p.get('f:g'), 'colon key');
  assert.equal(p.get('empty'), '');
  assert.equal(p.has('# comment'), false);
});

test('resolves env and file references, reading each file once, and leaves the input untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-refs-'));
  try {
    const file = join(dir, 'creds.properties');
    writeFileSync(file, 'user=alice\npassword=s3cr=t\n');
    let reads = 0;
    const config = { 'connection.user': `\${file:${file}:user}`, 'connection.password': `\${file:${file}:password}`, url: 'db://${env:DB_HOST}:${env:DB_PORT}/x', plain: 'as is', other: '${vault:kv:key}' };
    const resolved = await resolveConfigReferences(config, {
      env: { DB_HOST: 'db1', DB_PORT: '5432' },
      readText: async (path) => {
        reads++;
        const { readFile } = await import('node:fs/promises');
        return readFile(path, 'utf8');
      },
    });
    assert.deepEqual(resolved, { 'connection.user': 'alice', 'connection.password': 's3cr=t', url: 'db://db1:5432/x', plain: 'as is', other: '${vault:kv:key}' });
    assert.equal(reads, 1, 'one read per file');
    assert.equal(config['connection.password'], `\${file:${file}:password}`, 'the caller keeps the references');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unresolvable reference is an INVALID_ARGUMENT problem naming its key, one per key', async () => {
  const config = { a: '${env:MISSING_VAR}', b: `\${file:${tmpdir()}/nonexistent/x.properties:k}`, c: '${env:SET}', d: '${file:/tmp/x.properties}', e: '${env:SET}/${env:MISSING_TOO}' };
  const { config: resolved, problems } = await tryResolveConfigReferences(config, { env: { SET: 'yes' } });
  assert.equal(resolved['c'], 'yes');
  assert.equal(resolved['a'], '${env:MISSING_VAR}', 'an unresolved key keeps its value');
  assert.deepEqual(problems.map((p) => p.key).sort(), ['a', 'b', 'd', 'e']);
  assert.match(problems.find((p) => p.key === 'a')!.message, /MISSING_VAR is not set/);
  assert.match(problems.find((p) => p.key === 'b')!.message, /cannot read .*\/nonexistent\/x.properties/);
  assert.match(problems.find((p) => p.key === 'd')!.message, /\$\{file:\/path\/to\/file.properties:key\}/);
  assert.match(problems.find((p) => p.key === 'e')!.message, /MISSING_TOO/);
  await assert.rejects(resolveConfigReferences(config, { env: {} }), (err: unknown) => err instanceof InvalidArgumentError && err.problems.length === 5 && err.code === 'INVALID_ARGUMENT');
});

test('a file without the key names the file and the key', async () => {
  const { problems } = await tryResolveConfigReferences({ pw: '${file:/creds.properties:password}' }, { readText: async () => 'user=bob\n', allowedPaths: AllowedPaths.of(['/']) });
  assert.deepEqual(problems, [{ key: 'pw', message: '${file:/creds.properties:password}: /creds.properties has no key "password"' }]);
});

test('secret values are masked: keys the spec marks secret and keys that look secret, but not references', () => {
  const description = create(DescribeResponseSchema, { configKeys: [{ name: 'auth', type: ConfigType.STRING, secret: true }, { name: 'topic', type: ConfigType.STRING }] });
  const masked = maskSecrets(
    { auth: 'abc', topic: 't', 'connection.password': 'hunter2', 'sasl.jaas.config': 'x required;', 'api.key': 'k', 'token.count': '3', 'ref.password': '${file:/etc/c.properties:pw}', 'empty.password': '' },
    description,
  );
  assert.deepEqual(masked, {
    auth: SECRET_MASK,
    topic: 't',
    'connection.password': SECRET_MASK,
    'sasl.jaas.config': SECRET_MASK,
    'api.key': SECRET_MASK,
    'token.count': '3',
    'ref.password': '${file:/etc/c.properties:pw}',
    'empty.password': '',
  });
  // Without a description (plugin not reachable) the secret-looking keys are still masked.
  assert.equal(maskSecrets({ 'db.password': 'p' }, undefined)['db.password'], SECRET_MASK);
});
