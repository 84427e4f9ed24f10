import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSecurity, createProducer, parseJaasConfig, unsecuredJws, type KafkaSecurityProperties } from '../../src/kafka/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseConnectorSettings } from '../../src/worker/index.js';
import { connectionWithOverrides } from '../../src/worker/connector-runtime.js';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';

function problems(props: KafkaSecurityProperties, opts: { keyName?: (k: string) => string; allowCommand?: boolean } = {}): Array<{ key: string; message: string }> {
  try {
    compileSecurity({ properties: props, ...opts }, 'platformatic');
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    return [...err.problems];
  }
  return [];
}

test('sasl.jaas.config is parsed the way Kafka Connect users write it, escapes included', () => {
  const entry = parseJaasConfig(`${SCRAM} required username="alice" password="p\\"w;d=1"  ;`);
  assert.equal(entry.loginModule, SCRAM);
  assert.equal(entry.flag, 'required');
  assert.deepEqual(entry.options, { username: 'alice', password: 'p"w;d=1' });
  assert.deepEqual(parseJaasConfig('org.x.M optional a=b c="d";').options, { a: 'b', c: 'd' });
  assert.throws(() => parseJaasConfig(`${SCRAM} required username="alice"`), /must end with ";"/);
  assert.throws(() => parseJaasConfig(`${SCRAM} username="alice";`), /control flag/);
  assert.throws(() => parseJaasConfig(`${SCRAM} required a="b"; other required;`), /exactly one login module/);
});

test('SCRAM credentials compile; a bad JAAS line names the key and never echoes the password', () => {
  const ok = compileSecurity({ properties: { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'scram-sha-512', 'sasl.jaas.config': `${SCRAM} required username="u" password="s3cret-value";` } }, 'kafkajs');
  assert.deepEqual(ok.sasl, { mechanism: 'SCRAM-SHA-512', username: 'u', password: 's3cret-value' });
  assert.equal(ok.tls, undefined);
  const bad = problems({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': `${SCRAM} required username="u" password="s3cret-value";` });
  assert.deepEqual(bad.map((p) => p.key), ['sasl.jaas.config']);
  assert.match(bad[0]!.message, /PlainLoginModule/);
  const noPassword = problems({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="s3cret-value ;' });
  assert.ok(noPassword.every((p) => !p.message.includes('s3cret-value')), JSON.stringify(noPassword));
});

test('every unusable setting is refused by key: protocol, mechanism, JKS, settings of a layer not in use, unknown keys', () => {
  assert.deepEqual(problems({ 'security.protocol': 'TLS' }).map((p) => p.key), ['security.protocol']);
  const gssapi = problems({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'GSSAPI' });
  assert.equal(gssapi[0]!.key, 'sasl.mechanism');
  assert.match(gssapi[0]!.message, /GSSAPI is not supported by either Kafka client \(kafkajs, platformatic\)/);
  assert.match(problems({ 'security.protocol': 'SASL_SSL' })[0]!.message, /sasl.mechanism|is required/);
  const jks = problems({ 'security.protocol': 'SSL', 'ssl.truststore.type': 'JKS', 'ssl.truststore.location': '/x.jks' });
  assert.ok(jks.some((p) => p.key === 'ssl.truststore.type' && /PKCS12/.test(p.message)));
  const unused = problems({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";', 'ssl.truststore.location': '/ca.pem' });
  assert.deepEqual(unused.map((p) => p.key), ['ssl.truststore.location']);
  assert.match(unused[0]!.message, /not used with security.protocol=SASL_PLAINTEXT/);
  assert.deepEqual(problems({ 'security.protocol': 'SSL', 'ssl.cipher.suites': 'X' }).map((p) => p.key), ['ssl.cipher.suites']);
  assert.deepEqual(problems({ 'security.protocol': 'SSL', 'ssl.endpoint.identification.algorithm': 'http' }).map((p) => p.key), ['ssl.endpoint.identification.algorithm']);
});

test('PEM stores load from files and inline text; an unreadable file is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sec-'));
  try {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'ca.pem'), cert);
    const tls = compileSecurity({ properties: { 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': join(dir, 'ca.pem'), 'ssl.endpoint.identification.algorithm': '' } }, 'kafkajs').tls!;
    assert.deepEqual(tls.ca, [cert.trim()]);
    assert.equal(tls.checkServerIdentity?.('other.example', {} as never), undefined, 'an empty algorithm turns hostname verification off');
    const strict = compileSecurity({ properties: { 'security.protocol': 'SSL', 'ssl.truststore.certificates': cert } }, 'kafkajs').tls!;
    assert.equal(strict.checkServerIdentity, undefined, 'https (the default) keeps Node\'s hostname check');
    const missing = problems({ 'security.protocol': 'SSL', 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': join(dir, 'none.p12') });
    assert.deepEqual(missing.map((p) => p.key), ['ssl.keystore.location']);
    assert.match(missing[0]!.message, /ENOENT/);
    assert.deepEqual(problems({ 'security.protocol': 'SSL', 'ssl.truststore.location': join(dir, 'ca.pem') }).map((p) => p.key), ['ssl.truststore.type'], 'the store type must be named (Kafka defaults to JKS)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OAUTHBEARER takes a token file, a worker-level command or an unsecured test token, one at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sec-'));
  try {
    writeFileSync(join(dir, 'token'), 'abc.def.\n');
    const base = { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER' };
    const file = compileSecurity({ properties: { ...base, 'sasl.oauthbearer.token.endpoint.url': `file://${join(dir, 'token')}` } }, 'kafkajs');
    assert.equal(await file.sasl!.token!(), 'abc.def.');
    const command = compileSecurity({ properties: { ...base, 'sasl.oauthbearer.token.command': 'printf tok-123' }, allowCommand: true }, 'platformatic');
    assert.equal(await command.sasl!.token!(), 'tok-123');
    assert.deepEqual(problems({ ...base, 'sasl.oauthbearer.token.command': 'printf x' }).map((p) => p.key), ['sasl.oauthbearer.token.command'], 'no command unless allowed');
    assert.match(problems({ ...base, 'sasl.oauthbearer.token.endpoint.url': 'https://idp/token' })[0]!.message, /only a file:\/\/ URL/);
    assert.equal(problems(base)[0]!.key, 'sasl.oauthbearer.token.endpoint.url');
    const unsecured = compileSecurity({ properties: { ...base, 'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="bob";' } }, 'kafkajs');
    const [header, payload, signature] = (await unsecured.sasl!.token!()).split('.');
    assert.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'none' });
    assert.equal((JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { sub: string }).sub, 'bob');
    assert.equal(signature, '');
    assert.equal(unsecuredJws('x').split('.').length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connector overrides: security keys are accepted per client role; commands and inline keys are worker-only', () => {
  const settings = parseConnectorSettings('c', {
    'connector.class': 'p',
    'producer.override.sasl.mechanism': 'SCRAM-SHA-512',
    'consumer.override.security.protocol': 'SASL_SSL',
    'admin.override.ssl.truststore.location': '/ca.pem',
  });
  assert.deepEqual(settings.clientOverrides, { producer: { 'sasl.mechanism': 'SCRAM-SHA-512' }, consumer: { 'security.protocol': 'SASL_SSL' }, admin: { 'ssl.truststore.location': '/ca.pem' } });
  assert.throws(
    () => parseConnectorSettings('c', { 'connector.class': 'p', 'producer.override.sasl.oauthbearer.token.command': 'id', 'consumer.override.ssl.keystore.key': 'k', 'admin.override.ssl.provider': 'x', 'consumer.override.max.poll.records': '5' }),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ['admin.override.ssl.provider', 'consumer.override.max.poll.records', 'consumer.override.ssl.keystore.key', 'producer.override.sasl.oauthbearer.token.command']);
      return true;
    },
  );
});

test('an override is laid over the worker settings key by key, and problems name the override key', () => {
  const worker = { brokers: ['b:1'], clientId: 'w', security: { properties: { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.jaas.config': `${SCRAM} required username="u" password="p";` }, allowCommand: true } };
  const merged = connectionWithOverrides(worker, 'producer', { 'sasl.mechanism': 'PLAIN' });
  assert.equal(merged.security!.properties['sasl.jaas.config'], worker.security.properties['sasl.jaas.config']);
  assert.equal(merged.security!.properties['sasl.mechanism'], 'PLAIN');
  assert.throws(() => createProducer(merged, { client: 'kafkajs' }), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.deepEqual(err.problems.map((p) => p.key), ['sasl.jaas.config'], 'the JAAS module now mismatches; the worker key is named as written');
    return true;
  });
  const bad = connectionWithOverrides(worker, 'consumer', { 'security.protocol': 'SSL2' });
  assert.throws(() => createProducer(bad, { client: 'platformatic' }), /consumer\.override\.security\.protocol/);
  assert.equal(connectionWithOverrides(worker, 'admin', {}), worker, 'no override: the worker connection itself');
});

test('the worker takes Kafka security from its config file only, and a bad key stops it naming the key', async () => {
  const { compileWorkerSettings } = await import('../../src/cli/worker-options.js');
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sec-'));
  try {
    const good = join(dir, 'good.json');
    const jaas = `${SCRAM} required username="u" password="pw-in-file";`;
    writeFileSync(good, JSON.stringify({ 'kafka.bootstrap': 'b:9093', 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.jaas.config': jaas, 'sasl.oauthbearer.token.command': undefined }));
    const settings = compileWorkerSettings({ config: good }, {});
    assert.deepEqual(settings.kafkaSecurity, { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.jaas.config': jaas });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'kafka.bootstrap': 'b:9093', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'GSSAPI', 'ssl.truststore.type': 'JKS', 'ssl.truststore.location': '/t.jks' }));
    assert.throws(() => compileWorkerSettings({ config: bad }, {}), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ['sasl.mechanism', 'ssl.truststore.type']);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
