/**
 * Kafka client security with the Java client's (and so Kafka Connect's) property names:
 * `security.protocol`, `sasl.mechanism`, `sasl.jaas.config`, `ssl.truststore.*`, `ssl.keystore.*`,
 * `ssl.key.password`, `ssl.endpoint.identification.algorithm`, plus the OAUTHBEARER token sources.
 * `compileSecurity` turns those strings into what both adapters need (Node TLS options, SASL
 * credentials, a token provider), reading certificate files once; every problem is reported on
 * the key the operator wrote (`producer.override.sasl.jaas.config`, …), never with a secret value.
 * A key that would be accepted and not applied is an error, so nothing is silently ignored.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import type { ProducerClient } from './types.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/** Kafka client properties (`security.protocol`, `sasl.*`, `ssl.*`), by their Kafka names. */
export type KafkaSecurityProperties = Readonly<Record<string, string>>;

/** Which Kafka client library will use the settings; mechanisms are checked against it. */
export type SecurityClient = ProducerClient;

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];

/**
 * SASL mechanisms each adapter implements (kafkajs 2.2.4: `plain`, `scram-sha-256/512`,
 * `oauthbearer`; @platformatic/kafka 1.35: PLAIN, SCRAM-SHA-256/512, OAUTHBEARER). Neither has
 * GSSAPI (Kerberos) or AWS_MSK_IAM, which validation refuses by name.
 */
const CLIENT_MECHANISMS: Record<SecurityClient, readonly SaslMechanism[]> = {
  kafkajs: MECHANISMS,
  platformatic: MECHANISMS,
};

/** A Tributary key (no Java equivalent): a command whose standard output is the OAuth token. */
export const TOKEN_COMMAND_KEY = 'sasl.oauthbearer.token.command';

/** Every key compileSecurity understands; any other `ssl.*` / `sasl.*` key is refused. */
export const SECURITY_KEYS: readonly string[] = [
  'security.protocol',
  'sasl.mechanism',
  'sasl.jaas.config',
  'sasl.login.callback.handler.class',
  'sasl.oauthbearer.token.endpoint.url',
  TOKEN_COMMAND_KEY,
  'ssl.truststore.type',
  'ssl.truststore.location',
  'ssl.truststore.password',
  'ssl.truststore.certificates',
  'ssl.keystore.type',
  'ssl.keystore.location',
  'ssl.keystore.password',
  'ssl.keystore.key',
  'ssl.keystore.certificate.chain',
  'ssl.key.password',
  'ssl.endpoint.identification.algorithm',
];

/** True for keys that belong to Kafka client security (what the `*.override.` prefixes may carry). */
export function isSecurityKey(key: string): boolean {
  return key === 'security.protocol' || key.startsWith('ssl.') || key.startsWith('sasl.');
}

export interface CompiledSasl {
  mechanism: SaslMechanism;
  username?: string;
  password?: string;
  /** OAUTHBEARER: the token for each new connection (re-read from its file / command each time). */
  token?: () => Promise<string>;
}

export interface CompiledSecurity {
  protocol: SecurityProtocol;
  /** Node TLS options for SSL and SASL_SSL; undefined for the plaintext protocols. */
  tls: TlsOptions | undefined;
  sasl: CompiledSasl | undefined;
}

export const PLAINTEXT_SECURITY: CompiledSecurity = { protocol: 'PLAINTEXT', tls: undefined, sasl: undefined };

export interface SecurityInput {
  properties: KafkaSecurityProperties;
  /** The key as the operator wrote it, for messages (default: the property name itself). */
  keyName?: (property: string) => string;
  /** Whether `sasl.oauthbearer.token.command` may be used (worker-level settings only). */
  allowCommand?: boolean;
}

// ---------------------------------------------------------------------------------------------
// sasl.jaas.config

export interface JaasEntry {
  loginModule: string;
  flag: string;
  options: Record<string, string>;
}

/**
 * Parses a one-module JAAS line as Kafka does (`LoginModule flag key="value" key=value;`).
 * Quoted values may contain `\"` and `\\`. Throws a plain Error with a message that never
 * contains an option's value (it may be a password).
 */
export function parseJaasConfig(text: string): JaasEntry {
  let i = 0;
  const n = text.length;
  const skip = (): void => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  const word = (): string => {
    skip();
    const start = i;
    while (i < n && /[^\s=;"]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  const loginModule = word();
  if (!loginModule) throw new Error('must start with a login module class, e.g. org.apache.kafka.common.security.plain.PlainLoginModule');
  const flag = word();
  if (!['required', 'requisite', 'sufficient', 'optional'].includes(flag)) throw new Error(`the login module must be followed by a control flag (required, requisite, sufficient or optional)`);
  const options: Record<string, string> = {};
  for (;;) {
    skip();
    if (i >= n) throw new Error('must end with ";"');
    if (text[i] === ';') {
      i++;
      skip();
      if (i < n) throw new Error('must hold exactly one login module (text follows the first ";")');
      return { loginModule, flag, options };
    }
    const key = word();
    skip();
    if (!key || text[i] !== '=') throw new Error(`expected key=value after ${key ? `"${key}"` : 'the control flag'}`);
    i++;
    skip();
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new Error(`the value of "${key}" has no closing quote`);
    } else {
      value = word();
      if (!value) throw new Error(`"${key}" has no value`);
    }
    options[key] = value;
  }
}

const LOGIN_MODULES: Record<SaslMechanism, string> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  OAUTHBEARER: 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
};

/** An unsecured JWS (`alg: none`), as Kafka's OAuthBearerUnsecuredLoginCallbackHandler builds for tests. */
export function unsecuredJws(subject: string, lifetimeSeconds = 3600, nowMs = Date.now()): string {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(nowMs / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub: subject, iat, exp: iat + lifetimeSeconds })}.`;
}

function runTokenCommand(command: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      // The command's output is the token: never put it (or stderr, which may echo it) in a message.
      if (err) reject(new InvalidArgumentError('the OAuth token command failed', [{ key, message: `exited with ${err.code ?? err.signal ?? 'an error'}; fix the command` }]));
      else if (stdout.trim() === '') reject(new InvalidArgumentError('the OAuth token command printed no token', [{ key, message: 'printed nothing on standard output' }]));
      else resolve(stdout.trim());
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Stores

function readText(location: string, key: string, problems: ConfigProblem[]): string | undefined {
  try {
    return readFileSync(location, 'utf8');
  } catch (err) {
    problems.push({ key, message: `cannot read "${location}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

function readBytes(location: string, key: string, problems: ConfigProblem[]): Buffer | undefined {
  try {
    return readFileSync(location);
  } catch (err) {
    problems.push({ key, message: `cannot read "${location}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/;

/** The CA certificates of a PKCS12 truststore (Java keytool's or `openssl pkcs12 -nokeys`). */
function pkcs12Certificates(bytes: Buffer, password: string): string[] {
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
  const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  const bags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  return bags.flatMap((b) => (b.cert ? [forge.pki.certificateToPem(b.cert)] : []));
}

type StoreType = 'PEM' | 'PKCS12';

function storeType(props: KafkaSecurityProperties, key: string, name: (k: string) => string, problems: ConfigProblem[]): StoreType | undefined {
  const raw = props[key]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const upper = raw.toUpperCase();
  if (upper === 'PEM' || upper === 'PKCS12') return upper;
  if (upper === 'JKS') {
    problems.push({ key: name(key), message: 'JKS stores cannot be read by Node.js; convert it with `keytool -importkeystore -deststoretype PKCS12` and set PKCS12, or use PEM' });
  } else {
    problems.push({ key: name(key), message: `must be PEM or PKCS12, got "${raw}"` });
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * Compiles Kafka security properties for `client`. Throws InvalidArgumentError naming every bad
 * key (as `keyName` spells it); reads the trust- and keystore files it names.
 */
export function compileSecurity(input: SecurityInput, client: SecurityClient): CompiledSecurity {
  const props = input.properties;
  const name = input.keyName ?? ((k: string) => k);
  const problems: ConfigProblem[] = [];

  for (const key of Object.keys(props)) {
    if (!SECURITY_KEYS.includes(key)) {
      problems.push({ key: name(key), message: isSecurityKey(key) ? 'is not a Kafka security setting Tributary applies (docs/security-kafka.md lists them)' : 'is not a Kafka security setting' });
    }
  }

  const protocolRaw = (props['security.protocol'] ?? 'PLAINTEXT').trim().toUpperCase();
  let protocol: SecurityProtocol = 'PLAINTEXT';
  if ((PROTOCOLS as readonly string[]).includes(protocolRaw)) protocol = protocolRaw as SecurityProtocol;
  else problems.push({ key: name('security.protocol'), message: `must be one of ${PROTOCOLS.join(', ')}, got "${props['security.protocol']}"` });
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';

  // Settings of a layer the protocol does not have would be silently unused: refuse them.
  if (!usesTls) {
    for (const key of Object.keys(props)) {
      if (key.startsWith('ssl.')) problems.push({ key: name(key), message: `is not used with security.protocol=${protocol}; set security.protocol to SSL or SASL_SSL, or remove it` });
    }
  }
  if (!usesSasl) {
    for (const key of Object.keys(props)) {
      if (key.startsWith('sasl.')) problems.push({ key: name(key), message: `is not used with security.protocol=${protocol}; set security.protocol to SASL_SSL or SASL_PLAINTEXT, or remove it` });
    }
  }

  const tls = usesTls ? compileTls(props, name, problems) : undefined;
  const sasl = usesSasl ? compileSasl(props, name, problems, client, input.allowCommand === true) : undefined;

  if (problems.length > 0) throw new InvalidArgumentError('invalid Kafka security settings', problems);
  return { protocol, tls, sasl };
}

function compileTls(props: KafkaSecurityProperties, name: (k: string) => string, problems: ConfigProblem[]): TlsOptions {
  const tls: TlsOptions = {};
  // Truststore: the CAs that may sign the broker's certificate (none set: the system's CAs).
  const trustType = storeType(props, 'ssl.truststore.type', name, problems);
  const trustLocation = props['ssl.truststore.location'];
  const trustInline = props['ssl.truststore.certificates'];
  if (trustLocation !== undefined && trustInline !== undefined) {
    problems.push({ key: name('ssl.truststore.certificates'), message: 'set either ssl.truststore.location or ssl.truststore.certificates, not both' });
  } else if (trustInline !== undefined) {
    if (trustType === 'PKCS12') problems.push({ key: name('ssl.truststore.certificates'), message: 'holds PEM text; it needs ssl.truststore.type=PEM' });
    const certs = trustInline.match(PEM_CERT);
    if (!certs) problems.push({ key: name('ssl.truststore.certificates'), message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' });
    else tls.ca = certs;
  } else if (trustLocation !== undefined) {
    if (props['ssl.truststore.type'] === undefined) {
      problems.push({ key: name('ssl.truststore.type'), message: 'is required with ssl.truststore.location: PEM or PKCS12 (Kafka\'s default, JKS, cannot be read by Node.js)' });
    } else if (trustType === undefined) {
      // An unusable type was reported above; the file is not read as something else.
    } else if (trustType === 'PEM') {
      if (props['ssl.truststore.password'] !== undefined) problems.push({ key: name('ssl.truststore.password'), message: 'is not used with ssl.truststore.type=PEM; remove it' });
      const text = readText(trustLocation, name('ssl.truststore.location'), problems);
      const certs = text?.match(PEM_CERT);
      if (text !== undefined && !certs) problems.push({ key: name('ssl.truststore.location'), message: `"${trustLocation}" holds no PEM certificate` });
      if (certs) tls.ca = certs;
    } else {
      const bytes = readBytes(trustLocation, name('ssl.truststore.location'), problems);
      if (bytes) {
        try {
          const certs = pkcs12Certificates(bytes, props['ssl.truststore.password'] ?? '');
          if (certs.length === 0) problems.push({ key: name('ssl.truststore.location'), message: `"${trustLocation}" holds no certificate` });
          else tls.ca = certs;
        } catch {
          problems.push({ key: name('ssl.truststore.location'), message: `"${trustLocation}" is not a PKCS12 store this ssl.truststore.password opens` });
        }
      }
    }
  } else if (trustType !== undefined || props['ssl.truststore.password'] !== undefined) {
    problems.push({ key: name('ssl.truststore.location'), message: 'is required when ssl.truststore.type or ssl.truststore.password is set' });
  }

  // Keystore: this client's own certificate, for brokers that ask for one (ssl.client.auth).
  const keyType = storeType(props, 'ssl.keystore.type', name, problems);
  const keyLocation = props['ssl.keystore.location'];
  const inlineKey = props['ssl.keystore.key'];
  const inlineChain = props['ssl.keystore.certificate.chain'];
  const keyPassword = props['ssl.key.password'];
  if (keyLocation !== undefined && (inlineKey !== undefined || inlineChain !== undefined)) {
    problems.push({ key: name('ssl.keystore.location'), message: 'set either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain, not both' });
  } else if (inlineKey !== undefined || inlineChain !== undefined) {
    if (keyType === 'PKCS12') problems.push({ key: name('ssl.keystore.type'), message: 'ssl.keystore.key and ssl.keystore.certificate.chain are PEM text; they need ssl.keystore.type=PEM' });
    if (inlineKey === undefined || !PEM_KEY.test(inlineKey)) problems.push({ key: name('ssl.keystore.key'), message: 'must hold a PEM private key (-----BEGIN PRIVATE KEY-----) when ssl.keystore.certificate.chain is set' });
    const chain = inlineChain?.match(PEM_CERT);
    if (!chain) problems.push({ key: name('ssl.keystore.certificate.chain'), message: 'must hold the PEM certificate chain when ssl.keystore.key is set' });
    if (inlineKey !== undefined && chain) {
      tls.key = inlineKey;
      tls.cert = chain.join('\n');
      if (keyPassword !== undefined) tls.passphrase = keyPassword;
    }
  } else if (keyLocation !== undefined) {
    if (props['ssl.keystore.type'] === undefined) {
      problems.push({ key: name('ssl.keystore.type'), message: 'is required with ssl.keystore.location: PEM or PKCS12 (Kafka\'s default, JKS, cannot be read by Node.js)' });
    } else if (keyType === 'PEM') {
      if (props['ssl.keystore.password'] !== undefined) problems.push({ key: name('ssl.keystore.password'), message: 'is not used with ssl.keystore.type=PEM (an encrypted key takes ssl.key.password); remove it' });
      const text = readText(keyLocation, name('ssl.keystore.location'), problems);
      if (text !== undefined) {
        const key = PEM_KEY.exec(text)?.[0];
        const chain = text.match(PEM_CERT);
        if (!key || !chain) problems.push({ key: name('ssl.keystore.location'), message: `"${keyLocation}" must hold a PEM private key and its certificate chain` });
        else {
          tls.key = key;
          tls.cert = chain.join('\n');
          if (keyPassword !== undefined) tls.passphrase = keyPassword;
        }
      }
    } else if (keyType === 'PKCS12') {
      const bytes = readBytes(keyLocation, name('ssl.keystore.location'), problems);
      if (bytes) {
        tls.pfx = bytes;
        // Node opens the store and its key with one passphrase; Java may use two.
        const storePassword = props['ssl.keystore.password'];
        if (keyPassword !== undefined && storePassword !== undefined && keyPassword !== storePassword) {
          problems.push({ key: name('ssl.key.password'), message: 'must equal ssl.keystore.password for a PKCS12 keystore (Node.js opens both with one password), or be left out' });
        }
        const pass = storePassword ?? keyPassword;
        if (pass !== undefined) tls.passphrase = pass;
      }
    }
  } else if (keyType !== undefined || props['ssl.keystore.password'] !== undefined || keyPassword !== undefined) {
    problems.push({ key: name('ssl.keystore.location'), message: 'is required when ssl.keystore.type, ssl.keystore.password or ssl.key.password is set' });
  }

  // Hostname verification: Kafka's default is https (on); an empty value turns it off.
  const algorithm = props['ssl.endpoint.identification.algorithm'];
  if (algorithm !== undefined) {
    const value = algorithm.trim().toLowerCase();
    if (value === '') tls.checkServerIdentity = () => undefined;
    else if (value !== 'https') problems.push({ key: name('ssl.endpoint.identification.algorithm'), message: `must be https (verify the broker's hostname) or empty (do not), got "${algorithm}"` });
  }
  return tls;
}

function compileSasl(props: KafkaSecurityProperties, name: (k: string) => string, problems: ConfigProblem[], client: SecurityClient, allowCommand: boolean): CompiledSasl | undefined {
  // Kafka's default mechanism is GSSAPI, which no adapter has: require it to be named.
  const raw = props['sasl.mechanism']?.trim().toUpperCase();
  if (raw === undefined || raw === '') {
    problems.push({ key: name('sasl.mechanism'), message: `is required with SASL: one of ${MECHANISMS.join(', ')}` });
    return undefined;
  }
  if (!(CLIENT_MECHANISMS[client] as readonly string[]).includes(raw)) {
    const who = (MECHANISMS as readonly string[]).includes(raw) ? `the ${client} client` : 'either Kafka client (kafkajs, platformatic)';
    problems.push({ key: name('sasl.mechanism'), message: `${raw} is not supported by ${who}; use one of ${CLIENT_MECHANISMS[client].join(', ')}` });
    return undefined;
  }
  const mechanism = raw as SaslMechanism;
  const jaasText = props['sasl.jaas.config'];
  let jaas: JaasEntry | undefined;
  if (jaasText !== undefined) {
    try {
      jaas = parseJaasConfig(jaasText);
    } catch (err) {
      problems.push({ key: name('sasl.jaas.config'), message: (err as Error).message });
      return undefined;
    }
    if (jaas.loginModule !== LOGIN_MODULES[mechanism]) {
      problems.push({ key: name('sasl.jaas.config'), message: `sasl.mechanism=${mechanism} needs ${LOGIN_MODULES[mechanism]}, got ${jaas.loginModule}` });
      return undefined;
    }
  }
  if (mechanism !== 'OAUTHBEARER') {
    for (const key of ['sasl.oauthbearer.token.endpoint.url', TOKEN_COMMAND_KEY, 'sasl.login.callback.handler.class']) {
      if (has(props, key)) problems.push({ key: name(key), message: `is used only with sasl.mechanism=OAUTHBEARER; remove it` });
    }
    if (!jaas) {
      problems.push({ key: name('sasl.jaas.config'), message: `is required with ${mechanism}: ${LOGIN_MODULES[mechanism]} required username="…" password="…";` });
      return undefined;
    }
    const { username, password } = jaas.options;
    if (!username) problems.push({ key: name('sasl.jaas.config'), message: 'has no username="…"' });
    if (password === undefined) problems.push({ key: name('sasl.jaas.config'), message: 'has no password="…"' });
    for (const option of Object.keys(jaas.options)) {
      if (option !== 'username' && option !== 'password') problems.push({ key: name('sasl.jaas.config'), message: `option "${option}" is not applied by Tributary; remove it` });
    }
    if (!username || password === undefined) return undefined;
    return { mechanism, username, password };
  }
  return { mechanism, token: tokenSource(props, name, problems, jaas, allowCommand) };
}

function has(props: KafkaSecurityProperties, key: string): boolean {
  return props[key] !== undefined;
}

const LOGIN_HANDLER = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler';

/** OAUTHBEARER: a token file (Kafka's file:// token endpoint), a command, or an unsecured test token. */
function tokenSource(props: KafkaSecurityProperties, name: (k: string) => string, problems: ConfigProblem[], jaas: JaasEntry | undefined, allowCommand: boolean): () => Promise<string> {
  const url = props['sasl.oauthbearer.token.endpoint.url'];
  const command = props[TOKEN_COMMAND_KEY];
  const handler = props['sasl.login.callback.handler.class'];
  const unsecuredSub = jaas?.options['unsecuredLoginStringClaim_sub'];
  const none = (): Promise<string> => Promise.reject(new Error('no token source'));
  if (handler !== undefined && handler !== LOGIN_HANDLER) {
    problems.push({ key: name('sasl.login.callback.handler.class'), message: `only ${LOGIN_HANDLER} (a token from sasl.oauthbearer.token.endpoint.url) is available` });
  }
  for (const option of Object.keys(jaas?.options ?? {})) {
    if (option !== 'unsecuredLoginStringClaim_sub' && option !== 'unsecuredLoginLifetimeSeconds') problems.push({ key: name('sasl.jaas.config'), message: `option "${option}" is not applied by Tributary; remove it` });
  }
  const sources = [url !== undefined, command !== undefined, unsecuredSub !== undefined].filter(Boolean).length;
  if (sources === 0) {
    problems.push({ key: name('sasl.oauthbearer.token.endpoint.url'), message: `OAUTHBEARER needs a token: sasl.oauthbearer.token.endpoint.url=file:///path/to/token, ${TOKEN_COMMAND_KEY} (worker config only), or unsecuredLoginStringClaim_sub in sasl.jaas.config (test brokers only)` });
    return none;
  }
  if (sources > 1) {
    problems.push({ key: name('sasl.oauthbearer.token.endpoint.url'), message: `set one token source: sasl.oauthbearer.token.endpoint.url, ${TOKEN_COMMAND_KEY} or unsecuredLoginStringClaim_sub` });
    return none;
  }
  if (url !== undefined) {
    if (!url.startsWith('file:')) {
      problems.push({ key: name('sasl.oauthbearer.token.endpoint.url'), message: 'only a file:// URL of a token file is supported (no client-credentials flow against an HTTP token endpoint); fetch the token with a command instead' });
      return none;
    }
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      problems.push({ key: name('sasl.oauthbearer.token.endpoint.url'), message: `"${url}" is not a file:// URL` });
      return none;
    }
    readText(path, name('sasl.oauthbearer.token.endpoint.url'), problems);
    const key = name('sasl.oauthbearer.token.endpoint.url');
    // Re-read at every new connection: a token file is rotated by whoever issues the token.
    return async () => {
      const token = (await readFile(path, 'utf8')).trim();
      if (!token) throw new InvalidArgumentError('the OAuth token file is empty', [{ key, message: `"${path}" is empty` }]);
      return token;
    };
  }
  if (command !== undefined) {
    if (!allowCommand) {
      problems.push({ key: name(TOKEN_COMMAND_KEY), message: 'may be set only in the worker config (it runs a command on the worker), not in a connector config' });
      return none;
    }
    if (command.trim() === '') problems.push({ key: name(TOKEN_COMMAND_KEY), message: 'must not be empty' });
    const key = name(TOKEN_COMMAND_KEY);
    return () => runTokenCommand(command, key);
  }
  const lifetimeRaw = jaas?.options['unsecuredLoginLifetimeSeconds'];
  const lifetime = lifetimeRaw === undefined ? 3600 : Number(lifetimeRaw);
  if (!Number.isInteger(lifetime) || lifetime <= 0) problems.push({ key: name('sasl.jaas.config'), message: 'unsecuredLoginLifetimeSeconds must be a positive integer' });
  return () => Promise.resolve(unsecuredJws(unsecuredSub!, lifetime));
}
