/**
 * Converts kafkajs and @platformatic/kafka errors into Tributary errors, where they leave the
 * adapters. Each library error is first reduced to library-neutral facts (a Kafka protocol error
 * name, a network failure, a timeout, ...), then one table decides the Tributary error: the same
 * broker condition gives the same error whichever client met it. Messages name the topic and say
 * what to do next; `retriable` is true only where waiting can help.
 */
import {
  AlreadyExistsError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  TributaryError,
  UnauthenticatedError,
  UnavailableError,
} from '../errors.js';

/** Another producer took over this producer's transactionalId: stop this one, never retry. */
export class ProducerFencedError extends FailedPreconditionError {}

/** Kafka refused a record batch as larger than the topic's max.message.bytes. */
export class RecordTooLargeError extends InvalidArgumentError {}

export interface KafkaErrorContext {
  /** What was attempted, for the message: 'produce', 'fetch', 'create topics', ... */
  operation: string;
  /** Topics the operation touched (named in the message). */
  topics?: readonly string[];
  /** max.message.bytes per topic, when the adapter could look it up after MESSAGE_TOO_LARGE. */
  maxMessageBytes?: ReadonlyMap<string, number>;
  transactionalId?: string;
  brokers?: readonly string[];
}

/** What a library error says, without the library's shapes. */
export type ErrorFacts =
  | { kind: 'protocol'; type: string; retriable: boolean; message: string }
  | { kind: 'unknown-topic'; topic: string | undefined }
  | { kind: 'network'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'usage'; message: string }
  | { kind: 'auth'; message: string }
  | { kind: 'tls'; code: string; message: string }
  | { kind: 'other'; message: string };

/** Node's certificate-verification error codes: the broker's certificate is not trusted. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

/** A TLS failure in a socket error's code or (kafkajs copies only the text) its message, else undefined. */
function tlsFact(code: string | undefined, raw: string): ErrorFacts | undefined {
  // OpenSSL's texts end in a newline and a source location; keep the message on one line.
  const message = raw.replace(/\s+/g, ' ').trim();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/.test(message)) return { kind: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID', message };
  if (code !== undefined && (UNTRUSTED.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) return { kind: 'tls', code, message };
  if (/alert (bad certificate|certificate required|unknown ca)/i.test(message)) return { kind: 'tls', code: 'ERR_SSL_ALERT_BAD_CERTIFICATE', message };
  if (/self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired/i.test(message)) return { kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN', message };
  return undefined;
}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const UNKNOWN_TOPIC = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTION_COORDINATOR_FENCED']);
const BAD_REQUEST = new Set([
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT',
  'INVALID_CONFIG',
  'POLICY_VIOLATION',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** Most specific first: when a library aggregates several errors, the first kind found wins. */
function rank(f: ErrorFacts): number {
  // Wrong credentials or certificates explain every other failure of the same attempt.
  if (f.kind === 'auth' || f.kind === 'tls' || (f.kind === 'protocol' && f.type === 'SASL_AUTHENTICATION_FAILED')) return -1;
  if (f.kind === 'protocol' && TOO_LARGE.has(f.type)) return 0;
  if (f.kind === 'unknown-topic' || (f.kind === 'protocol' && UNKNOWN_TOPIC.has(f.type))) return 1;
  if (f.kind === 'protocol' && FENCED.has(f.type)) return 2;
  if (f.kind === 'protocol' && !f.retriable) return 3;
  if (f.kind === 'usage') return 4;
  if (f.kind === 'timeout') return 5;
  if (f.kind === 'protocol') return 6;
  if (f.kind === 'network') return 7;
  return 8;
}

function topicsText(ctx: KafkaErrorContext): string {
  const topics = [...new Set(ctx.topics ?? [])];
  if (topics.length === 0) return 'the topic';
  return topics.length === 1 ? `topic "${topics[0]}"` : `topics ${topics.map((t) => `"${t}"`).join(', ')}`;
}

function brokersText(ctx: KafkaErrorContext): string {
  return ctx.brokers && ctx.brokers.length > 0 ? ` at ${ctx.brokers.join(',')}` : '';
}

/** The one table from facts to a Tributary error. */
export function factsToError(all: ErrorFacts[], ctx: KafkaErrorContext, cause: unknown): TributaryError {
  const facts = [...all].sort((a, b) => rank(a) - rank(b))[0] ?? { kind: 'other', message: String(cause) };
  const op = ctx.operation;
  switch (facts.kind) {
    case 'unknown-topic': {
      const where = facts.topic ? `topic "${facts.topic}"` : topicsText(ctx);
      return new NotFoundError(`${op}: ${where} does not exist (topic auto-creation is off); create it first`, { cause });
    }
    case 'network':
      return new UnavailableError(
        `${op}: cannot reach Kafka${brokersText(ctx)} (${facts.message}); check that the brokers are up and reachable, then retry`,
        { cause },
      );
    case 'timeout':
      return new DeadlineExceededError(
        `${op}: Kafka${brokersText(ctx)} did not answer in time (${facts.message}); retry, or raise requestTimeoutMs if the cluster is just slow`,
        { cause },
      );
    case 'usage':
      return facts.message.startsWith('/')
        ? new InvalidArgumentError(`${op}: the Kafka client rejected its arguments (${facts.message})`, [], { cause })
        : new FailedPreconditionError(`${op}: ${facts.message}`, { cause });
    case 'other':
      return new InternalError(`${op} failed: ${facts.message}`, { cause });
    case 'auth':
      return saslError(op, ctx, facts.message, cause);
    case 'tls':
      return tlsError(op, ctx, facts, cause);
    case 'protocol':
      break;
  }
  const { type, message } = facts;
  if (type === 'SASL_AUTHENTICATION_FAILED') return saslError(op, ctx, message, cause);
  if (TOO_LARGE.has(type)) {
    const limits = [...new Set(ctx.topics ?? [])].flatMap((t) => {
      const limit = ctx.maxMessageBytes?.get(t);
      return limit === undefined ? [] : [`"${t}": max.message.bytes = ${limit} bytes`];
    });
    const limit = limits.length > 0 ? limits.join('; ') : "the topic's max.message.bytes";
    return new RecordTooLargeError(
      `${op}: a record batch for ${topicsText(ctx)} is larger than the broker accepts (${limit}); send smaller records or raise max.message.bytes of the topic`,
      [],
      { cause },
    );
  }
  if (UNKNOWN_TOPIC.has(type)) {
    return new NotFoundError(`${op}: ${topicsText(ctx)} or one of its partitions does not exist (topic auto-creation is off); create it first`, { cause });
  }
  if (FENCED.has(type)) {
    const id = ctx.transactionalId ? ` with transactionalId "${ctx.transactionalId}"` : '';
    return new ProducerFencedError(
      `${op}: this producer was fenced by a newer producer${id} (${type}); stop it: only the newest instance may write`,
      { cause },
    );
  }
  if (type === 'TOPIC_ALREADY_EXISTS') return new AlreadyExistsError(`${op}: ${topicsText(ctx)} already exists`, { cause });
  if (type === 'REQUEST_TIMED_OUT') {
    return new DeadlineExceededError(`${op}: the broker timed out (${message}); retry, or raise requestTimeoutMs`, { cause });
  }
  if (BAD_REQUEST.has(type)) return new InvalidArgumentError(`${op}: Kafka rejected the request for ${topicsText(ctx)}: ${type}: ${message}`, [], { cause });
  if (type.endsWith('_AUTHORIZATION_FAILED') || type.startsWith('SASL_')) {
    return new FailedPreconditionError(`${op}: not authorized (${type}) for ${topicsText(ctx)}; grant the ACLs or fix the credentials`, { cause });
  }
  if (facts.retriable || type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || type === 'UNKNOWN_PRODUCER_ID') {
    // Sequence errors heal: the adapters take a fresh producer id before the next send.
    return new UnavailableError(`${op}: Kafka answered ${type} (${message}); retry`, { cause });
  }
  return new FailedPreconditionError(`${op}: Kafka answered ${type} (${message})`, { cause });
}

/** Kafka refused the SASL credentials: waiting does not help, the operator must fix them. */
function saslError(op: string, ctx: KafkaErrorContext, message: string, cause: unknown): TributaryError {
  return new UnauthenticatedError(
    `${op}: Kafka${brokersText(ctx)} refused the SASL credentials (${message}); fix the username and password in sasl.jaas.config (or the token source for OAUTHBEARER) and check sasl.mechanism — in the worker config or the connector's producer/consumer/admin.override.*`,
    { cause },
  );
}

function tlsError(op: string, ctx: KafkaErrorContext, facts: { code: string; message: string }, cause: unknown): TributaryError {
  const where = `Kafka${brokersText(ctx)}`;
  if (facts.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new UnauthenticatedError(
      `${op}: the TLS certificate of ${where} is not issued for the host name it was reached by (${facts.message}); connect by a name the certificate holds, or turn hostname verification off with ssl.endpoint.identification.algorithm= (empty)`,
      { cause },
    );
  }
  if (UNTRUSTED.has(facts.code)) {
    return new UnauthenticatedError(
      `${op}: the TLS certificate of ${where} is not trusted (${facts.code}: ${facts.message}); set ssl.truststore.location (or ssl.truststore.certificates) to the CA that signed it`,
      { cause },
    );
  }
  if (/certificate/i.test(facts.message)) {
    return new UnauthenticatedError(
      `${op}: ${where} refused this client's TLS certificate (${facts.message}); set ssl.keystore.location (and ssl.keystore.type, ssl.keystore.password) to a certificate the broker trusts`,
      { cause },
    );
  }
  return new UnavailableError(`${op}: TLS with ${where} failed (${facts.code}: ${facts.message}); check security.protocol and the ssl.* settings`, { cause });
}

// ---------------------------------------------------------------------------------------------
// kafkajs 2.2.4: errors are KafkaJS* classes (told apart by `name`, which survives CJS/ESM
// interop), protocol errors carry `type` and `retriable`; retries wrap the last error in `cause`.

interface KafkajsLike {
  name?: string;
  code?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
  topic?: string;
}

function kafkajsFacts(err: unknown, out: ErrorFacts[], depth = 0): void {
  if (depth > 8 || typeof err !== 'object' || err === null) {
    out.push({ kind: 'other', message: String(err) });
    return;
  }
  const e = err as KafkajsLike;
  const name = e.name ?? '';
  const message = e.message ?? String(err);
  const inner = e.cause ?? e.originalError;
  if (name === 'KafkaJSNumberOfRetriesExceeded' && inner) return kafkajsFacts(inner, out, depth + 1);
  if (name === 'KafkaJSAggregateError' && Array.isArray(e.errors) && e.errors.length > 0) {
    for (const x of e.errors) kafkajsFacts(x, out, depth + 1);
    return;
  }
  if (typeof e.type === 'string' && e.type.length > 0 && name !== 'KafkaJSNonRetriableError') {
    if (UNKNOWN_TOPIC.has(e.type)) out.push({ kind: 'unknown-topic', topic: e.topic });
    else out.push({ kind: 'protocol', type: e.type, retriable: e.retriable === true, message });
    return;
  }
  if (name === 'KafkaJSSASLAuthenticationError') {
    out.push({ kind: 'auth', message });
    return;
  }
  if (name === 'KafkaJSConnectionError') {
    const tls = tlsFact(e.code, message);
    if (tls) {
      out.push(tls);
      return;
    }
  }
  switch (name) {
    case 'KafkaJSConnectionError':
    case 'KafkaJSConnectionClosedError':
    case 'KafkaJSBrokerNotFound':
    case 'KafkaJSNoBrokerAvailableError':
    case 'KafkaJSMetadataNotLoaded':
    case 'KafkaJSTopicMetadataNotLoaded':
      out.push({ kind: 'network', message });
      return;
    case 'KafkaJSRequestTimeoutError':
    case 'KafkaJSTimeout':
    case 'KafkaJSLockTimeout':
      out.push({ kind: 'timeout', message });
      return;
    case 'KafkaJSNonRetriableError':
      if (inner) return kafkajsFacts(inner, out, depth + 1);
      out.push({ kind: 'usage', message });
      return;
  }
  if (inner) return kafkajsFacts(inner, out, depth + 1);
  out.push({ kind: 'other', message });
}

/** A kafkajs error as a Tributary error (already-converted errors pass through). */
export function fromKafkajsError(err: unknown, ctx: KafkaErrorContext): TributaryError {
  if (err instanceof TributaryError) return err;
  const facts: ErrorFacts[] = [];
  kafkajsFacts(err, facts);
  return factsToError(facts, ctx, err);
}

// ---------------------------------------------------------------------------------------------
// @platformatic/kafka 1.35: GenericError (code PLT_KFK_*) or MultipleErrors (nested `errors`);
// a ProtocolError has `apiId` (the Kafka error name) and `canRetry`. TimeoutError reuses the
// NETWORK code, so it is told apart by class name. "Unknown topic X." is a UserError.

interface PlatformaticLike {
  code?: string;
  message?: string;
  apiId?: string;
  canRetry?: boolean;
  errors?: unknown[];
  cause?: unknown;
}

function platformaticFacts(err: unknown, out: ErrorFacts[], depth = 0): void {
  if (depth > 8 || typeof err !== 'object' || err === null) {
    out.push({ kind: 'other', message: String(err) });
    return;
  }
  const e = err as PlatformaticLike;
  const message = e.message ?? String(err);
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    for (const x of e.errors) platformaticFacts(x, out, depth + 1);
    return;
  }
  if (typeof e.apiId === 'string') {
    out.push({ kind: 'protocol', type: e.apiId, retriable: e.canRetry === true, message });
    return;
  }
  if (err.constructor?.name === 'TimeoutError') {
    out.push({ kind: 'timeout', message });
    return;
  }
  const tls = tlsFact(e.code, message);
  if (tls) {
    out.push(tls);
    return;
  }
  switch (e.code) {
    case 'PLT_KFK_AUTHENTICATION':
      out.push({ kind: 'auth', message });
      return;
    case 'PLT_KFK_NETWORK': {
      // A failed connection's cause may be the real story: refused credentials or certificates.
      const inner: ErrorFacts[] = [];
      if (e.cause) platformaticFacts(e.cause, inner, depth + 1);
      const specific = inner.filter((f) => f.kind === 'auth' || f.kind === 'tls' || (f.kind === 'protocol' && f.type === 'SASL_AUTHENTICATION_FAILED'));
      if (specific.length > 0) out.push(...specific);
      else out.push({ kind: 'network', message });
      return;
    }
    case 'PLT_KFK_TIMEOUT':
      out.push({ kind: 'timeout', message });
      return;
    case 'PLT_KFK_USER': {
      const unknown = /^Unknown topic (.+)\.$/.exec(message);
      if (unknown) out.push({ kind: 'unknown-topic', topic: unknown[1] });
      // A broker id missing from the metadata is stale metadata, not misuse.
      else if (/^Cannot find broker/.test(message)) out.push({ kind: 'network', message });
      else out.push({ kind: 'usage', message });
      return;
    }
  }
  if (e.cause) return platformaticFacts(e.cause, out, depth + 1);
  out.push({ kind: 'other', message });
}

/** A @platformatic/kafka error as a Tributary error (already-converted errors pass through). */
export function fromPlatformaticError(err: unknown, ctx: KafkaErrorContext): TributaryError {
  if (err instanceof TributaryError) return err;
  const facts: ErrorFacts[] = [];
  platformaticFacts(err, facts);
  return factsToError(facts, ctx, err);
}

/** The Kafka protocol error names inside a platformatic error (to branch on, e.g. OFFSET_OUT_OF_RANGE). */
export function platformaticProtocolErrors(err: unknown): string[] {
  const facts: ErrorFacts[] = [];
  platformaticFacts(err, facts);
  return facts.flatMap((f) => (f.kind === 'protocol' ? [f.type] : f.kind === 'unknown-topic' ? ['UNKNOWN_TOPIC_OR_PARTITION'] : []));
}
