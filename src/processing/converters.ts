/**
 * Converters: the only code that turns the in-memory structured form into Kafka bytes and back
 * (Kafka Connect's `Converter` / `HeaderConverter`). JsonConverter writes exactly the bytes
 * Kafka Connect's `org.apache.kafka.connect.json.JsonConverter` writes for the same data, with
 * and without the `{"schema":…,"payload":…}` envelope, logical types included (golden files in
 * test/fixtures/kafka-connect-golden are produced by Kafka Connect 4.1.1 itself).
 *
 * `passesBytes` converters (string, bytes) hand a plugin's raw bytes to Kafka unchanged and
 * Kafka's bytes to a sink plugin unchanged: the pass-through fast path.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgumentError } from '../errors.js';
import { ComponentConfig, T, type ComponentKey } from './component-config.js';
import {
  bigintFromBytes,
  bigintToBytes,
  DataError,
  DATE,
  Decimal,
  DECIMAL,
  decimalScale,
  describeValue,
  intToLogical,
  logicalToInt,
  schema as makeSchema,
  schemaEquals,
  Schemas,
  Struct,
  TIME,
  TIMESTAMP,
  type Field,
  type Schema,
  type SchemaAndValue,
  type SchemaType,
  type Value,
} from './data.js';
import { avroConverterDefinition, jsonSchemaConverterDefinition, protobufConverterDefinition } from './schema-registry.js';
import { javaBigDecimalString, javaDoubleString, javaFloatString, JsonFloat, jsonDouble, jsonFloat, parseJson, quoteJson, type JsonNode } from './json.js';

export interface Converter {
  /** The Kafka Connect class this converter stands for. */
  readonly className: string;
  /** Raw plugin / Kafka bytes pass through unchanged (string and bytes converters). */
  readonly passesBytes: boolean;
  /** toConnect yields structure a sink plugin receives as `structured_value` (JSON), not bytes. */
  readonly structured: boolean;
  fromConnect(topic: string, schema: Schema | null, value: Value): Uint8Array | null;
  toConnect(topic: string, bytes: Uint8Array | null): SchemaAndValue;
}

export interface HeaderConverter {
  readonly className: string;
  fromConnectHeader(topic: string, key: string, schema: Schema | null, value: Value): Uint8Array | null;
  toConnectHeader(topic: string, key: string, bytes: Uint8Array | null): SchemaAndValue;
}

export interface ComponentDefinition<T> {
  className: string;
  /** Other names accepted in configs (short names, the Kafka Connect class names). */
  aliases: readonly string[];
  summary: string;
  configKeys: readonly ComponentKey[];
  create(config: ComponentConfig, isKey: boolean): T;
}

const NULL: SchemaAndValue = { schema: null, value: null };

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Java's `toString()` of a Connect value, as Kafka Connect's StringConverter and FileStreamSink print it. */
export function javaToString(v: Value, s: Schema | null = null): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (s?.type === 'float32') return javaFloatString(v);
    if (s === null || s.type === 'float64') return javaDoubleString(v);
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return `[B@${(v.byteLength >>> 0).toString(16)}`;
  if (v instanceof Decimal) return javaBigDecimalString(v.unscaled, v.scale);
  if (v instanceof Date) return v.toString();
  if (v instanceof Struct) return `Struct{${v.schema.fields!.filter((f) => v.values[f.index] !== null).map((f) => `${f.name}=${javaToString(v.values[f.index]!, f.schema)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map((x) => javaToString(x, s?.valueSchema ?? null)).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `${javaToString(k, s?.keySchema ?? null)}=${javaToString(x, s?.valueSchema ?? null)}`).join(', ')}}`;
}

const encodingKey: ComponentKey = { name: 'converter.encoding', type: T.STRING, defaultValue: 'UTF8', documentation: 'The character encoding; only UTF-8 is supported.', allowedValues: ['UTF8', 'UTF-8', 'utf8', 'utf-8'] };

/** Kafka Connect's StringConverter: UTF-8 text; plugin bytes pass unchanged. */
export class StringConverter implements Converter, HeaderConverter {
  readonly className = 'org.apache.kafka.connect.storage.StringConverter';
  readonly passesBytes = true;
  readonly structured = false;

  fromConnect(_topic: string, s: Schema | null, value: Value): Uint8Array | null {
    if (value === null) return null;
    if (value instanceof Uint8Array) return value;
    return Buffer.from(javaToString(value, s), 'utf8');
  }

  toConnect(_topic: string, bytes: Uint8Array | null): SchemaAndValue {
    if (bytes === null) return { schema: Schemas.optionalString, value: null };
    return { schema: Schemas.optionalString, value: utf8(bytes) };
  }

  fromConnectHeader(topic: string, _key: string, s: Schema | null, value: Value): Uint8Array | null {
    return this.fromConnect(topic, s, value);
  }

  toConnectHeader(topic: string, _key: string, bytes: Uint8Array | null): SchemaAndValue {
    return this.toConnect(topic, bytes);
  }
}

/** Kafka Connect's ByteArrayConverter: BYTES (or schemaless bytes) only. */
export class ByteArrayConverter implements Converter, HeaderConverter {
  readonly className = 'org.apache.kafka.connect.converters.ByteArrayConverter';
  readonly passesBytes = true;
  readonly structured = false;

  fromConnect(_topic: string, s: Schema | null, value: Value): Uint8Array | null {
    if (s !== null && s.type !== 'bytes') throw new DataError(`Invalid schema type for ByteArrayConverter: ${s.type.toUpperCase()}`);
    if (value !== null && !(value instanceof Uint8Array)) throw new DataError(`ByteArrayConverter is not compatible with objects of type ${describeValue(value)}`);
    return value;
  }

  toConnect(_topic: string, bytes: Uint8Array | null): SchemaAndValue {
    return { schema: Schemas.optionalBytes, value: bytes };
  }

  fromConnectHeader(topic: string, _key: string, s: Schema | null, value: Value): Uint8Array | null {
    return this.fromConnect(topic, s, value);
  }

  toConnectHeader(topic: string, _key: string, bytes: Uint8Array | null): SchemaAndValue {
    return this.toConnect(topic, bytes);
  }
}

export interface JsonConverterOptions {
  schemasEnable: boolean;
  decimalFormat: 'BASE64' | 'NUMERIC';
  replaceNullWithDefault: boolean;
  /**
   * How a map whose keys are not (required) strings is written: JsonConverter's `[[k,v],…]`
   * tuples (default), or Confluent JsonSchemaData's `[{"key":k,"value":v},…]` objects (whose
   * object form also needs the key schema to be a required STRING).
   */
  mapEntries?: 'tuples' | 'objects';
}

const TYPE_NAMES: Record<SchemaType, string> = {
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  float32: 'float',
  float64: 'double',
  boolean: 'boolean',
  string: 'string',
  bytes: 'bytes',
  array: 'array',
  map: 'map',
  struct: 'struct',
};
const FROM_TYPE_NAME: Record<string, SchemaType> = Object.fromEntries(Object.entries(TYPE_NAMES).map(([k, v]) => [v, k as SchemaType]));

/** Kafka Connect's JsonConverter (and its HeaderConverter side). */
export class JsonConverter implements Converter, HeaderConverter {
  readonly className = 'org.apache.kafka.connect.json.JsonConverter';
  readonly passesBytes = false;
  readonly structured = true;
  private readonly schemaJson = new WeakMap<Schema, string>();

  constructor(readonly options: JsonConverterOptions = { schemasEnable: true, decimalFormat: 'BASE64', replaceNullWithDefault: true }) {}

  fromConnect(_topic: string, s: Schema | null, value: Value): Uint8Array | null {
    if (s === null && value === null) return null;
    const payload = this.toJson(s, value);
    const text = this.options.schemasEnable ? `{"schema":${s === null ? 'null' : this.jsonSchema(s)},"payload":${payload}}` : payload;
    return Buffer.from(text, 'utf8');
  }

  toConnect(_topic: string, bytes: Uint8Array | null): SchemaAndValue {
    if (bytes === null) return NULL;
    const node = parseJson(utf8(bytes));
    if (this.options.schemasEnable) {
      if (!(node instanceof Map) || node.size !== 2 || !node.has('schema') || !node.has('payload')) {
        throw new DataError(
          'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.',
        );
      }
      const s = this.asConnectSchema(node.get('schema')!);
      return { schema: s, value: this.toValue(s, node.get('payload')!) };
    }
    return { schema: null, value: this.toValue(null, node) };
  }

  fromConnectHeader(topic: string, _key: string, s: Schema | null, value: Value): Uint8Array | null {
    return this.fromConnect(topic, s, value);
  }

  toConnectHeader(topic: string, _key: string, bytes: Uint8Array | null): SchemaAndValue {
    return this.toConnect(topic, bytes);
  }

  /** The `schema` half of an envelope, as JsonConverter.asJsonSchema writes it. */
  jsonSchema(s: Schema): string {
    const cached = this.schemaJson.get(s);
    if (cached !== undefined) return cached;
    const text = `{${this.schemaBody(s)}}`;
    this.schemaJson.set(s, text);
    return text;
  }

  private schemaBody(s: Schema, fieldName?: string): string {
    let out = `"type":"${TYPE_NAMES[s.type]}"`;
    if (s.type === 'array') out += `,"items":${this.jsonSchema(s.valueSchema!)}`;
    else if (s.type === 'map') out += `,"keys":${this.jsonSchema(s.keySchema!)},"values":${this.jsonSchema(s.valueSchema!)}`;
    else if (s.type === 'struct') out += `,"fields":[${s.fields!.map((f) => `{${this.schemaBody(f.schema, f.name)}}`).join(',')}]`;
    out += `,"optional":${s.optional}`;
    if (s.name !== undefined) out += `,"name":${quoteJson(s.name)}`;
    if (s.version !== undefined) out += `,"version":${s.version}`;
    if (s.doc !== undefined) out += `,"doc":${quoteJson(s.doc)}`;
    if (s.parameters !== undefined) out += `,"parameters":{${Object.entries(s.parameters).map(([k, v]) => `${quoteJson(k)}:${quoteJson(v)}`).join(',')}}`;
    if (s.defaultValue !== undefined && s.defaultValue !== null) out += `,"default":${this.toJson(s, s.defaultValue)}`;
    if (fieldName !== undefined) out += `,"field":${quoteJson(fieldName)}`;
    return out;
  }

  /** JsonConverter.convertToJson, written straight to text. */
  toJson(s: Schema | null, value: Value): string {
    if (value === null) {
      if (s === null) return 'null';
      if (s.defaultValue !== undefined && s.defaultValue !== null && this.options.replaceNullWithDefault) return this.toJson(s, s.defaultValue);
      if (s.optional) return 'null';
      throw new DataError('Conversion error: null value for field that is required and has no default value');
    }
    if (s !== null && s.name !== undefined) {
      switch (s.name) {
        case DECIMAL:
          if (!(value instanceof Decimal)) throw new DataError(`Invalid type for Decimal, expected BigDecimal but was ${describeValue(value)}`);
          return this.options.decimalFormat === 'NUMERIC' ? javaBigDecimalString(value.unscaled, value.scale) : `"${Buffer.from(bigintToBytes(rescale(value, decimalScale(s)))).toString('base64')}"`;
        case DATE:
        case TIME:
        case TIMESTAMP:
          if (!(value instanceof Date)) throw new DataError(`Invalid type for ${s.name.slice(s.name.lastIndexOf('.') + 1)}, expected Date but was ${describeValue(value)}`);
          return String(logicalToInt(s, value));
      }
    }
    const type = s === null ? inferType(value) : s.type;
    const bad = (): never => {
      throw new DataError(`Invalid type for ${s ? s.type.toUpperCase() : 'unknown schema'}: ${describeValue(value)}`);
    };
    switch (type) {
      case 'int8':
      case 'int16':
      case 'int32':
        if (typeof value !== 'number') bad();
        return String(value);
      case 'int64':
        if (typeof value !== 'bigint') bad();
        return String(value);
      case 'float32':
        if (typeof value !== 'number') bad();
        return jsonFloat(value as number);
      case 'float64':
        if (typeof value !== 'number') bad();
        return jsonDouble(value as number);
      case 'boolean':
        if (typeof value !== 'boolean') bad();
        return String(value);
      case 'string':
        if (typeof value !== 'string') bad();
        return quoteJson(value as string);
      case 'bytes':
        if (!(value instanceof Uint8Array)) bad();
        return `"${Buffer.from((value as Uint8Array).buffer, (value as Uint8Array).byteOffset, (value as Uint8Array).byteLength).toString('base64')}"`;
      case 'array': {
        if (!Array.isArray(value)) bad();
        const vs = s === null ? null : s.valueSchema!;
        return `[${(value as Value[]).map((v) => this.toJson(vs, v)).join(',')}]`;
      }
      case 'map': {
        if (!(value instanceof Map)) bad();
        const m = value as Map<Value, Value>;
        let objectMode: boolean;
        if (s === null) {
          objectMode = true;
          for (const k of m.keys()) {
            if (typeof k !== 'string') {
              objectMode = false;
              break;
            }
          }
        } else objectMode = s.keySchema!.type === 'string' && (this.options.mapEntries !== 'objects' || !s.keySchema!.optional);
        const ks = s === null ? null : s.keySchema!;
        const vs = s === null ? null : s.valueSchema!;
        const parts: string[] = [];
        if (objectMode) {
          // Jackson's ObjectNode: a repeated key replaces the earlier value in its place.
          const obj = new Map<string, string>();
          for (const [k, v] of m) obj.set(asText(this.toJson(ks, k)), this.toJson(vs, v));
          for (const [k, v] of obj) parts.push(`${quoteJson(k)}:${v}`);
          return `{${parts.join(',')}}`;
        }
        if (this.options.mapEntries === 'objects') for (const [k, v] of m) parts.push(`{"key":${this.toJson(ks, k)},"value":${this.toJson(vs, v)}}`);
        else for (const [k, v] of m) parts.push(`[${this.toJson(ks, k)},${this.toJson(vs, v)}]`);
        return `[${parts.join(',')}]`;
      }
      case 'struct': {
        if (!(value instanceof Struct)) bad();
        const st = value as Struct;
        if (s === null) throw new DataError('Java class class org.apache.kafka.connect.data.Struct does not have corresponding schema type.');
        if (!schemaEquals(st.schema, s)) throw new DataError('Mismatching schema.');
        return `{${s.fields!.map((f: Field) => `${quoteJson(f.name)}:${this.toJson(f.schema, st.values[f.index]!)}`).join(',')}}`;
      }
    }
  }

  /** JsonConverter.asConnectSchema. */
  asConnectSchema(node: JsonNode): Schema | null {
    if (node === null) return null;
    if (!(node instanceof Map)) throw new DataError("Schema must contain 'type' field");
    const typeName = node.get('type');
    if (typeof typeName !== 'string') throw new DataError("Schema must contain 'type' field");
    const type = FROM_TYPE_NAME[typeName];
    if (!type) throw new DataError(`Unknown schema type: ${typeName}`);
    let fields: Field[] | undefined;
    let keySchema: Schema | undefined;
    let valueSchema: Schema | undefined;
    if (type === 'array') {
      const items = node.get('items');
      if (items === undefined || items === null) throw new DataError('Array schema did not specify the element type');
      valueSchema = this.asConnectSchema(items) ?? undefined;
    } else if (type === 'map') {
      const k = node.get('keys');
      if (k === undefined) throw new DataError('Map schema did not specify the key type');
      const v = node.get('values');
      if (v === undefined) throw new DataError('Map schema did not specify the value type');
      keySchema = this.asConnectSchema(k) ?? undefined;
      valueSchema = this.asConnectSchema(v) ?? undefined;
    } else if (type === 'struct') {
      const fs = node.get('fields');
      if (!Array.isArray(fs)) throw new DataError('Struct schema\'s "fields" argument is not an array.');
      fields = [];
      for (const f of fs) {
        const name = f instanceof Map ? f.get('field') : undefined;
        if (typeof name !== 'string') throw new DataError("Struct schema's field name not specified properly");
        if (fields.some((x) => x.name === name)) throw new DataError(`Cannot create field because of field name duplication ${name}`);
        fields.push({ name, index: fields.length, schema: this.asConnectSchema(f)! });
      }
    }
    const optional = node.get('optional') === true;
    const name = node.get('name');
    const version = node.get('version');
    const doc = node.get('doc');
    const params = node.get('parameters');
    let parameters: Record<string, string> | undefined;
    if (params instanceof Map) {
      parameters = {};
      for (const [k, v] of params) {
        if (typeof v !== 'string') throw new DataError('Schema parameters must have string values.');
        parameters[k] = v;
      }
    }
    const base = makeSchema(type, {
      optional,
      name: typeof name === 'string' ? name : undefined,
      version: typeof version === 'bigint' ? Number(BigInt.asIntN(32, version)) : undefined,
      doc: typeof doc === 'string' ? doc : undefined,
      parameters,
      keySchema,
      valueSchema,
    });
    const s: Schema = fields ? { ...base, fields } : base;
    const def = node.get('default');
    if (def !== undefined && def !== null) return { ...s, defaultValue: this.toValue(s, def) };
    return s;
  }

  /** JsonConverter.convertToConnect. */
  toValue(s: Schema | null, node: JsonNode | undefined): Value {
    if (s !== null) {
      if (node === undefined || node === null) {
        if (s.defaultValue !== undefined && s.defaultValue !== null && this.options.replaceNullWithDefault) return s.defaultValue;
        if (s.optional) return null;
        throw new DataError(`Invalid null value for required ${s.type.toUpperCase()} field`);
      }
      if (s.name !== undefined) {
        switch (s.name) {
          case DECIMAL: {
            const scale = decimalScale(s);
            if (typeof node === 'bigint') return new Decimal(node, 0);
            if (node instanceof JsonFloat) return decimalFromText(node.text);
            if (typeof node === 'string') return new Decimal(bigintFromBytes(Buffer.from(node, 'base64')), scale);
            throw new DataError(`Invalid type for Decimal, underlying representation should be numeric or bytes but was ${nodeType(node)}`);
          }
          case DATE:
          case TIME:
            if (typeof node !== 'bigint' || node !== BigInt.asIntN(32, node)) throw new DataError(`Invalid type for ${s.name === DATE ? 'Date' : 'Time'}, underlying representation should be integer but was ${nodeType(node)}`);
            return intToLogical(s, Number(node));
          case TIMESTAMP:
            if (typeof node !== 'bigint') throw new DataError(`Invalid type for Timestamp, underlying representation should be integral but was ${nodeType(node)}`);
            return new Date(Number(BigInt.asIntN(64, node)));
        }
      }
    } else if (node === undefined || node === null) return null;
    const n = node;
    const type: SchemaType | undefined = s !== null ? s.type : inferNodeType(n);
    switch (type) {
      case 'boolean':
        return n === true;
      case 'int8':
        return Number(BigInt.asIntN(8, integral(n)));
      case 'int16':
        return Number(BigInt.asIntN(16, integral(n)));
      case 'int32':
        return Number(BigInt.asIntN(32, integral(n)));
      case 'int64':
        return BigInt.asIntN(64, integral(n));
      case 'float32':
        return Math.fround(numeric(n));
      case 'float64':
        return numeric(n);
      case 'bytes':
        return typeof n === 'string' ? Uint8Array.from(Buffer.from(n, 'base64')) : null;
      case 'string':
        return typeof n === 'string' ? n : null;
      case 'array': {
        const es = s === null ? null : s.valueSchema!;
        const items = Array.isArray(n) ? n : n instanceof Map ? [...n.values()] : [];
        return items.map((e) => this.toValue(es, e));
      }
      case 'map': {
        const ks = s === null ? null : s.keySchema!;
        const vs = s === null ? null : s.valueSchema!;
        const out = new Map<Value, Value>();
        if (s === null || (ks!.type === 'string' && (this.options.mapEntries !== 'objects' || !ks!.optional))) {
          if (!(n instanceof Map)) throw new DataError(`Maps with string fields should be encoded as JSON objects, but found ${nodeType(n)}`);
          for (const [k, v] of n) out.set(k, this.toValue(vs, v));
        } else {
          if (!Array.isArray(n)) throw new DataError(`Maps with non-string fields should be encoded as JSON array of tuples, but found ${nodeType(n)}`);
          if (this.options.mapEntries === 'objects') {
            for (const e of n) {
              if (!(e instanceof Map)) throw new DataError(`Found invalid map entry instead of object: ${nodeType(e)}`);
              if (e.size !== 2) throw new DataError(`Found invalid map entry, expected length 2 but found :${e.size}`);
              out.set(this.toValue(ks, e.get('key')), this.toValue(vs, e.get('value')));
            }
            return out;
          }
          for (const e of n) {
            if (!Array.isArray(e)) throw new DataError(`Found invalid map entry instead of array tuple: ${nodeType(e)}`);
            if (e.length !== 2) throw new DataError(`Found invalid map entry, expected length 2 but found :${e.length}`);
            out.set(this.toValue(ks, e[0]), this.toValue(vs, e[1]));
          }
        }
        return out;
      }
      case 'struct': {
        if (!(n instanceof Map)) throw new DataError(`Structs should be encoded as JSON objects, but found ${nodeType(n)}`);
        const st = new Struct(s!);
        for (const f of s!.fields!) st.values[f.index] = this.toValue(f.schema, n.get(f.name));
        return st;
      }
      default:
        throw new DataError(`Unknown schema type: ${String(type)}`);
    }
  }
}

function rescale(d: Decimal, scale: number): bigint {
  if (d.scale === scale) return d.unscaled;
  throw new DataError(`BigDecimal has mismatching scale value for given Decimal schema (${d.scale} != ${scale})`);
}

/** Java's `new BigDecimal(text)` for a JSON number literal. */
function decimalFromText(text: string): Decimal {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new DataError(`cannot read ${text} as a decimal`);
  const frac = m[3] ?? '';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  return new Decimal(BigInt(`${m[1]}${m[2]}${frac}`), frac.length - exp);
}

function asText(json: string): string {
  // Jackson's JsonNode.asText() of a converted key: a string's content, a number's or boolean's text.
  if (json.startsWith('"')) return parseJson(json) as string;
  return json;
}

function integral(n: JsonNode): bigint {
  if (typeof n === 'bigint') return n;
  if (n instanceof JsonFloat) return Number.isFinite(n.value) ? BigInt(Math.trunc(n.value)) : 0n;
  return 0n;
}

function numeric(n: JsonNode): number {
  if (n instanceof JsonFloat) return n.value;
  if (typeof n === 'bigint') return Number(n);
  return 0;
}

function nodeType(n: JsonNode): string {
  if (n === null) return 'NULL';
  if (typeof n === 'boolean') return 'BOOLEAN';
  if (typeof n === 'string') return 'STRING';
  if (typeof n === 'bigint' || n instanceof JsonFloat) return 'NUMBER';
  if (Array.isArray(n)) return 'ARRAY';
  return 'OBJECT';
}

function inferNodeType(n: JsonNode): SchemaType {
  if (typeof n === 'boolean') return 'boolean';
  if (typeof n === 'bigint') return 'int64';
  if (n instanceof JsonFloat) return 'float64';
  if (typeof n === 'string') return 'string';
  if (Array.isArray(n)) return 'array';
  return 'map';
}

/** ConnectSchema.schemaType(value.getClass()) for schemaless values. */
function inferType(v: Value): SchemaType {
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'map';
  if (v instanceof Struct) return 'struct';
  throw new DataError(`Java class ${describeValue(v)} does not have corresponding schema type.`);
}

// ---------------------------------------------------------------------------------------------
// Definitions (configuration, names)

export const jsonConverterKeys: ComponentKey[] = [
  { name: 'schemas.enable', type: T.BOOLEAN, defaultValue: 'true', documentation: 'Include schemas within each of the serialized values and keys (the {"schema":…,"payload":…} envelope).' },
  { name: 'schemas.cache.size', type: T.INT, defaultValue: '1000', documentation: 'The maximum number of schemas that can be cached in this converter instance.' },
  { name: 'decimal.format', type: T.STRING, defaultValue: 'BASE64', allowedValues: ['BASE64', 'NUMERIC'], documentation: 'How Decimal values are written: BASE64 (the unscaled bytes) or NUMERIC (a JSON number).' },
  { name: 'replace.null.with.default', type: T.BOOLEAN, defaultValue: 'true', documentation: 'Whether a null field value is replaced by the field schema\'s default value.' },
];

export const converterDefinitions: ReadonlyArray<ComponentDefinition<Converter>> = [
  {
    className: 'org.apache.kafka.connect.json.JsonConverter',
    aliases: ['json', 'JsonConverter'],
    summary: "Kafka Connect's JSON format, with or without the schema envelope.",
    configKeys: jsonConverterKeys,
    create: (c) =>
      new JsonConverter({
        schemasEnable: c.bool('schemas.enable', true),
        decimalFormat: c.string('decimal.format') === 'NUMERIC' ? 'NUMERIC' : 'BASE64',
        replaceNullWithDefault: c.bool('replace.null.with.default', true),
      }),
  },
  {
    className: 'org.apache.kafka.connect.storage.StringConverter',
    aliases: ['string', 'StringConverter'],
    summary: 'UTF-8 text; a plugin\'s bytes pass unchanged.',
    configKeys: [encodingKey],
    create: () => new StringConverter(),
  },
  {
    className: 'org.apache.kafka.connect.converters.ByteArrayConverter',
    aliases: ['bytes', 'ByteArrayConverter'],
    summary: 'Raw bytes, unchanged.',
    configKeys: [],
    create: () => new ByteArrayConverter(),
  },
  avroConverterDefinition,
  protobufConverterDefinition,
  jsonSchemaConverterDefinition,
];

/** Kafka Connect's SimpleHeaderConverter, limited to what round-trips through text. */
export class SimpleHeaderConverter implements HeaderConverter {
  readonly className = 'org.apache.kafka.connect.storage.SimpleHeaderConverter';

  fromConnectHeader(_topic: string, _key: string, s: Schema | null, value: Value): Uint8Array | null {
    if (value === null) return null;
    if (value instanceof Uint8Array) return value;
    return Buffer.from(simpleString(s, value), 'utf8');
  }

  toConnectHeader(_topic: string, _key: string, bytes: Uint8Array | null): SchemaAndValue {
    if (bytes === null) return NULL;
    return { schema: Schemas.string, value: utf8(bytes) };
  }
}

/** Values.convertToString for the types header values usually have. */
function simpleString(s: Schema | null, v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return s?.type === 'float32' ? javaFloatString(v) : s?.type === 'float64' ? javaDoubleString(v) : String(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return String(s?.name === DATE || s?.name === TIME || s?.name === TIMESTAMP ? logicalToInt(s, v) : v.getTime());
  if (v instanceof Decimal) return v.toPlainString();
  return new JsonConverter({ schemasEnable: false, decimalFormat: 'NUMERIC', replaceNullWithDefault: true }).toJson(s, v);
}

export const headerConverterDefinitions: ReadonlyArray<ComponentDefinition<HeaderConverter>> = [
  {
    className: 'org.apache.kafka.connect.storage.SimpleHeaderConverter',
    aliases: ['simple', 'SimpleHeaderConverter'],
    summary: "Header values as text (Kafka Connect's default header converter); raw header bytes pass unchanged.",
    configKeys: [],
    create: () => new SimpleHeaderConverter(),
  },
  { ...converterDefinitions[0]!, create: (c, k) => converterDefinitions[0]!.create(c, k) as JsonConverter },
  { ...converterDefinitions[1]!, create: () => new StringConverter() },
  { ...converterDefinitions[2]!, create: () => new ByteArrayConverter() },
];

/** Finds a definition by class name or alias; InvalidArgumentError naming `key` when unknown. */
export function findDefinition<T>(defs: ReadonlyArray<ComponentDefinition<T>>, name: string, key: string, what: string): ComponentDefinition<T> {
  const n = name.trim();
  const def = defs.find((d) => d.className === n || d.aliases.includes(n));
  if (!def) {
    throw new InvalidArgumentError(`unknown ${what}`, [{ key, message: `unknown ${what} "${n}"; known: ${defs.map((d) => d.aliases[0]).join(', ')} (or their Kafka Connect class names)` }]);
  }
  return def;
}
