/**
 * Schema-registry converters: Confluent's `io.confluent.connect.avro.AvroConverter`,
 * `io.confluent.connect.protobuf.ProtobufConverter` and `io.confluent.connect.json.JsonSchemaConverter`,
 * writing the Confluent wire format (magic byte 0, 4-byte big-endian schema id, then the format's
 * payload) and registering each schema under its subject (TopicNameStrategy `<topic>-value` /
 * `<topic>-key` by default). The registry is reached through `@kafkajs/confluent-schema-registry`'s
 * REST client (basic auth, retries). The Connect mappings are ./avro.ts (avsc's encoding),
 * ./protobuf.ts (protobufjs's) and ./json-schema.ts; this module owns registration, caching and
 * the 5-byte header.
 *
 * Converters are synchronous (the pipeline converts a batch in one call), the registry is not:
 * a schema or id this converter has not seen yet makes fromConnect/toConnect throw a
 * `SchemaLookupPending` carrying the lookup's promise; the pipeline awaits it once and converts
 * the record again. Every schema costs one lookup per converter instance, not one per record.
 */
import { Buffer } from 'node:buffer';
import apiModule from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import type avro from 'avsc';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from '../errors.js';
import { T, type ComponentConfig, type ComponentKey } from './component-config.js';
import type { ComponentDefinition, Converter } from './converters.js';
import { avroType, fromConnectData, fromConnectSchema, toConnectData, toConnectSchema, type AvroJson } from './avro.js';
import { DataError, type Schema, type SchemaAndValue, type Value } from './data.js';
import { jsonSchemaFormat } from './json-schema.js';
import { protobufFormat } from './protobuf.js';

/** Thrown by a registry converter that needs the registry first; await `ready`, then convert again. */
export class SchemaLookupPending extends Error {
  constructor(readonly ready: Promise<void>) {
    super('waiting for the schema registry');
    this.name = 'SchemaLookupPending';
  }
}

/** The registry calls the converters make (the seam; the real one is RestSchemaRegistry). */
export interface SchemaRegistryClient {
  /** POST /subjects/{subject}/versions: the schema's id (the existing one when already registered). */
  register(subject: string, schema: string, schemaType?: 'AVRO' | 'PROTOBUF' | 'JSON'): Promise<number>;
  /** GET /schemas/ids/{id}: the schema text and type (AVRO when the registry names none). */
  schemaById(id: number): Promise<{ schema: string; schemaType: string }>;
}

interface RegistryResponse {
  data(): { id?: number; schema?: string; schemaType?: string };
}
interface RegistryApi {
  Subject: { register(p: { subject: string; body: { schema: string; schemaType?: string } }): Promise<RegistryResponse> };
  Schema: { find(p: { id: number }): Promise<RegistryResponse> };
}
const createApi = (apiModule as unknown as { default: (args: { host: string; clientId?: string; auth?: { username: string; password: string }; retry?: object }) => RegistryApi }).default;

/** The registry's REST API through @kafkajs/confluent-schema-registry's client; errors become ours. */
export class RestSchemaRegistry implements SchemaRegistryClient {
  private readonly api: RegistryApi;

  constructor(
    private readonly url: string,
    auth: { username: string; password: string } | undefined,
  ) {
    // The library's retry middleware retries 5xx and network errors with backoff; the record's
    // error handling (errors.retry.timeout) decides what happens after that.
    this.api = createApi({ host: url, clientId: 'tributary', auth, retry: { maxRetryTimeInSecs: 5, retries: 3 } });
  }

  async register(subject: string, schema: string, schemaType: 'AVRO' | 'PROTOBUF' | 'JSON' = 'AVRO'): Promise<number> {
    // AVRO is the registry's default type; Confluent's serializers leave it out, and so do we.
    const body = schemaType === 'AVRO' ? { schema } : { schema, schemaType };
    const res = await this.call(`register a schema under subject "${subject}"`, () => this.api.Subject.register({ subject, body }));
    const id = res.data().id;
    if (typeof id !== 'number') throw new DataError(`schema registry ${this.url} answered a registration under "${subject}" without an id`);
    return id;
  }

  async schemaById(id: number): Promise<{ schema: string; schemaType: string }> {
    const res = await this.call(`read schema id ${id}`, () => this.api.Schema.find({ id }));
    const d = res.data();
    if (typeof d.schema !== 'string') throw new DataError(`schema registry ${this.url} has no schema text for id ${id}`);
    return { schema: d.schema, schemaType: d.schemaType ?? 'AVRO' };
  }

  private async call(what: string, fn: () => Promise<RegistryResponse>): Promise<RegistryResponse> {
    try {
      return await fn();
    } catch (err) {
      const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : undefined;
      const detail = `schema registry ${this.url}: could not ${what}: ${(err as Error).message}`;
      if (status === 401) throw new UnauthenticatedError(`${detail} (check basic.auth.credentials.source / basic.auth.user.info)`);
      if (status === 403) throw new PermissionDeniedError(detail);
      if (status === undefined || status >= 500 || status === 408 || status === 429) throw new UnavailableError(detail);
      throw new DataError(detail);
    }
  }
}

export type SubjectNameStrategy = (topic: string, isKey: boolean, recordName: string) => string;

const STRATEGY_PACKAGE = 'io.confluent.kafka.serializers.subject.';
const strategies: Record<string, SubjectNameStrategy> = {
  TopicNameStrategy: (topic, isKey) => `${topic}-${isKey ? 'key' : 'value'}`,
  RecordNameStrategy: (_topic, _isKey, record) => record,
  TopicRecordNameStrategy: (topic, _isKey, record) => `${topic}-${record}`,
};

/** The Avro full name of a schema, as Confluent's RecordNameStrategy takes it (a primitive's type name). */
function recordName(json: AvroJson): string {
  if (typeof json === 'string') return json;
  if (Array.isArray(json)) return recordName(json.find((t) => t !== 'null') ?? 'null');
  const name = json.name;
  if (typeof name === 'string') return name.includes('.') || typeof json.namespace !== 'string' ? name : `${json.namespace}.${name}`;
  return String(json.type);
}

/**
 * One schema format in the Confluent wire format: how a Connect schema becomes registry schema
 * text, how a value is written after the magic byte and id, and the reverse. `W` is what a
 * writer caches per Connect schema, `R` what a reader caches per schema id.
 */
export interface RegistryFormat<W, R> {
  readonly className: string;
  /** The registry's `schemaType` (AVRO is the registry's default and is not sent). */
  readonly schemaType: 'AVRO' | 'PROTOBUF' | 'JSON';
  /** The Connect schema as registry schema text, and the record name subject strategies use. */
  writer(s: Schema): W & { text: string; recordName: string };
  /** The bytes after the 5-byte header. */
  encode(w: W, topic: string, s: Schema, value: Value): Uint8Array;
  reader(text: string, id: number): R;
  /** `payload` is everything after the 5-byte header. */
  decode(r: R, topic: string, id: number, payload: Uint8Array): SchemaAndValue;
}

/**
 * A Confluent schema-registry converter (AvroConverter, ProtobufConverter, JsonSchemaConverter):
 * registers each Connect schema under its subject once, writes magic byte 0 + the 4-byte
 * big-endian schema id + the format's payload, and reads it back by id.
 */
export class RegistryConverter<W, R> implements Converter {
  readonly className: string;
  readonly passesBytes = false;
  readonly structured = true;
  /** Connect schema (by identity) → what the format writes with. */
  private readonly writers = new WeakMap<Schema, W & { text: string; recordName: string }>();
  /** `subject \0 schema text` → id. */
  private readonly ids = new Map<string, number>();
  private readonly readers = new Map<number, R>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly client: SchemaRegistryClient,
    private readonly format: RegistryFormat<W, R>,
    private readonly isKey: boolean,
    private readonly strategy: SubjectNameStrategy,
  ) {
    this.className = format.className;
  }

  fromConnect(topic: string, s: Schema | null, value: Value): Uint8Array | null {
    if (value === null && (s === null || s.optional)) return null;
    const short = this.className.slice(this.className.lastIndexOf('.') + 1);
    if (s === null) throw new DataError(`${short} needs a schema: the record has none (use a schema-carrying plugin or transform, or JsonConverter with schemas.enable=false)`);
    let w = this.writers.get(s);
    if (w === undefined) {
      w = this.format.writer(s);
      this.writers.set(s, w);
    }
    const subject = this.strategy(topic, this.isKey, w.recordName);
    const cacheKey = `${subject}\0${w.text}`;
    const id = this.ids.get(cacheKey);
    if (id === undefined) {
      const text = w.text;
      const type = this.format.schemaType;
      throw new SchemaLookupPending(this.once(cacheKey, async () => this.ids.set(cacheKey, await this.client.register(subject, text, type))));
    }
    const payload = this.format.encode(w, topic, s, value);
    const out = Buffer.allocUnsafe(5 + payload.length);
    out[0] = 0;
    out.writeInt32BE(id, 1);
    out.set(payload, 5);
    return out;
  }

  toConnect(topic: string, bytes: Uint8Array | null): SchemaAndValue {
    if (bytes === null) return { schema: null, value: null };
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const what = this.format.schemaType === 'JSON' ? 'JSON Schema' : this.format.schemaType === 'PROTOBUF' ? 'Protobuf' : 'Avro';
    if (buf.length < 5 || buf[0] !== 0) throw new DataError(`Failed to deserialize data for topic ${topic} to ${what}: Unknown magic byte!`);
    const id = buf.readInt32BE(1);
    const r = this.readers.get(id);
    if (r === undefined) {
      throw new SchemaLookupPending(
        this.once(`id\0${id}`, async () => {
          const found = await this.client.schemaById(id);
          if (found.schemaType !== this.format.schemaType) throw new DataError(`schema id ${id} is a ${found.schemaType} schema, not ${what}`);
          this.readers.set(id, this.format.reader(found.schema, id));
        }),
      );
    }
    return this.format.decode(r, topic, id, buf.subarray(5));
  }

  private once(key: string, fn: () => Promise<unknown>): Promise<void> {
    // One lookup per key at a time; a failed one is forgotten, so the next record asks again.
    let p = this.pending.get(key);
    if (p === undefined) {
      p = fn().then(() => undefined);
      p.finally(() => this.pending.delete(key)).catch(() => undefined);
      this.pending.set(key, p);
    }
    return p;
  }
}

interface AvroWriter {
  type: avro.Type;
}
interface AvroReader {
  schema: Schema;
  type: avro.Type;
}

/** Confluent's AvroData mapping (./avro.ts) with avsc's binary encoding. */
export function avroFormat(connectMetaData: boolean): RegistryFormat<AvroWriter, AvroReader> {
  return {
    className: 'io.confluent.connect.avro.AvroConverter',
    schemaType: 'AVRO',
    writer(s) {
      const json = fromConnectSchema(s, connectMetaData);
      return { text: JSON.stringify(json), recordName: recordName(json), type: avroType(json) };
    },
    encode(w, topic, s, value) {
      try {
        return w.type.toBuffer(fromConnectData(s, value, w.type));
      } catch (err) {
        if (err instanceof DataError) throw err;
        throw new DataError(`Failed to serialize Avro data from topic ${topic}: ${(err as Error).message}`);
      }
    },
    reader(text, id) {
      let json: AvroJson;
      try {
        json = JSON.parse(text) as AvroJson;
      } catch {
        throw new DataError(`schema id ${id} is not valid JSON`);
      }
      return { schema: toConnectSchema(json), type: avroType(json) };
    },
    decode(r, topic, id, payload) {
      let decoded: unknown;
      try {
        decoded = r.type.fromBuffer(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      } catch (err) {
        throw new DataError(`Failed to deserialize data for topic ${topic} to Avro (schema id ${id}): ${(err as Error).message}`);
      }
      return { schema: r.schema, value: toConnectData(r.schema, decoded) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Configuration (Confluent's AbstractKafkaSchemaSerDeConfig / AvroConverterConfig names)

const strategyKey = (side: 'key' | 'value'): ComponentKey => ({
  name: `${side}.subject.name.strategy`,
  type: T.STRING,
  defaultValue: `${STRATEGY_PACKAGE}TopicNameStrategy`,
  documentation: `How the ${side} converter names the subject a schema is registered under: TopicNameStrategy (<topic>-${side}), RecordNameStrategy (the record's full name) or TopicRecordNameStrategy (<topic>-<record full name>); class name or short name.`,
});

/** The keys every registry converter reads (Confluent's AbstractKafkaSchemaSerDeConfig). */
export const registryConverterKeys: ComponentKey[] = [
  { name: 'schema.registry.url', type: T.STRING, required: true, documentation: 'URL of the schema registry (Confluent REST API), e.g. http://registry:8081. One URL.' },
  { name: 'auto.register.schemas', type: T.BOOLEAN, defaultValue: 'true', documentation: 'Register each new schema under its subject. Only true is supported.' },
  { name: 'use.latest.version', type: T.BOOLEAN, defaultValue: 'false', documentation: "Write with the subject's latest schema instead of the record's. Only false is supported." },
  strategyKey('key'),
  strategyKey('value'),
  { name: 'basic.auth.credentials.source', type: T.STRING, defaultValue: 'URL', allowedValues: ['URL', 'USER_INFO'], documentation: 'Where HTTP Basic credentials come from: URL (user:password@ in schema.registry.url) or USER_INFO (basic.auth.user.info).' },
  { name: 'basic.auth.user.info', type: T.STRING, secret: true, documentation: 'user:password for the registry, with basic.auth.credentials.source=USER_INFO.' },
];

export const avroConverterKeys: ComponentKey[] = [
  ...registryConverterKeys,
  { name: 'connect.meta.data', type: T.BOOLEAN, defaultValue: 'true', documentation: 'Write Kafka Connect metadata (connect.name, connect.version, connect.doc, connect.parameters, connect.default) into the Avro schema.' },
];

function strategyFrom(c: ComponentConfig, key: string): SubjectNameStrategy | undefined {
  const raw = (c.string(key) ?? '').trim();
  const short = raw.startsWith(STRATEGY_PACKAGE) ? raw.slice(STRATEGY_PACKAGE.length) : raw;
  const s = strategies[short];
  if (!s) c.problem(key, `unknown subject name strategy "${raw}"; use TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy (or ${STRATEGY_PACKAGE}<name>)`);
  return s;
}

export type RegistryClientFactory = (url: string, auth: { username: string; password: string } | undefined) => SchemaRegistryClient;
const restClient: RegistryClientFactory = (u, a) => new RestSchemaRegistry(u, a);

/** Builds a registry converter of `format` from its config; every bad key is a problem on `c`. */
export function createRegistryConverter<W, R>(c: ComponentConfig, isKey: boolean, format: RegistryFormat<W, R>, makeClient: RegistryClientFactory = restClient): RegistryConverter<W, R> {
  const side = isKey ? 'key' : 'value';
  const other = isKey ? 'value' : 'key';
  if (c.props[`${other}.subject.name.strategy`] !== undefined) c.problem(`${other}.subject.name.strategy`, `applies to the ${other} converter; this is the ${side} converter (set ${side}.subject.name.strategy)`);
  const strategy = strategyFrom(c, `${side}.subject.name.strategy`);
  if (!c.bool('auto.register.schemas', true)) c.problem('auto.register.schemas', 'only true is supported: looking a schema up without registering it is not built yet');
  if (c.bool('use.latest.version', false)) c.problem('use.latest.version', 'only false is supported: writing with the latest registered version is not built yet');
  const rawUrl = (c.string('schema.registry.url') ?? '').trim();
  let url: URL | undefined;
  if (rawUrl === '') c.required('schema.registry.url');
  else if (rawUrl.includes(',')) c.problem('schema.registry.url', 'give one URL (several registry URLs are not supported)');
  else {
    try {
      url = new URL(rawUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not http(s)');
    } catch {
      url = undefined;
      c.problem('schema.registry.url', 'must be an http:// or https:// URL');
    }
  }
  let auth: { username: string; password: string } | undefined;
  const source = c.string('basic.auth.credentials.source') ?? 'URL';
  const userInfo = c.props['basic.auth.user.info'];
  if (source === 'USER_INFO') {
    const i = userInfo?.indexOf(':') ?? -1;
    if (userInfo === undefined || i < 0) c.problem('basic.auth.user.info', 'is required as user:password with basic.auth.credentials.source=USER_INFO');
    else auth = { username: userInfo.slice(0, i), password: userInfo.slice(i + 1) };
  } else if (userInfo !== undefined) c.problem('basic.auth.user.info', 'is read only with basic.auth.credentials.source=USER_INFO');
  if (url && (url.username !== '' || url.password !== '')) {
    if (source !== 'URL') c.problem('schema.registry.url', 'carries user:password but basic.auth.credentials.source is not URL');
    else auth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    url.username = '';
    url.password = '';
  }
  // The problems travel in the error; the config parser reports them with every other bad key.
  const short = format.className.slice(format.className.lastIndexOf('.') + 1);
  if (c.problems.length > 0 || !url || !strategy) throw new InvalidArgumentError(`invalid ${short} config`, c.problems.splice(0));
  const host = url.toString().replace(/\/$/, '');
  return new RegistryConverter(makeClient(host, auth), format, isKey, strategy);
}

/** Confluent's AvroConverter from its config. */
export function createAvroConverter(c: ComponentConfig, isKey: boolean, makeClient: RegistryClientFactory = restClient): RegistryConverter<unknown, unknown> {
  return createRegistryConverter(c, isKey, avroFormat(c.bool('connect.meta.data', true)) as RegistryFormat<unknown, unknown>, makeClient);
}

export const avroConverterDefinition: ComponentDefinition<Converter> = {
  className: 'io.confluent.connect.avro.AvroConverter',
  aliases: ['avro', 'AvroConverter'],
  summary: "Confluent's Avro format with a schema registry (wire format: magic byte 0, schema id, Avro binary).",
  configKeys: avroConverterKeys,
  create: (c, isKey) => createAvroConverter(c, isKey),
};

export const protobufConverterDefinition: ComponentDefinition<Converter> = {
  className: 'io.confluent.connect.protobuf.ProtobufConverter',
  aliases: ['protobuf', 'ProtobufConverter'],
  summary: "Confluent's Protobuf format with a schema registry (wire format: magic byte 0, schema id, message indexes, Protobuf binary).",
  configKeys: registryConverterKeys,
  create: (c, isKey) => createRegistryConverter(c, isKey, protobufFormat as RegistryFormat<unknown, unknown>),
};

export const jsonSchemaConverterKeys: ComponentKey[] = [
  ...registryConverterKeys,
  { name: 'decimal.format', type: T.STRING, defaultValue: 'BASE64', allowedValues: ['BASE64', 'NUMERIC'], documentation: 'How a Decimal is written: BASE64 (its unscaled bytes, a JSON string) or NUMERIC (a JSON number).' },
];

export const jsonSchemaConverterDefinition: ComponentDefinition<Converter> = {
  className: 'io.confluent.connect.json.JsonSchemaConverter',
  aliases: ['jsonschema', 'JsonSchemaConverter'],
  summary: "Confluent's JSON Schema format with a schema registry (wire format: magic byte 0, schema id, JSON text).",
  configKeys: jsonSchemaConverterKeys,
  create: (c, isKey) => createRegistryConverter(c, isKey, jsonSchemaFormat(c.string('decimal.format') === 'NUMERIC' ? 'NUMERIC' : 'BASE64') as RegistryFormat<unknown, unknown>),
};
