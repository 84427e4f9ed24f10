/**
 * Kafka SSL and SASL on the real broker (deploy/local opens SSL with client certificates,
 * SASL_SSL and SASL_PLAINTEXT next to PLAINTEXT; docs/security-kafka.md). Each supported
 * protocol × mechanism × producer client moves verifiable records through a real source and a
 * real sink connector, counted by seq; wrong credentials, a missing client certificate and a
 * certificate for another host name fail with UNAUTHENTICATED saying what to fix.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { eventually } from '../support/eventually.js';
import { quietLogger, runAllPartitions, startDataPlane, uniqueName } from '../support/data-plane.js';
import { readEnvFile, runUp, services } from '../support/services.js';
import { readVerifiableSinkFile } from '../../src/connectors/verifiable-sink/index.js';
import { createProducer, createTopicAdmin, unsecuredJws, type KafkaSecurityProperties, type ProducerClient } from '../../src/kafka/index.js';
import { TributaryError } from '../../src/errors.js';

const RECORDS = 300;
const CLIENTS: readonly ProducerClient[] = ['kafkajs', 'platformatic'];

interface Secured {
  ssl: string;
  saslSsl: string;
  saslPlaintext: string;
  dir: string;
  user: string;
  password: string;
  storePassword: string;
}

async function securedListeners(): Promise<Secured | undefined> {
  await services();
  let env = await readEnvFile();
  if (!env.TRIBUTARY_KAFKA_SSL_BOOTSTRAP && process.env.KAFKA_BOOTSTRAP === undefined) {
    // A local broker started by an older up.sh: up.sh restarts it with the secured listeners.
    await runUp();
    env = await readEnvFile();
  }
  if (!env.TRIBUTARY_KAFKA_SSL_BOOTSTRAP) return undefined;
  return {
    ssl: env.TRIBUTARY_KAFKA_SSL_BOOTSTRAP,
    saslSsl: env.TRIBUTARY_KAFKA_SASL_SSL_BOOTSTRAP!,
    saslPlaintext: env.TRIBUTARY_KAFKA_SASL_PLAINTEXT_BOOTSTRAP!,
    dir: env.TRIBUTARY_KAFKA_SECURITY_DIR!,
    user: env.TRIBUTARY_KAFKA_SASL_USERNAME!,
    password: env.TRIBUTARY_KAFKA_SASL_PASSWORD!,
    storePassword: env.TRIBUTARY_KAFKA_STORE_PASSWORD!,
  };
}

const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const OAUTH = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';
const jaas = (module: string, user: string, password: string): string => `${module} required username="${user}" password="${password.replace(/"/g, '\\"')}";`;

/** Forwards a port on 127.0.0.2 to the broker: a host name its certificate does not hold. */
async function otherNameForwarder(target: string): Promise<{ address: string; server: Server }> {
  const [host, port] = target.split(':');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy()).on('close', () => client.destroy());
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  return { address: `127.0.0.2:${(server.address() as { port: number }).port}`, server };
}

async function expectUnauthenticated(action: () => Promise<unknown>, mentions: RegExp): Promise<void> {
  await assert.rejects(action, (err: unknown) => {
    assert.ok(err instanceof TributaryError, `a Tributary error, got ${String(err)}`);
    assert.equal(err.code, 'UNAUTHENTICATED', err.message);
    assert.match(err.message, mentions);
    return true;
  });
}

describe('Kafka SSL and SASL through both clients on the real broker', async () => {
  const secured = await securedListeners();
  const external = process.env.KAFKA_BOOTSTRAP !== undefined;
  // A broker given from outside (KAFKA_BOOTSTRAP) has none of the local listeners; the local one must.
  if (!secured && !external) throw new Error('deploy/local/up.sh did not write TRIBUTARY_KAFKA_SSL_BOOTSTRAP to the env file; see its output above');
  const s = secured!;
  const tokenFile = join(s?.dir ?? '/nonexistent', 'test-token.jwt');

  before(() => {
    if (secured) writeFileSync(tokenFile, unsecuredJws('tributary-test'), { mode: 0o600 });
  });

  const cases: Array<{ name: string; bootstrap: () => string; props: () => KafkaSecurityProperties }> = [
    {
      name: 'SSL, PEM truststore, PKCS12 keystore',
      bootstrap: () => s.ssl,
      props: () => ({ 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': `${s.dir}/ca.crt`, 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': `${s.dir}/client.p12`, 'ssl.keystore.password': s.storePassword }),
    },
    {
      name: 'SSL, PKCS12 truststore, inline PEM key and chain',
      bootstrap: () => s.ssl,
      props: () => ({
        'security.protocol': 'SSL',
        'ssl.truststore.type': 'PKCS12',
        'ssl.truststore.location': `${s.dir}/truststore.p12`,
        'ssl.truststore.password': s.storePassword,
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.key': readFileSync(`${s.dir}/client.key`, 'utf8'),
        'ssl.keystore.certificate.chain': readFileSync(`${s.dir}/client.crt`, 'utf8'),
      }),
    },
    ...(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).flatMap((mechanism) => [
      {
        name: `SASL_SSL ${mechanism}`,
        bootstrap: () => s.saslSsl,
        props: () => ({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': mechanism, 'sasl.jaas.config': jaas(mechanism === 'PLAIN' ? PLAIN : SCRAM, s.user, s.password), 'ssl.truststore.type': 'PEM', 'ssl.truststore.certificates': readFileSync(`${s.dir}/ca.crt`, 'utf8') }),
      },
      {
        name: `SASL_PLAINTEXT ${mechanism}`,
        bootstrap: () => s.saslPlaintext,
        props: () => ({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': mechanism, 'sasl.jaas.config': jaas(mechanism === 'PLAIN' ? PLAIN : SCRAM, s.user, s.password) }),
      },
    ]),
    {
      name: 'SASL_SSL OAUTHBEARER, token file',
      bootstrap: () => s.saslSsl,
      props: () => ({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER', 'sasl.jaas.config': `${OAUTH} required;`, 'sasl.oauthbearer.token.endpoint.url': `file://${tokenFile}`, 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': `${s.dir}/ca.crt` }),
    },
    {
      name: 'SASL_PLAINTEXT OAUTHBEARER, token command',
      bootstrap: () => s.saslPlaintext,
      props: () => ({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER', 'sasl.oauthbearer.token.command': `cat '${tokenFile}'` }),
    },
  ];

  for (const c of cases) {
    for (const client of CLIENTS) {
      test(`${c.name}, ${client} producer: a source and a sink move every seq once`, { skip: !secured && 'KAFKA_BOOTSTRAP names an external broker without the local secured listeners' }, async () => {
        const dp = await startDataPlane({ kafka: { brokers: [c.bootstrap()], producerClient: client, security: c.props() } });
        try {
          const topic = uniqueName('sec');
          const source = uniqueName('sec-src');
          await runAllPartitions(dp, source, { 'connector.class': 'verifiable-source', topic, partitions: '1', 'max.records': String(RECORDS), 'topic.creation.default.partitions': '1' });
          await eventually(async () => [...(await dp.offsets.readAll(source)).values()].some((o) => Buffer.from(o.offset).toString() === String(RECORDS - 1)), { timeoutMs: 60_000, intervalMs: 100, message: 'the source committed its last record' });
          const sink = uniqueName('sec-sink');
          const file = join(dp.dir, `${sink}.jsonl`);
          await runAllPartitions(dp, sink, { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': file });
          await eventually(async () => (await readVerifiableSinkFile(file).catch(() => ({ records: [] }))).records.length >= RECORDS, { timeoutMs: 60_000, intervalMs: 100, message: `the sink wrote ${RECORDS} records` });
          const seqs = (await readVerifiableSinkFile(file)).records.map((r) => r.seq);
          assert.deepEqual(seqs, Array.from({ length: RECORDS }, (_, i) => i), 'every seq once, in order');
        } finally {
          await dp.close();
        }
      });
    }
  }

  test('per-connector overrides replace the worker\'s settings for that connector only', { skip: !secured && 'no local secured listeners' }, async () => {
    // The worker authenticates with SCRAM-SHA-256; one connector's producer with SCRAM-SHA-512.
    const base = { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.jaas.config': jaas(SCRAM, s.user, s.password) };
    const dp = await startDataPlane({ kafka: { brokers: [s.saslPlaintext], security: base } });
    try {
      const topic = uniqueName('sec-ovr');
      const good = uniqueName('ovr-good');
      await runAllPartitions(dp, good, { 'connector.class': 'verifiable-source', topic, partitions: '1', 'max.records': '50', 'topic.creation.default.partitions': '1', 'producer.override.sasl.mechanism': 'SCRAM-SHA-512' });
      await eventually(async () => [...(await dp.offsets.readAll(good)).values()].some((o) => Buffer.from(o.offset).toString() === '49'), { timeoutMs: 60_000, intervalMs: 100, message: 'the overriding source committed its last record' });

      // A wrong password in an override fails that connector, although the worker's is right.
      for (const [key, config] of [
        ['producer', { 'connector.class': 'verifiable-source', topic, partitions: '1', 'max.records': '1' }],
        ['consumer', { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': join(dp.dir, 'never.jsonl') }],
      ] as const) {
        await expectUnauthenticated(() => runAllPartitions(dp, uniqueName(`ovr-bad-${key}`), { ...config, [`${key}.override.sasl.jaas.config`]: jaas(SCRAM, s.user, 'not-the-password') }), /refused the SASL credentials.*sasl\.jaas\.config/);
      }
      assert.deepEqual(dp.worker.connectors().map((r) => r.name), [good], 'the refused connectors were not left open');
    } finally {
      await dp.close();
    }
  });

  for (const client of CLIENTS) {
    test(`a wrong password is refused with UNAUTHENTICATED naming sasl.jaas.config (${client})`, { skip: !secured && 'no local secured listeners' }, async () => {
      const producer = createProducer(
        { brokers: [s.saslSsl], clientId: 'sec-wrong', requestTimeoutMs: 10_000, security: { properties: { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.jaas.config': jaas(SCRAM, s.user, 'wrong-password-123'), 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': `${s.dir}/ca.crt` } } },
        { client },
      );
      try {
        await expectUnauthenticated(() => producer.start(), /refused the SASL credentials.*sasl\.jaas\.config/);
      } finally {
        await producer.stop();
      }
    });

    test(`hostname verification refuses a certificate for another name, and can be turned off (${client})`, { skip: !secured && 'no local secured listeners' }, async () => {
      const { address, server } = await otherNameForwarder(s.ssl);
      const props = { 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': `${s.dir}/ca.crt`, 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': `${s.dir}/client.p12`, 'ssl.keystore.password': s.storePassword };
      try {
        const strict = createProducer({ brokers: [address], clientId: 'sec-host', requestTimeoutMs: 10_000, security: { properties: props } }, { client });
        try {
          await expectUnauthenticated(() => strict.start(), /not issued for the host name.*ssl\.endpoint\.identification\.algorithm/);
        } finally {
          await strict.stop();
        }
        const topic = uniqueName('sec-host');
        const admin = createTopicAdmin({ brokers: [s.ssl], clientId: 'sec-host-admin', security: { properties: props } }, quietLogger);
        await admin.start();
        await admin.createTopics([{ name: topic, partitions: 1 }]);
        await admin.stop();
        const lax = createProducer({ brokers: [address], clientId: 'sec-host', requestTimeoutMs: 10_000, security: { properties: { ...props, 'ssl.endpoint.identification.algorithm': '' } } }, { client });
        try {
          await lax.start();
          await lax.send([{ topic, key: null, value: Buffer.from('reached') }]);
        } finally {
          await lax.stop();
        }
      } finally {
        server.close();
      }
    });
  }

  test('the SSL listener refuses a client without a certificate (kafkajs names the keystore)', { skip: !secured && 'no local secured listeners' }, async () => {
    const producer = createProducer({ brokers: [s.ssl], clientId: 'sec-nocert', requestTimeoutMs: 10_000, security: { properties: { 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': `${s.dir}/ca.crt` } } }, { client: 'kafkajs' });
    try {
      await expectUnauthenticated(() => producer.start(), /refused this client's TLS certificate.*ssl\.keystore\.location/);
    } finally {
      await producer.stop();
    }
  });

});
