/**
 * Kafka Connect schemas and values ↔ Avro, as Confluent's `io.confluent.connect.avro.AvroData`
 * maps them (with `connect.meta.data=true`, its default):
 *
 * - INT8 / INT16 → Avro `int` with `"connect.type":"int8"|"int16"`; INT32 → `int`; INT64 → `long`;
 *   FLOAT32 → `float`; FLOAT64 → `double`; BOOLEAN, STRING, BYTES → the same Avro primitive.
 * - STRUCT → `record` named after the Connect schema (`io.confluent.connect.avro.ConnectDefault`,
 *   then `ConnectDefault2`, … when unnamed); ARRAY → `array`; MAP with STRING keys → `map`, other
 *   keys → an `array` of `io.confluent.connect.avro.MapEntry` records (`key`, `value`).
 * - Optional → a union `["null", T]` (field default `null`); with a non-null default `[T, "null"]`.
 * - Logical types: Decimal → `bytes` + `"logicalType":"decimal"`, `precision`
 *   (`connect.decimal.precision`, default 64), `scale`; Date → `int` + `date`; Time → `int` +
 *   `time-millis`; Timestamp → `long` + `timestamp-millis`.
 * - Connect metadata as Avro attributes: `connect.name`, `connect.version`, `connect.doc`,
 *   `connect.parameters`, and `connect.default`.
 *
 * Reading maps back the same way, and reads Avro written by others: `enum` → STRING, `fixed` →
 * BYTES, a named record without `connect.name` → a STRUCT with the record's full name. A union
 * other than `null` + one type is a DataError (Confluent maps it to a special Union struct).
 *
 * Values use avsc's representation with 64-bit `long`s as `bigint` (no precision lost).
 */
import { Buffer } from 'node:buffer';
import avro from 'avsc';
import {
  bigintFromBytes,
  bigintToBytes,
  DataError,
  DATE,
  Decimal,
  DECIMAL,
  DECIMAL_SCALE,
  decimalScale,
  intToLogical,
  logicalToInt,
  schema as makeSchema,
  Struct,
  TIME,
  TIMESTAMP,
  type Field,
  type Schema,
  type Value,
} from './data.js';

export type AvroJson = string | AvroJson[] | { [k: string]: unknown };

const NAMESPACE = 'io.confluent.connect.avro';
const DEFAULT_NAME = 'ConnectDefault';
const MAP_ENTRY = 'MapEntry';
const PRECISION = 'connect.decimal.precision';

/** An avsc `long` that reads and writes `bigint`s, so no INT64 loses precision. */
const BigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** An avsc type for an Avro schema, with bigint longs. Throws DataError for an invalid schema. */
export function avroType(json: AvroJson): avro.Type {
  try {
    // Wrapped unions (`{"long": 5n}`): avsc cannot pick an unwrapped union's branch for a bigint.
    // Every `long` (bare, or an object with attributes such as a logicalType) is the bigint one.
    return avro.Type.forSchema(json as avro.Schema, {
      wrapUnions: true,
      registry: { long: BigLong } as unknown as { [name: string]: avro.Type },
      typeHook: (schema: avro.Schema) => (typeof schema === 'object' && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long' ? BigLong : undefined),
    });
  } catch (err) {
    throw new DataError(`invalid Avro schema: ${(err as Error).message}`);
  }
}

/** AvroData.fromConnectSchema. `metadata` is `connect.meta.data`. */
export function fromConnectSchema(s: Schema, metadata = true): AvroJson {
  const state = { defined: new Set<string>(), unnamed: 0 };
  return fromSchema(s, metadata, state, false);
}

interface NameState {
  defined: Set<string>;
  unnamed: number;
}

function fromSchema(s: Schema, metadata: boolean, state: NameState, ignoreOptional: boolean): AvroJson {
  const base = baseSchema(s, metadata, state);
  if (!s.optional || ignoreOptional) return base;
  return s.defaultValue !== undefined && s.defaultValue !== null ? [base, 'null'] : ['null', base];
}

function baseSchema(s: Schema, metadata: boolean, state: NameState): AvroJson {
  const out: Record<string, unknown> = {};
  switch (s.type) {
    case 'int8':
    case 'int16':
      out.type = 'int';
      out['connect.type'] = s.type;
      break;
    case 'int32':
      out.type = 'int';
      break;
    case 'int64':
      out.type = 'long';
      break;
    case 'float32':
      out.type = 'float';
      break;
    case 'float64':
      out.type = 'double';
      break;
    case 'boolean':
    case 'string':
    case 'bytes':
      out.type = s.type;
      break;
    case 'array':
      out.type = 'array';
      out.items = fromSchema(s.valueSchema!, metadata, state, false);
      break;
    case 'map':
      if (s.keySchema!.type === 'string' && !s.keySchema!.optional) {
        out.type = 'map';
        out.values = fromSchema(s.valueSchema!, metadata, state, false);
      } else {
        out.type = 'array';
        const fullName = `${NAMESPACE}.${MAP_ENTRY}`;
        if (state.defined.has(fullName)) out.items = fullName;
        else {
          state.defined.add(fullName);
          out.items = {
            type: 'record',
            name: MAP_ENTRY,
            namespace: NAMESPACE,
            fields: [
              { name: 'key', type: fromSchema(s.keySchema!, metadata, state, false) },
              { name: 'value', type: fromSchema(s.valueSchema!, metadata, state, false) },
            ],
          };
        }
      }
      break;
    case 'struct': {
      const fullName = s.name ?? `${NAMESPACE}.${DEFAULT_NAME}${state.unnamed++ === 0 ? '' : state.unnamed}`;
      if (state.defined.has(fullName)) return fullName;
      state.defined.add(fullName);
      const dot = fullName.lastIndexOf('.');
      out.type = 'record';
      out.name = dot < 0 ? fullName : fullName.slice(dot + 1);
      if (dot >= 0) out.namespace = fullName.slice(0, dot);
      if (s.doc !== undefined) out.doc = s.doc;
      out.fields = s.fields!.map((f) => fieldSchema(f, metadata, state));
      break;
    }
  }
  if (s.name === DECIMAL) {
    const scale = decimalScale(s);
    const precision = s.parameters?.[PRECISION];
    out.scale = scale;
    out.precision = precision === undefined ? 64 : Number(precision);
    out.logicalType = 'decimal';
  } else if (s.name === DATE) out.logicalType = 'date';
  else if (s.name === TIME) out.logicalType = 'time-millis';
  else if (s.name === TIMESTAMP) out.logicalType = 'timestamp-millis';
  if (metadata) {
    if (s.doc !== undefined) out['connect.doc'] = s.doc;
    if (s.version !== undefined) out['connect.version'] = s.version;
    if (s.parameters !== undefined) out['connect.parameters'] = { ...s.parameters };
    if (s.defaultValue !== undefined && s.defaultValue !== null) out['connect.default'] = defaultJson(s, s.defaultValue);
    if (s.name !== undefined) out['connect.name'] = s.name;
  }
  // A bare primitive with no attributes is written as its name, as Avro's Schema.toString does.
  const keys = Object.keys(out);
  if (keys.length === 1 && typeof out.type === 'string' && !['array', 'map', 'record'].includes(out.type)) return out.type;
  return out;
}

function fieldSchema(f: Field, metadata: boolean, state: NameState): Record<string, unknown> {
  const out: Record<string, unknown> = { name: f.name, type: fromSchema(f.schema, metadata, state, false) };
  if (f.schema.doc !== undefined) out.doc = f.schema.doc;
  if (f.schema.defaultValue !== undefined && f.schema.defaultValue !== null) out.default = defaultJson(f.schema, f.schema.defaultValue);
  else if (f.schema.optional) out.default = null;
  return out;
}

/** A default in Avro's JSON encoding (bytes as a string of code points 0–255). */
function defaultJson(s: Schema, v: Value): unknown {
  if (v === null) return null;
  if (s.name === DECIMAL && v instanceof Decimal) return Buffer.from(bigintToBytes(v.unscaled)).toString('latin1');
  if (v instanceof Date && s.name !== undefined) return logicalToInt(s, v);
  switch (s.type) {
    case 'int64':
      return Number(v as bigint);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('latin1');
    case 'array':
      return (v as Value[]).map((x) => defaultJson(s.valueSchema!, x));
    case 'map':
      if (s.keySchema!.type === 'string') return Object.fromEntries([...(v as Map<Value, Value>)].map(([k, x]) => [k, defaultJson(s.valueSchema!, x)]));
      return [...(v as Map<Value, Value>)].map(([k, x]) => ({ key: defaultJson(s.keySchema!, k), value: defaultJson(s.valueSchema!, x) }));
    case 'struct':
      return Object.fromEntries(s.fields!.map((f) => [f.name, defaultJson(f.schema, (v as Struct).values[f.index]!)]));
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Avro → Connect schema

/** AvroData.toConnectSchema for a schema read from the registry. */
export function toConnectSchema(json: AvroJson): Schema {
  return toSchema(json, new Map(), undefined, false);
}

type Named = Map<string, Record<string, unknown>>;

function toSchema(json: AvroJson, named: Named, namespace: string | undefined, forceOptional: boolean): Schema {
  if (typeof json === 'string') {
    const ref = named.get(json) ?? (namespace !== undefined ? named.get(`${namespace}.${json}`) : undefined);
    if (ref) return toSchema(ref, named, namespace, forceOptional);
    return toSchema({ type: json }, named, namespace, forceOptional);
  }
  if (Array.isArray(json)) {
    const nonNull = json.filter((t) => t !== 'null');
    if (nonNull.length === 1 && json.length === 2) return toSchema(nonNull[0]!, named, namespace, true);
    throw new DataError(`Avro union ${JSON.stringify(json)} has no Kafka Connect equivalent here (only a union of "null" and one type is supported)`);
  }
  const type = json.type;
  if (typeof type === 'object' && type !== null) return toSchema(type as AvroJson, named, namespace, forceOptional);
  if (typeof type !== 'string') throw new DataError(`Avro schema without a type: ${JSON.stringify(json)}`);
  const connectType = json['connect.type'];
  const connectName = typeof json['connect.name'] === 'string' ? json['connect.name'] : undefined;
  const logical = json.logicalType;
  const init = {
    optional: forceOptional,
    name: connectName,
    version: typeof json['connect.version'] === 'number' ? json['connect.version'] : undefined,
    doc: typeof json['connect.doc'] === 'string' ? json['connect.doc'] : undefined,
    parameters: isStringRecord(json['connect.parameters']) ? { ...json['connect.parameters'] } : undefined,
  };
  let s: Schema;
  switch (type) {
    case 'null':
      throw new DataError('an Avro "null" schema has no Kafka Connect equivalent');
    case 'int':
      if (logical === 'date') s = makeSchema('int32', { ...init, name: DATE, version: init.version ?? 1 });
      else if (logical === 'time-millis') s = makeSchema('int32', { ...init, name: TIME, version: init.version ?? 1 });
      else s = makeSchema(connectType === 'int8' ? 'int8' : connectType === 'int16' ? 'int16' : 'int32', init);
      break;
    case 'long':
      s = logical === 'timestamp-millis' ? makeSchema('int64', { ...init, name: TIMESTAMP, version: init.version ?? 1 }) : makeSchema('int64', init);
      break;
    case 'float':
      s = makeSchema('float32', init);
      break;
    case 'double':
      s = makeSchema('float64', init);
      break;
    case 'boolean':
    case 'string':
      s = makeSchema(type, init);
      break;
    case 'bytes':
    case 'fixed':
      if (type === 'fixed') register(json, named, namespace);
      if (logical === 'decimal') {
        const scale = typeof json.scale === 'number' ? json.scale : 0;
        const params: Record<string, string> = { ...init.parameters, [DECIMAL_SCALE]: String(scale) };
        if (typeof json.precision === 'number' && json.precision !== 64) params[PRECISION] = String(json.precision);
        s = makeSchema('bytes', { ...init, name: DECIMAL, version: init.version ?? 1, parameters: params });
      } else s = makeSchema('bytes', init);
      break;
    case 'enum':
      register(json, named, namespace);
      s = makeSchema('string', init);
      break;
    case 'array': {
      const items = json.items as AvroJson;
      const entry = typeof items === 'object' && !Array.isArray(items) ? items : typeof items === 'string' ? named.get(items) : undefined;
      if (entry && entry.type === 'record' && fullNameOf(entry, namespace) === `${NAMESPACE}.${MAP_ENTRY}`) {
        register(entry, named, namespace);
        const fields = entry.fields as Array<{ name: string; type: AvroJson }>;
        const k = fields.find((f) => f.name === 'key');
        const v = fields.find((f) => f.name === 'value');
        if (!k || !v) throw new DataError('a MapEntry record needs "key" and "value" fields');
        s = makeSchema('map', { ...init, keySchema: toSchema(k.type, named, NAMESPACE, false), valueSchema: toSchema(v.type, named, NAMESPACE, false) });
      } else s = makeSchema('array', { ...init, valueSchema: toSchema(items, named, namespace, false) });
      break;
    }
    case 'map':
      s = makeSchema('map', { ...init, keySchema: makeSchema('string'), valueSchema: toSchema(json.values as AvroJson, named, namespace, false) });
      break;
    case 'record': {
      const fullName = register(json, named, namespace);
      const ns = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : undefined;
      const isDefault = fullName.startsWith(`${NAMESPACE}.${DEFAULT_NAME}`);
      const name = connectName ?? (isDefault ? undefined : fullName);
      const fields: Field[] = (json.fields as Array<{ name: string; type: AvroJson; default?: unknown; doc?: string }>).map((f, index) => {
        let fs = toSchema(f.type, named, ns, false);
        if (f.default !== undefined && f.default !== null) fs = { ...fs, defaultValue: fromDefault(fs, f.default) };
        return { name: f.name, index, schema: fs };
      });
      s = { ...makeSchema('struct', { ...init, name, doc: init.doc ?? (typeof json.doc === 'string' ? json.doc : undefined) }), fields };
      break;
    }
    default:
      throw new DataError(`unknown Avro type "${type}"`);
  }
  const def = json['connect.default'];
  if (def !== undefined && def !== null) s = { ...s, defaultValue: fromDefault(s, def) };
  return s;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function fullNameOf(json: Record<string, unknown>, namespace: string | undefined): string {
  const name = String(json.name);
  if (name.includes('.')) return name;
  const ns = typeof json.namespace === 'string' ? json.namespace : namespace;
  return ns ? `${ns}.${name}` : name;
}

function register(json: Record<string, unknown>, named: Named, namespace: string | undefined): string {
  const full = fullNameOf(json, namespace);
  named.set(full, json);
  return full;
}

function fromDefault(s: Schema, v: unknown): Value {
  if (v === null) return null;
  if (s.name === DECIMAL) return new Decimal(bigintFromBytes(Buffer.from(String(v), 'latin1')), decimalScale(s));
  if (s.name === DATE || s.name === TIME || s.name === TIMESTAMP) return intToLogical(s, Number(v));
  switch (s.type) {
    case 'int64':
      return BigInt(v as number);
    case 'bytes':
      return Uint8Array.from(Buffer.from(String(v), 'latin1'));
    case 'array':
      return (v as unknown[]).map((x) => fromDefault(s.valueSchema!, x));
    case 'map':
      if (Array.isArray(v)) return new Map((v as Array<{ key: unknown; value: unknown }>).map((e) => [fromDefault(s.keySchema!, e.key), fromDefault(s.valueSchema!, e.value)]));
      return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromDefault(s.valueSchema!, x)]));
    case 'struct': {
      const st = new Struct(s);
      for (const f of s.fields!) st.values[f.index] = fromDefault(f.schema, (v as Record<string, unknown>)[f.name] ?? null);
      return st;
    }
    default:
      return v as Value;
  }
}

// ---------------------------------------------------------------------------------------------
// Values

/** AvroData.fromConnectData: a Connect value as avsc expects it for `t = avroType(fromConnectSchema(s))`. */
export function fromConnectData(s: Schema, v: Value, t: avro.Type): unknown {
  if (v === null && s.defaultValue !== undefined && s.defaultValue !== null) return fromConnectData(s, s.defaultValue, t);
  if (t instanceof avro.types.WrappedUnionType) {
    if (v === null) {
      if (s.optional) return null;
      throw new DataError(`Conversion error: null value for field that is required and has no default value`);
    }
    const branch = t.types.find((b) => b.typeName !== 'null')!;
    return { [branch.branchName!]: fromConnectData(s, v, branch) };
  }
  if (v === null) throw new DataError(`Conversion error: null value for field that is required and has no default value`);
  if (s.name === DECIMAL) {
    if (!(v instanceof Decimal)) throw new DataError('Invalid type for Decimal');
    if (v.scale !== decimalScale(s)) throw new DataError(`BigDecimal has mismatching scale value for given Decimal schema (${v.scale} != ${decimalScale(s)})`);
    return Buffer.from(bigintToBytes(v.unscaled));
  }
  if (s.name === DATE || s.name === TIME || s.name === TIMESTAMP) {
    if (!(v instanceof Date)) throw new DataError(`Invalid type for ${s.name}`);
    const n = logicalToInt(s, v);
    return s.name === TIMESTAMP ? BigInt(n) : n;
  }
  const bad = (): never => {
    throw new DataError(`Invalid type for ${s.type.toUpperCase()}: ${typeof v}`);
  };
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') bad();
      return v;
    case 'int64':
      if (typeof v !== 'bigint') bad();
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') bad();
      return v;
    case 'string':
      if (typeof v !== 'string') bad();
      return v;
    case 'bytes':
      if (!(v instanceof Uint8Array)) bad();
      return Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength);
    case 'array': {
      if (!Array.isArray(v)) bad();
      const items = (t as avro.types.ArrayType).itemsType;
      return (v as Value[]).map((x) => fromConnectData(s.valueSchema!, x, items));
    }
    case 'map': {
      if (!(v instanceof Map)) bad();
      const m = v as Map<Value, Value>;
      if (t instanceof avro.types.MapType) {
        const values = t.valuesType as avro.Type;
        const out: Record<string, unknown> = {};
        for (const [k, x] of m) out[k as string] = fromConnectData(s.valueSchema!, x, values);
        return out;
      }
      const entry = (t as avro.types.ArrayType).itemsType as avro.types.RecordType;
      const [kt, vt] = [entry.field('key')!.type, entry.field('value')!.type];
      return [...m].map(([k, x]) => ({ key: fromConnectData(s.keySchema!, k, kt), value: fromConnectData(s.valueSchema!, x, vt) }));
    }
    case 'struct': {
      if (!(v instanceof Struct)) bad();
      const st = v as Struct;
      const rt = t as avro.types.RecordType;
      const out: Record<string, unknown> = {};
      for (const f of s.fields!) out[f.name] = fromConnectData(f.schema, st.values[f.index] ?? null, rt.field(f.name)!.type);
      return out;
    }
  }
}

/** AvroData.toConnectData: an avsc value read with the writer schema → Connect. */
export function toConnectData(s: Schema, wrapped: unknown): Value {
  if (wrapped === null || wrapped === undefined) {
    if (s.optional) return null;
    throw new DataError(`Invalid null value for required ${s.type.toUpperCase()} field`);
  }
  // An optional schema is a wrapped union: `{"<branch>": value}`.
  const v: unknown = s.optional ? Object.values(wrapped as object)[0] : wrapped;
  if (s.name === DECIMAL) return new Decimal(bigintFromBytes(v as Buffer), decimalScale(s));
  if (s.name === DATE || s.name === TIME) return intToLogical(s, v as number);
  if (s.name === TIMESTAMP) return new Date(Number(v as bigint));
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
    case 'boolean':
      return v as number | boolean;
    case 'int64':
      return v as bigint;
    case 'string':
      return String(v);
    case 'bytes':
      return Uint8Array.from(v as Buffer);
    case 'array':
      return (v as unknown[]).map((x) => toConnectData(s.valueSchema!, x));
    case 'map':
      if (Array.isArray(v)) return new Map((v as Array<{ key: unknown; value: unknown }>).map((e) => [toConnectData(s.keySchema!, e.key), toConnectData(s.valueSchema!, e.value)]));
      return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toConnectData(s.valueSchema!, x)]));
    case 'struct': {
      const st = new Struct(s);
      const o = v as Record<string, unknown>;
      for (const f of s.fields!) st.values[f.index] = toConnectData(f.schema, o[f.name]);
      return st;
    }
  }
}
