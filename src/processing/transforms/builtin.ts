/**
 * Kafka Connect's single-message transforms (org.apache.kafka.connect.transforms), with their
 * `$Key` / `$Value` variants, following apache/kafka's implementation: schemaless values must
 * be maps, values with a schema must be structs (where Kafka Connect requires it), updated
 * schemas keep the original's name, version, doc and parameters, and null values
 * (tombstones) pass through the field transforms unchanged.
 */
import { ComponentConfig, T, type ComponentKey } from '../component-config.js';
import {
  DataError,
  Decimal,
  Schemas,
  Struct,
  DATE,
  TIME,
  TIMESTAMP,
  dateSchema,
  logicalToInt,
  timeSchema,
  schema,
  structSchema,
  timestampSchema,
  withSchema,
  type Field,
  type Schema,
  type SchemaType,
  type Value,
} from '../data.js';
import { javaBigDecimalString, javaDoubleString, javaFloatString } from '../json.js';
import { newRecord, type ConnectHeader, type ConnectRecord } from '../record.js';
import type { TransformDefinition, Transformation } from './types.js';

const PKG = 'org.apache.kafka.connect.transforms.';

type Side = 'key' | 'value';

function operating(r: ConnectRecord, side: Side): { schema: Schema | null; value: Value } {
  return side === 'key' ? { schema: r.keySchema, value: r.key } : { schema: r.valueSchema, value: r.value };
}

function withOperating(r: ConnectRecord, side: Side, schema: Schema | null, value: Value): ConnectRecord {
  return side === 'key' ? newRecord(r, { keySchema: schema, key: value }) : newRecord(r, { valueSchema: schema, value });
}

function requireMap(v: Value, purpose: string): Map<Value, Value> {
  if (!(v instanceof Map)) throw new DataError(`Only Map objects supported in absence of schema for [${purpose}], found: ${v === null ? 'null' : typeof v === 'object' ? v.constructor.name : typeof v}`);
  return v;
}

function requireStruct(v: Value, purpose: string): Struct {
  if (!(v instanceof Struct)) throw new DataError(`Only Struct objects supported for [${purpose}], found: ${v === null ? 'null' : typeof v === 'object' ? v.constructor.name : typeof v}`);
  return v;
}

/** SchemaUtil.copySchemaBasics onto a struct with new fields. */
function structLike(base: Schema, fields: ReadonlyArray<readonly [string, Schema]>): Schema {
  return structSchema(fields, { name: base.name, version: base.version, doc: base.doc, parameters: base.parameters, optional: base.optional });
}

/** A cache of derived schemas, keyed by the input schema object (Kafka Connect's schemaUpdateCache). */
class SchemaCache {
  private readonly m = new WeakMap<Schema, Schema>();
  get(s: Schema, make: (s: Schema) => Schema): Schema {
    let out = this.m.get(s);
    if (!out) {
      out = make(s);
      this.m.set(s, out);
    }
    return out;
  }
}

/** Defines `$Key` and `$Value` variants of one transform. */
function both(simple: string, summary: string, configKeys: ComponentKey[], make: (c: ComponentConfig, side: Side) => Transformation): TransformDefinition[] {
  return (['Key', 'Value'] as const).map((v) => ({
    className: `${PKG}${simple}$${v}`,
    aliases: [`${simple}$${v}`],
    summary: `${summary} (record ${v.toLowerCase()})`,
    configKeys,
    create: (c: ComponentConfig) => make(c, v === 'Key' ? 'key' : 'value'),
  }));
}

function one(simple: string, summary: string, configKeys: ComponentKey[], make: (c: ComponentConfig) => Transformation): TransformDefinition {
  return { className: `${PKG}${simple}`, aliases: [simple], summary, configKeys, create: (c) => make(c) };
}

// ---------------------------------------------------------------------------------------------
// InsertField

interface InsertSpec {
  name: string;
  optional: boolean;
}

function insertSpec(raw: string | undefined): InsertSpec | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.endsWith('!')) return { name: raw.slice(0, -1), optional: false };
  if (raw.endsWith('?')) return { name: raw.slice(0, -1), optional: true };
  return { name: raw, optional: true };
}

/** Kafka Connect 3.8+'s key on the transforms that copy struct fields (KIP-1040). */
const replaceNullKey: ComponentKey = {
  name: 'replace.null.with.default',
  type: T.BOOLEAN,
  defaultValue: 'true',
  documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.',
};

const insertFieldKeys: ComponentKey[] = [
  { name: 'topic.field', type: T.STRING, documentation: 'Field name for the record topic. Suffix with ! to make it required, ? to keep it optional (the default).' },
  { name: 'partition.field', type: T.STRING, documentation: 'Field name for the Kafka partition.' },
  { name: 'offset.field', type: T.STRING, documentation: 'Field name for the Kafka offset (sink connectors only).' },
  { name: 'timestamp.field', type: T.STRING, documentation: 'Field name for the record timestamp.' },
  { name: 'static.field', type: T.STRING, documentation: 'Field name for a static data field.' },
  { name: 'static.value', type: T.STRING, documentation: 'The static field value, if a static field name is configured.' },
  replaceNullKey,
];

function insertField(c: ComponentConfig, side: Side): Transformation {
  const topic = insertSpec(c.string('topic.field'));
  const partition = insertSpec(c.string('partition.field'));
  const offset = insertSpec(c.string('offset.field'));
  const timestamp = insertSpec(c.string('timestamp.field'));
  const stat = insertSpec(c.string('static.field'));
  const staticValue = c.string('static.value');
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'field insertion';
  const cache = new SchemaCache();
  const requireOffset = (r: ConnectRecord): bigint => {
    if (r.kafkaOffset === undefined) throw new DataError(`Only SinkRecord supported for [${purpose}], found: SourceRecord`);
    return r.kafkaOffset;
  };
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.value === null) return r;
      if (op.schema === null) {
        const m = new Map(requireMap(op.value, purpose));
        if (topic) m.set(topic.name, r.topic);
        if (partition && r.kafkaPartition !== undefined) m.set(partition.name, BigInt(r.kafkaPartition));
        if (offset) m.set(offset.name, requireOffset(r));
        if (timestamp && r.timestamp !== undefined) m.set(timestamp.name, BigInt(r.timestamp));
        if (stat && staticValue !== undefined) m.set(stat.name, staticValue);
        return withOperating(r, side, null, m);
      }
      const value = requireStruct(op.value, purpose);
      const s = cache.get(value.schema, (base) => {
        const fields: Array<[string, Schema]> = base.fields!.map((f) => [f.name, f.schema]);
        if (topic) fields.push([topic.name, topic.optional ? Schemas.optionalString : Schemas.string]);
        if (partition) fields.push([partition.name, partition.optional ? Schemas.optionalInt32 : Schemas.int32]);
        if (offset) fields.push([offset.name, offset.optional ? Schemas.optionalInt64 : Schemas.int64]);
        if (timestamp) fields.push([timestamp.name, timestampSchema(timestamp.optional)]);
        if (stat) fields.push([stat.name, stat.optional ? Schemas.optionalString : Schemas.string]);
        return structLike(base, fields);
      });
      const out = new Struct(s, [...value.schema.fields!.map((f) => fieldValue(value, f, replaceNull)), ...new Array<Value>(s.fields!.length - value.values.length).fill(null)]);
      if (topic) out.put(topic.name, r.topic);
      if (partition && r.kafkaPartition !== undefined) out.put(partition.name, r.kafkaPartition);
      if (offset) out.put(offset.name, requireOffset(r));
      if (timestamp && r.timestamp !== undefined) out.put(timestamp.name, new Date(r.timestamp));
      if (stat && staticValue !== undefined) out.put(stat.name, staticValue);
      return withOperating(r, side, s, out);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ReplaceField

const replaceFieldKeys: ComponentKey[] = [
  { name: 'exclude', type: T.LIST, defaultValue: '', documentation: 'Fields to exclude. This takes precedence over the fields to include.' },
  { name: 'include', type: T.LIST, defaultValue: '', documentation: 'Fields to include. If specified, only these fields will be used.' },
  { name: 'renames', type: T.LIST, defaultValue: '', documentation: 'Field rename mappings, as comma-separated old:new pairs.' },
  { name: 'blacklist', type: T.LIST, documentation: 'Deprecated alias of exclude.' },
  { name: 'whitelist', type: T.LIST, documentation: 'Deprecated alias of include.' },
  replaceNullKey,
];

function replaceField(c: ComponentConfig, side: Side): Transformation {
  const exclude = new Set([...c.list('exclude'), ...c.list('blacklist')]);
  const include = new Set([...c.list('include'), ...c.list('whitelist')]);
  const renames = new Map<string, string>();
  for (const pair of c.list('renames')) {
    const parts = pair.split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1]) c.problem('renames', `Invalid rename mapping: ${pair}`);
    else renames.set(parts[0], parts[1]);
  }
  const keep = (name: string): boolean => !exclude.has(name) && (include.size === 0 || include.has(name));
  const renamed = (name: string): string => renames.get(name) ?? name;
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'field replacement';
  const cache = new SchemaCache();
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.value === null) return r;
      if (op.schema === null) {
        const out = new Map<Value, Value>();
        for (const [k, v] of requireMap(op.value, purpose)) if (typeof k === 'string' && keep(k)) out.set(renamed(k), v);
        return withOperating(r, side, null, out);
      }
      const value = requireStruct(op.value, purpose);
      const kept = value.schema.fields!.filter((f) => keep(f.name));
      const s = cache.get(value.schema, (base) => structLike(base, kept.map((f) => [renamed(f.name), f.schema])));
      return withOperating(r, side, s, new Struct(s, kept.map((f) => fieldValue(value, f, replaceNull))));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// MaskField

const maskFieldKeys: ComponentKey[] = [
  { name: 'fields', type: T.LIST, required: true, documentation: 'Names of fields to mask.' },
  { name: 'replacement', type: T.STRING, documentation: 'Custom value replacement, applied to all fields (numeric or non-empty string values only).' },
  replaceNullKey,
];

function maskedValue(v: Value, s: Schema | null, replacement: string | undefined): Value {
  if (v === null) return null;
  if (replacement !== undefined) {
    const type = s?.type;
    if (v instanceof Decimal) return decimalOf(replacement);
    if (typeof v === 'string') return replacement;
    const n = Number(replacement);
    if (typeof v === 'bigint') {
      if (!/^[+-]?\d+$/.test(replacement)) throw new DataError(`Unable to convert ${replacement} (string) to number`);
      return BigInt(replacement);
    }
    if (typeof v === 'number') {
      if (Number.isNaN(n)) throw new DataError(`Unable to convert ${replacement} (string) to number`);
      return type === 'int8' || type === 'int16' || type === 'int32' ? Math.trunc(n) : n;
    }
    throw new DataError(`Cannot mask value of type ${typeof v} with custom replacement.`);
  }
  if (typeof v === 'string') return '';
  if (typeof v === 'bigint') return 0n;
  if (typeof v === 'number') return 0;
  if (typeof v === 'boolean') return false;
  if (v instanceof Date) return new Date(0);
  if (v instanceof Decimal) return new Decimal(0n, v.scale);
  if (v instanceof Uint8Array) return new Uint8Array(0);
  if (Array.isArray(v)) return [];
  if (v instanceof Map) return new Map();
  throw new DataError(`Cannot mask value of type: ${v.constructor.name}`);
}

function decimalOf(text: string): Decimal {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && !m[3])) throw new DataError(`Unable to convert ${text} (string) to BigDecimal`);
  const frac = m[3] ?? '';
  return new Decimal(BigInt(`${m[1]}${m[2] || '0'}${frac}`), frac.length);
}

function maskField(c: ComponentConfig, side: Side): Transformation {
  const fields = new Set(c.list('fields'));
  const replacement = c.string('replacement');
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'mask fields';
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.value === null) return r;
      if (op.schema === null) {
        const out = new Map(requireMap(op.value, purpose));
        for (const f of fields) if (out.has(f)) out.set(f, maskedValue(out.get(f)!, null, replacement));
        return withOperating(r, side, null, out);
      }
      const value = requireStruct(op.value, purpose);
      const out = new Struct(
        value.schema,
        value.schema.fields!.map((f) => {
          // A null with a default is masked as the default would be (Kafka Connect masks Struct.get's value).
          const v = fieldValue(value, f, replaceNull);
          return fields.has(f.name) ? maskedValue(v, f.schema, replacement) : v;
        }),
      );
      return withOperating(r, side, value.schema, out);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ValueToKey, ExtractField, HoistField

function valueToKey(c: ComponentConfig): Transformation {
  const fields = c.list('fields');
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'copying fields from value to key';
  const cache = new SchemaCache();
  return {
    apply(r) {
      if (r.valueSchema === null) {
        const v = requireMap(r.value, purpose);
        const key = new Map<Value, Value>();
        for (const f of fields) key.set(f, v.get(f) ?? null);
        return newRecord(r, { keySchema: null, key });
      }
      const v = requireStruct(r.value, purpose);
      const s = cache.get(v.schema, (base) =>
        structSchema(
          fields.map((name) => {
            const f = base.fields!.find((x) => x.name === name);
            if (!f) throw new DataError(`Field does not exist: ${name}`);
            return [name, f.schema] as const;
          }),
        ),
      );
      return newRecord(r, { keySchema: s, key: new Struct(s, fields.map((f) => fieldValue(v, v.field(f)!, replaceNull))) });
    },
  };
}

function extractField(c: ComponentConfig, side: Side): Transformation {
  const field = c.required('field');
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'field extraction';
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.schema === null) {
        if (op.value === null) return withOperating(r, side, null, null);
        return withOperating(r, side, null, requireMap(op.value, purpose).get(field) ?? null);
      }
      const f = op.schema.type === 'struct' ? op.schema.fields!.find((x) => x.name === field) : undefined;
      if (!f) throw new DataError(`Unknown field: ${field}`);
      if (op.value === null) return withOperating(r, side, f.schema, null);
      return withOperating(r, side, f.schema, fieldValue(requireStruct(op.value, purpose), f, replaceNull));
    },
  };
}

function hoistField(c: ComponentConfig, side: Side): Transformation {
  const field = c.required('field');
  const cache = new SchemaCache();
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.schema === null) return withOperating(r, side, null, new Map<Value, Value>([[field, op.value]]));
      const s = cache.get(op.schema, (base) => structSchema([[field, base]]));
      return withOperating(r, side, s, new Struct(s, [op.value]));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Routing, filter, headers, schema metadata

/** Java regex → JS: the syntax shared by both (groups, classes, quantifiers) means the same. */
function javaRegex(c: ComponentConfig, key: string): RegExp | undefined {
  const raw = c.required(key);
  try {
    return new RegExp(`^(?:${raw})$`);
  } catch (err) {
    c.problem(key, `is not a valid regular expression: ${(err as Error).message}`);
    return undefined;
  }
}

function regexRouter(c: ComponentConfig): Transformation {
  const regex = javaRegex(c, 'regex');
  const replacement = c.required('replacement');
  return {
    apply(r) {
      if (!regex || !regex.test(r.topic)) return r;
      return newRecord(r, { topic: r.topic.replace(regex, replacement) });
    },
  };
}

function timestampRouter(c: ComponentConfig): Transformation {
  const topicFormat = c.string('topic.format') ?? '${topic}-${timestamp}';
  const timestampFormat = c.string('timestamp.format') ?? 'yyyyMMdd';
  // The same SimpleDateFormat subset as TimestampConverter (in UTC, as Kafka Connect's TimestampRouter).
  let tokens: SdfToken[] = [];
  try {
    tokens = sdfTokens(timestampFormat);
  } catch (err) {
    c.problem('timestamp.format', (err as Error).message);
  }
  return {
    apply(r) {
      if (r.timestamp === undefined) throw new DataError(`Timestamp missing on record: ${r.topic}`);
      return newRecord(r, { topic: topicFormat.replaceAll('${topic}', r.topic).replaceAll('${timestamp}', sdfFormat(tokens, r.timestamp)) });
    },
  };
}

function insertHeader(c: ComponentConfig): Transformation {
  const header = c.required('header');
  const literal = c.required('value.literal');
  return {
    apply(r) {
      const h: ConnectHeader = { key: header, schema: Schemas.string, value: literal };
      return newRecord(r, { headers: [...r.headers, h] });
    },
  };
}

function dropHeaders(c: ComponentConfig): Transformation {
  const names = new Set(c.list('headers'));
  if (names.size === 0) c.problem('headers', 'must name at least one header');
  return {
    apply(r) {
      return newRecord(r, { headers: r.headers.filter((h) => !names.has(h.key)) });
    },
  };
}

function headerFrom(c: ComponentConfig, side: Side): Transformation {
  const fields = c.list('fields');
  const headers = c.list('headers');
  const operation = c.required('operation');
  if (fields.length !== headers.length) c.problem('headers', `must have as many entries as fields (${fields.length}), got ${headers.length}`);
  if (operation && operation !== 'move' && operation !== 'copy') c.problem('operation', `must be "move" or "copy", got "${operation}"`);
  const move = operation === 'move';
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'header from';
  const cache = new SchemaCache();
  return {
    apply(r) {
      const op = operating(r, side);
      const added: ConnectHeader[] = [];
      if (op.schema === null) {
        const m = op.value === null ? new Map<Value, Value>() : new Map(requireMap(op.value, purpose));
        fields.forEach((f, i) => {
          added.push({ key: headers[i]!, schema: null, value: m.get(f) ?? null });
          if (move) m.delete(f);
        });
        return withOperating(newRecord(r, { headers: [...r.headers, ...added] }), side, null, op.value === null ? null : m);
      }
      const v = requireStruct(op.value, purpose);
      fields.forEach((f, i) => {
        const field = v.field(f);
        if (!field) throw new DataError(`${f} is not a valid field name`);
        added.push({ key: headers[i]!, schema: field.schema, value: fieldValue(v, field, replaceNull) });
      });
      const withHeaders = newRecord(r, { headers: [...r.headers, ...added] });
      if (!move) return withHeaders;
      const moved = new Set(fields);
      const kept = v.schema.fields!.filter((f) => !moved.has(f.name));
      const s = cache.get(v.schema, (base) => structLike(base, kept.map((f) => [f.name, f.schema])));
      return withOperating(withHeaders, side, s, new Struct(s, kept.map((f) => fieldValue(v, f, replaceNull))));
    },
  };
}

function setSchemaMetadata(c: ComponentConfig, side: Side): Transformation {
  const name = c.string('schema.name');
  const versionRaw = c.string('schema.version');
  const version = versionRaw === undefined || versionRaw === '' ? undefined : c.int('schema.version');
  if (name === undefined && version === undefined) c.problem('schema.name', 'Neither schema name nor version configured');
  const replaceNull = c.bool('replace.null.with.default', true);
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.schema === null) throw new DataError('Schema required for [updating schema metadata]');
      const s = withSchema(op.schema, { name: name ?? op.schema.name, version: version ?? op.schema.version });
      const st = op.value;
      const value = st instanceof Struct ? new Struct(s, st.schema.fields!.map((f) => fieldValue(st, f, replaceNull))) : st;
      return withOperating(r, side, s, value);
    },
  };
}

function filter(): Transformation {
  return { apply: () => null };
}

// ---------------------------------------------------------------------------------------------
// Cast

type CastType = 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'boolean' | 'string';
const CAST_OUTPUT: readonly CastType[] = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string'];
const CAST_INPUT: readonly SchemaType[] = [...CAST_OUTPUT, 'bytes'];
const SCHEMA_TYPES: readonly SchemaType[] = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string', 'bytes', 'array', 'map', 'struct'];
const upperList = (ts: readonly string[]): string => `[${ts.map((t) => t.toUpperCase()).join(', ')}]`;

/** Cast's parseFieldTypes: `field:type,…` or one type for the whole value (field `null`). */
function parseCastSpec(c: ComponentConfig): Map<string | null, CastType> {
  const mappings = c.list('spec');
  const out = new Map<string | null, CastType>();
  if (mappings.length === 0) {
    c.problem('spec', 'Must specify at least one field to cast.');
    return out;
  }
  let whole = false;
  for (const mapping of mappings) {
    // Java's String.split drops trailing empty strings.
    const parts = mapping.split(':');
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length > 2) {
      c.problem('spec', `Invalid cast mapping: ${mapping}`);
      continue;
    }
    const typeText = parts[parts.length - 1]!.trim();
    const type = typeText.toLowerCase() as SchemaType;
    if (!SCHEMA_TYPES.includes(type)) {
      c.problem('spec', `Invalid type found in casting spec: ${typeText}`);
      continue;
    }
    if (!(CAST_OUTPUT as readonly string[]).includes(type)) {
      c.problem('spec', `Cast transformation does not support casting to ${type.toUpperCase()}; supported types are ${upperList(CAST_OUTPUT)}`);
      continue;
    }
    if (parts.length === 1) whole = true;
    out.set(parts.length === 1 ? null : parts[0]!.trim(), type as CastType);
  }
  if (whole && mappings.length > 1) c.problem('spec', 'Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec');
  return out;
}

/** The Connect type of a value without a schema (ConnectSchema.schemaType); undefined when Connect has none. */
function inferredType(v: Value): SchemaType | undefined {
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Struct) return 'struct';
  if (v instanceof Map) return 'map';
  if (Array.isArray(v)) return 'array';
  return undefined;
}

function javaTypeName(v: Value): string {
  if (v === null) return 'null';
  if (v instanceof Date) return 'class java.util.Date';
  if (v instanceof Decimal) return 'class java.math.BigDecimal';
  if (v instanceof Uint8Array) return 'class [B';
  return `class ${typeof v === 'object' ? v.constructor.name : typeof v}`;
}

const INT_BITS = { int8: 8, int16: 16, int32: 32 } as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Java's (int) / (long) narrowing of a double: NaN → 0, saturating, truncating. */
function doubleToLong(d: number): bigint {
  if (Number.isNaN(d)) return 0n;
  if (d >= 9.223372036854776e18) return INT64_MAX;
  if (d <= -9.223372036854776e18) return INT64_MIN;
  return BigInt(Math.trunc(d));
}
function doubleToInt(d: number): number {
  if (Number.isNaN(d)) return 0;
  return Math.trunc(Math.min(2147483647, Math.max(-2147483648, d)));
}

function parseJavaInteger(s: string, bits: 8 | 16 | 32 | 64): bigint {
  if (!/^[+-]?\d+$/.test(s)) throw new DataError(`Value (${s}) was out of range for requested data type`);
  const n = BigInt(s);
  if (n !== BigInt.asIntN(bits, n)) throw new DataError(`Value (${s}) was out of range for requested data type`);
  return n;
}

function parseJavaFloat(s: string): number {
  // Float.parseFloat / Double.parseDouble: whitespace trimmed, optional f/d suffix, NaN and Infinity.
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  const m = /^([+-]?)(NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?$/.exec(t);
  if (!m) throw new DataError(`Value (${s}) was out of range for requested data type`);
  if (m[2] === 'NaN') return NaN;
  return Number(`${m[1]}${m[2]}`);
}

function decimalToBigint(d: Decimal): bigint {
  return d.scale >= 0 ? d.unscaled / 10n ** BigInt(d.scale) : d.unscaled * 10n ** BigInt(-d.scale);
}

const MS_PER_DAY = 86_400_000;

/** Values.dateFormatFor: a time, a date or a timestamp pattern, chosen by the value. */
function connectDateString(d: Date): string {
  const ms = d.getTime();
  const iso = d.toISOString();
  if (ms < MS_PER_DAY) return `${iso.slice(11, 23)}Z`;
  if (ms % MS_PER_DAY === 0) return iso.slice(0, 10);
  return iso;
}

/**
 * Cast.castValueToType. In-memory results follow data.ts: with a schema, int8/16/32 and floats
 * are numbers and int64 a bigint; without a schema every integer result is a bigint (as a
 * schemaless integer always is here, so JsonConverter writes `1`, not `1.0`, as Kafka does).
 */
function castValue(schema: Schema | null, value: Value, target: CastType): Value {
  if (value === null) return null;
  const type = schema === null ? inferredType(value) : schema.type;
  if (type === undefined) throw new DataError(`Cast transformation was passed a value of type ${javaTypeName(value)} which is not supported by Connect's data API`);
  if (!CAST_INPUT.includes(type)) throw new DataError(`Cast transformation does not support casting from ${type.toUpperCase()}; supported types are ${upperList(CAST_INPUT)}`);
  let v = value;
  if (schema?.name !== undefined && target !== 'string' && v instanceof Date) {
    const n = logicalToInt(schema, v);
    v = schema.name === TIMESTAMP ? BigInt(n) : n;
  }
  const schemaless = schema === null;
  const int = (bits: 8 | 16 | 32): Value => {
    let n: number;
    if (typeof v === 'number') n = Number(BigInt.asIntN(bits, BigInt(doubleToInt(v))));
    else if (typeof v === 'bigint') n = Number(BigInt.asIntN(bits, v));
    else if (v instanceof Decimal) n = Number(BigInt.asIntN(bits, decimalToBigint(v)));
    else if (typeof v === 'boolean') n = v ? 1 : 0;
    else if (typeof v === 'string') n = Number(parseJavaInteger(v, bits));
    else throw new DataError(`Unexpected type in Cast transformation: ${javaTypeName(v)}`);
    return schemaless ? BigInt(n) : n;
  };
  const float = (): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (v instanceof Decimal) return v.toNumber();
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'string') return parseJavaFloat(v);
    throw new DataError(`Unexpected type in Cast transformation: ${javaTypeName(v)}`);
  };
  switch (target) {
    case 'int8':
    case 'int16':
    case 'int32':
      return int(INT_BITS[target]);
    case 'int64':
      if (typeof v === 'number') return doubleToLong(v);
      if (typeof v === 'bigint') return v;
      if (v instanceof Decimal) return BigInt.asIntN(64, decimalToBigint(v));
      if (typeof v === 'boolean') return v ? 1n : 0n;
      if (typeof v === 'string') return parseJavaInteger(v, 64);
      throw new DataError(`Unexpected type in Cast transformation: ${javaTypeName(v)}`);
    case 'float32':
      return Math.fround(float());
    case 'float64':
      return float();
    case 'boolean':
      if (typeof v === 'number') return doubleToLong(v) !== 0n;
      if (typeof v === 'bigint') return v !== 0n;
      if (v instanceof Decimal) return BigInt.asIntN(64, decimalToBigint(v)) !== 0n;
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') return v.toLowerCase() === 'true';
      throw new DataError(`Unexpected type in Cast transformation: ${javaTypeName(v)}`);
    case 'string':
      if (v instanceof Date) return connectDateString(v);
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (v instanceof Decimal) return javaBigDecimalString(v.unscaled, v.scale);
      if (typeof v === 'number') return type === 'float32' ? javaFloatString(v) : type === 'float64' ? javaDoubleString(v) : String(v);
      return String(v);
  }
}

/** Struct.get: a null field value reads as the field schema's default when replace.null.with.default. */
function fieldValue(s: Struct, f: Field, replaceNullWithDefault: boolean): Value {
  const v = s.values[f.index]!;
  return v === null && replaceNullWithDefault ? (f.schema.defaultValue ?? null) : v;
}

const castKeys: ComponentKey[] = [
  { name: 'spec', type: T.LIST, required: true, documentation: 'List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.' },
  replaceNullKey,
];

function cast(c: ComponentConfig, side: Side): Transformation {
  const casts = parseCastSpec(c);
  const whole = casts.get(null);
  const replaceNull = c.bool('replace.null.with.default', true);
  const purpose = 'cast types';
  const cache = new SchemaCache();
  const build = (base: Schema): Schema => {
    const def = base.defaultValue;
    if (whole !== undefined) {
      return schema(whole, { name: base.name, version: base.version, doc: base.doc, parameters: base.parameters, optional: base.optional, defaultValue: def === undefined ? undefined : castValue(base, def, whole) });
    }
    const fields = base.fields!.map((f): [string, Schema] => {
      const t = casts.get(f.name);
      if (t === undefined) return [f.name, f.schema];
      const fd = f.schema.defaultValue;
      return [f.name, schema(t, { optional: f.schema.optional, defaultValue: fd === undefined ? undefined : castValue(f.schema, fd, t) })];
    });
    const out = structSchema(fields, { name: base.name, version: base.version, doc: base.doc, parameters: base.parameters, optional: base.optional });
    return def instanceof Struct ? { ...out, defaultValue: castStruct(def, out) } : out;
  };
  const castStruct = (value: Struct, s: Schema): Struct =>
    new Struct(
      s,
      value.schema.fields!.map((f) => {
        const t = casts.get(f.name);
        const v = fieldValue(value, f, replaceNull);
        return t === undefined ? v : castValue(f.schema, v, t);
      }),
    );
  return {
    apply(r) {
      const op = operating(r, side);
      if (op.value === null) return r;
      if (op.schema === null) {
        if (whole !== undefined) return withOperating(r, side, null, castValue(null, op.value, whole));
        const out = new Map(requireMap(op.value, purpose));
        for (const [field, t] of casts) out.set(field, castValue(null, out.get(field) ?? null, t));
        return withOperating(r, side, null, out);
      }
      const s = cache.get(op.schema, build);
      if (whole !== undefined) return withOperating(r, side, s, castValue(op.schema, op.value, whole));
      return withOperating(r, side, s, castStruct(requireStruct(op.value, purpose), s));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Flatten

const FLATTEN_PRIMITIVE: ReadonlySet<SchemaType> = new Set<SchemaType>(['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string', 'bytes', 'array']);

function flatten(c: ComponentConfig, side: Side): Transformation {
  const delimiter = c.string('delimiter') ?? '.';
  const purpose = 'flattening';
  const cache = new SchemaCache();
  const name = (prefix: string, field: string): string => (prefix === '' ? field : `${prefix}${delimiter}${field}`);

  const flatMap = (m: Map<Value, Value>, prefix: string, out: Map<Value, Value>): void => {
    for (const [k, v] of m) {
      if (typeof k !== 'string') throw new DataError(`Only Map objects with string keys supported in absence of schema for [${purpose}], found key: ${javaTypeName(k)}`);
      const field = name(prefix, k);
      if (v === null) {
        out.set(field, null);
        continue;
      }
      const type = inferredType(v);
      if (type === undefined) throw new DataError(`Flatten transformation was passed a value of type ${javaTypeName(v)} which is not supported by Connect's data API`);
      if (FLATTEN_PRIMITIVE.has(type)) out.set(field, v);
      else if (type === 'map') flatMap(v as Map<Value, Value>, field, out);
      else throw new DataError(`Flatten transformation does not support ${javaTypeName(v)} for record without schemas (for field ${field}).`);
    }
  };

  // Flatten.buildUpdatedSchema: a nested field is optional when any ancestor is, and takes its
  // default from its own schema or else from the ancestor's default struct.
  const flatSchema = (s: Schema, prefix: string, fields: Array<[string, Schema]>, optional: boolean, parentDefault: Struct | null): void => {
    for (const f of s.fields!) {
      const field = name(prefix, f.name);
      const fieldOptional = optional || f.schema.optional;
      const def = f.schema.defaultValue ?? (parentDefault === null ? null : parentDefault.values[f.index]!);
      if (FLATTEN_PRIMITIVE.has(f.schema.type)) {
        const copy = schema(f.schema.type, { name: f.schema.name, version: f.schema.version, doc: f.schema.doc, parameters: f.schema.parameters, valueSchema: f.schema.type === 'array' ? f.schema.valueSchema : undefined, optional: fieldOptional, defaultValue: def });
        fields.push([field, copy]);
      } else if (f.schema.type === 'struct') {
        flatSchema(f.schema, field, fields, fieldOptional, def instanceof Struct ? def : null);
      } else {
        throw new DataError(`Flatten transformation does not support ${f.schema.type.toUpperCase()} for record with schemas (for field ${field}).`);
      }
    }
  };

  const flatStruct = (v: Struct | null, s: Schema, prefix: string, out: Struct): void => {
    if (v === null) return;
    for (const f of s.fields!) {
      const field = name(prefix, f.name);
      const fv = v.values[f.index] ?? f.schema.defaultValue ?? null;
      if (f.schema.type === 'struct') flatStruct(fv === null ? null : requireStruct(fv, purpose), f.schema, field, out);
      else out.put(field, fv);
    }
  };

  return {
    apply(r) {
      const op = operating(r, side);
      if (op.value === null) return r;
      if (op.schema === null) {
        const out = new Map<Value, Value>();
        flatMap(requireMap(op.value, purpose), '', out);
        return withOperating(r, side, null, out);
      }
      const value = requireStruct(op.value, purpose);
      const s = cache.get(op.schema, (base) => {
        const fields: Array<[string, Schema]> = [];
        flatSchema(base, '', fields, base.optional, base.defaultValue instanceof Struct ? base.defaultValue : null);
        return structSchema(fields, { name: base.name, version: base.version, doc: base.doc, parameters: base.parameters });
      });
      const out = new Struct(s);
      flatStruct(value, op.schema, '', out);
      // Struct.get reads an unset field as its schema default (an ancestor's default here).
      s.fields!.forEach((f, i) => {
        if (out.values[i] === null && f.schema.defaultValue !== undefined) out.values[i] = f.schema.defaultValue;
      });
      return withOperating(r, side, s, out);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// TimestampConverter, with java.text.SimpleDateFormat patterns in UTC

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SDF_LETTERS = 'yMdHhamsSEzZX';

type SdfToken = { literal: string } | { letter: string; count: number };

/** Splits a SimpleDateFormat pattern; throws on a letter this implementation does not support. */
export function sdfTokens(pattern: string): SdfToken[] {
  const out: SdfToken[] = [];
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i]!;
    if (ch === "'") {
      if (pattern[i + 1] === "'") {
        out.push({ literal: "'" });
        i += 2;
        continue;
      }
      let text = '';
      let j = i + 1;
      for (; j < pattern.length; j++) {
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            text += "'";
            j++;
            continue;
          }
          break;
        }
        text += pattern[j];
      }
      if (j >= pattern.length) throw new DataError(`unterminated quote in pattern "${pattern}"`);
      out.push({ literal: text });
      i = j + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(ch)) {
      out.push({ literal: ch });
      i++;
      continue;
    }
    if (!SDF_LETTERS.includes(ch)) throw new DataError(`pattern letter "${ch}" is not supported (supported: ${SDF_LETTERS.split('').join(' ')} and quoted text)`);
    let j = i;
    while (pattern[j] === ch) j++;
    out.push({ letter: ch, count: j - i });
    i = j;
  }
  return out;
}

export function sdfFormat(tokens: readonly SdfToken[], ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w: number): string => (n < 0 ? `-${String(-n).padStart(w, '0')}` : String(n).padStart(w, '0'));
  let out = '';
  for (const t of tokens) {
    if ('literal' in t) {
      out += t.literal;
      continue;
    }
    const n = t.count;
    switch (t.letter) {
      case 'y': {
        const y = d.getUTCFullYear();
        out += n === 2 ? pad(y % 100, 2) : pad(y, n);
        break;
      }
      case 'M':
        out += n >= 4 ? MONTHS[d.getUTCMonth()]! : n === 3 ? MONTHS[d.getUTCMonth()]!.slice(0, 3) : pad(d.getUTCMonth() + 1, n);
        break;
      case 'd':
        out += pad(d.getUTCDate(), n);
        break;
      case 'H':
        out += pad(d.getUTCHours(), n);
        break;
      case 'h':
        out += pad(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12, n);
        break;
      case 'a':
        out += d.getUTCHours() < 12 ? 'AM' : 'PM';
        break;
      case 'm':
        out += pad(d.getUTCMinutes(), n);
        break;
      case 's':
        out += pad(d.getUTCSeconds(), n);
        break;
      case 'S':
        out += pad(d.getUTCMilliseconds(), n);
        break;
      case 'E':
        out += n >= 4 ? DAYS[d.getUTCDay()]! : DAYS[d.getUTCDay()]!.slice(0, 3);
        break;
      case 'z':
        out += n >= 4 ? 'Coordinated Universal Time' : 'UTC';
        break;
      case 'Z':
        out += '+0000';
        break;
      case 'X':
        out += 'Z';
        break;
    }
  }
  return out;
}

/**
 * SimpleDateFormat.parse in UTC, lenient as Java's default (out-of-range fields roll over) and,
 * as DateFormat.parse(String), ignoring text after the pattern. Returns undefined on no match.
 */
export function sdfParse(tokens: readonly SdfToken[], text: string, nowMs = Date.now()): number | undefined {
  let pos = 0;
  let year = 1970;
  let month = 0;
  let day = 1;
  let hour = 0;
  let hour12: number | undefined;
  let pm: boolean | undefined;
  let minute = 0;
  let second = 0;
  let milli = 0;
  let offsetMin = 0;
  const numeric = (t: SdfToken | undefined): boolean => t !== undefined && 'letter' in t && 'yMdHhmsS'.includes(t.letter) && !(t.letter === 'M' && t.count >= 3);
  const name = (names: readonly string[]): number | undefined => {
    for (let i = 0; i < names.length; i++) {
      for (const cand of [names[i]!, names[i]!.slice(0, 3)]) {
        if (text.slice(pos, pos + cand.length).toLowerCase() === cand.toLowerCase()) {
          pos += cand.length;
          return i;
        }
      }
    }
    return undefined;
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if ('literal' in t) {
      if (text.slice(pos, pos + t.literal.length) !== t.literal) return undefined;
      pos += t.literal.length;
      continue;
    }
    if (numeric(t)) {
      // Abutting numeric fields take exactly their width; otherwise as many digits as there are.
      const width = numeric(tokens[k + 1]) ? t.count : Infinity;
      let end = pos;
      if (t.letter === 'y' && (text[end] === '-' || text[end] === '+')) end++;
      while (end < text.length && end - pos < width && text[end]! >= '0' && text[end]! <= '9') end++;
      const digits = text.slice(pos, end);
      if (!/\d/.test(digits)) return undefined;
      let n = Number(digits);
      if (t.letter === 'y' && t.count <= 2 && digits.length === 2) {
        // Two-digit years fall within 80 years before and 20 after now, as SimpleDateFormat.
        const start = new Date(nowMs).getUTCFullYear() - 80;
        n += Math.floor(start / 100) * 100;
        if (n < start) n += 100;
      }
      pos = end;
      if (t.letter === 'y') year = n;
      else if (t.letter === 'M') month = n - 1;
      else if (t.letter === 'd') day = n;
      else if (t.letter === 'H') hour = n;
      else if (t.letter === 'h') hour12 = n;
      else if (t.letter === 'm') minute = n;
      else if (t.letter === 's') second = n;
      else milli = n;
      continue;
    }
    if (t.letter === 'M') {
      const m = name(MONTHS);
      if (m === undefined) return undefined;
      month = m;
    } else if (t.letter === 'E') {
      if (name(DAYS) === undefined) return undefined;
    } else if (t.letter === 'a') {
      const a = name(['AM', 'PM']);
      if (a === undefined) return undefined;
      pm = a === 1;
    } else {
      // z: "UTC" / "GMT" (optionally with an offset); Z and X: "Z" (X only), or ±hh, ±hhmm, ±hh:mm.
      if (t.letter === 'z') {
        const zone = /^(?:Coordinated Universal Time|UTC|GMT)/i.exec(text.slice(pos));
        if (zone) {
          pos += zone[0].length;
          offsetMin = 0;
          if (!/^[+-]\d/.test(text.slice(pos))) continue;
        }
      }
      if (t.letter === 'X' && text[pos] === 'Z') {
        pos++;
        offsetMin = 0;
        continue;
      }
      const m = /^([+-])(\d{2})(?::?(\d{2}))?/.exec(text.slice(pos));
      if (!m) return undefined;
      pos += m[0].length;
      offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
    }
  }
  if (hour12 !== undefined) hour = (hour12 % 12) + (pm ? 12 : 0);
  else if (pm) hour += 12;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month, day);
  utc.setUTCHours(hour, minute, second, milli);
  return utc.getTime() - offsetMin * 60_000;
}

type TsType = 'string' | 'unix' | 'Date' | 'Time' | 'Timestamp';
const TS_TYPES: readonly TsType[] = ['string', 'unix', 'Date', 'Time', 'Timestamp'];
const PRECISIONS = ['nanoseconds', 'microseconds', 'milliseconds', 'seconds'];

const timestampConverterKeys: ComponentKey[] = [
  { name: 'field', type: T.STRING, defaultValue: '', documentation: 'The field containing the timestamp, or empty if the entire value is a timestamp.' },
  { name: 'target.type', type: T.STRING, required: true, allowedValues: [...TS_TYPES], documentation: 'The desired timestamp representation: string, unix, Date, Time, or Timestamp.' },
  { name: 'format', type: T.STRING, defaultValue: '', documentation: `A SimpleDateFormat-compatible format for the timestamp (letters ${SDF_LETTERS.split('').join(' ')} and quoted text, in UTC). Used to generate the output when type=string or used to parse the input if the input is a string.` },
  { name: 'unix.precision', type: T.STRING, defaultValue: 'milliseconds', allowedValues: PRECISIONS, documentation: 'The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.' },
  replaceNullKey,
];

function timestampConverter(c: ComponentConfig, side: Side): Transformation {
  const field = c.string('field') ?? '';
  const target = c.required('target.type') as TsType;
  const pattern = c.string('format') ?? '';
  const precision = c.string('unix.precision') ?? 'milliseconds';
  const replaceNull = c.bool('replace.null.with.default', true);
  if (target === 'string' && pattern.trim() === '') c.problem('format', 'TimestampConverter requires format option to be specified when using string timestamps');
  let tokens: SdfToken[] | undefined;
  if (pattern.trim() !== '') {
    try {
      tokens = sdfTokens(pattern);
    } catch (err) {
      c.problem('format', `TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: ${pattern}: ${(err as Error).message}`);
    }
  }
  const purpose = 'converting timestamp formats';
  const cache = new SchemaCache();
  const MAX = 2n ** 63n - 1n;
  const MIN = -(2n ** 63n);
  const saturate = (n: bigint): bigint => (n > MAX ? MAX : n < MIN ? MIN : n);

  const toRaw = (type: TsType, orig: Value): number => {
    if (type === 'string') {
      if (typeof orig !== 'string') throw new DataError(`Expected string timestamp to be a String, but found ${javaTypeName(orig)}`);
      if (!tokens) throw new DataError(`Could not parse timestamp: value (${orig}): no format configured (${c.prefix}format)`);
      const ms = sdfParse(tokens, orig);
      if (ms === undefined || Number.isNaN(ms)) throw new DataError(`Could not parse timestamp: value (${orig}) does not match pattern (${pattern})`);
      return ms;
    }
    if (type === 'unix') {
      if (typeof orig !== 'bigint') throw new DataError(`Expected Unix timestamp to be a Long, but found ${javaTypeName(orig)}`);
      // TimeUnit conversions truncate toward zero.
      if (precision === 'seconds') return Number(saturate(orig * 1000n));
      if (precision === 'microseconds') return Number(orig / 1000n);
      if (precision === 'nanoseconds') return Number(orig / 1_000_000n);
      return Number(orig);
    }
    if (!(orig instanceof Date)) throw new DataError(`Expected ${type} to be a java.util.Date, but found ${javaTypeName(orig)}`);
    return orig.getTime();
  };
  const toType = (ms: number): Value => {
    switch (target) {
      case 'string':
        return sdfFormat(tokens!, ms);
      case 'unix': {
        const n = BigInt(ms);
        if (precision === 'seconds') return n / 1000n;
        if (precision === 'microseconds') return saturate(n * 1000n);
        if (precision === 'nanoseconds') return saturate(n * 1_000_000n);
        return n;
      }
      case 'Date':
        return new Date(Math.floor(ms / MS_PER_DAY) * MS_PER_DAY);
      case 'Time':
        return new Date(((ms % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY);
      default:
        return new Date(ms);
    }
  };
  const typeSchema = (optional: boolean): Schema => {
    switch (target) {
      case 'string':
        return optional ? Schemas.optionalString : Schemas.string;
      case 'unix':
        return optional ? Schemas.optionalInt64 : Schemas.int64;
      case 'Date':
        return dateSchema(optional);
      case 'Time':
        return timeSchema(optional);
      default:
        return timestampSchema(optional);
    }
  };
  const typeFromSchema = (s: Schema): TsType => {
    if (s.name === TIMESTAMP) return 'Timestamp';
    if (s.name === DATE) return 'Date';
    if (s.name === TIME) return 'Time';
    if (s.type === 'string') return 'string';
    if (s.type === 'int64') return 'unix';
    throw new DataError(`Schema ${s.type.toUpperCase()}${s.name ? ` ${s.name}` : ''} does not correspond to a known timestamp type format`);
  };
  const inferType = (v: Value): TsType => {
    if (v instanceof Date) return 'Timestamp';
    if (typeof v === 'bigint') return 'unix';
    if (typeof v === 'string') return 'string';
    throw new DataError(`TimestampConverter does not support ${javaTypeName(v)} objects as timestamps`);
  };
  const convert = (v: Value, from?: TsType): Value => (v === null ? null : toType(toRaw(from ?? inferType(v), v)));
  const convertStruct = (v: Struct, s: Schema): Struct =>
    new Struct(
      s,
      v.schema.fields!.map((f) => {
        const fv = fieldValue(v, f, replaceNull);
        return f.name === field ? convert(fv, typeFromSchema(f.schema)) : fv;
      }),
    );

  return {
    apply(r) {
      const op = operating(r, side);
      if (op.schema === null) {
        if (op.value === null || field === '') return withOperating(r, side, null, convert(op.value));
        const out = new Map(requireMap(op.value, purpose));
        out.set(field, convert(out.get(field) ?? null));
        return withOperating(r, side, null, out);
      }
      if (field === '') return withOperating(r, side, typeSchema(op.schema.optional), convert(op.value, typeFromSchema(op.schema)));
      const value = op.value === null ? null : requireStruct(op.value, purpose);
      const s = cache.get(op.schema, (base) => {
        if (base.type !== 'struct') throw new DataError(`Only Struct objects supported for [${purpose}], found schema: ${base.type.toUpperCase()}`);
        const built = structSchema(
          base.fields!.map((f) => [f.name, f.name === field ? typeSchema(f.schema.optional) : f.schema]),
          { name: base.name, version: base.version, doc: base.doc, parameters: base.parameters, optional: base.optional },
        );
        return base.defaultValue instanceof Struct ? { ...built, defaultValue: convertStruct(base.defaultValue, built) } : built;
      });
      return withOperating(r, side, s, value === null ? null : convertStruct(value, s));
    },
  };
}

const fieldKey = (doc: string): ComponentKey => ({ name: 'field', type: T.STRING, required: true, documentation: doc });

export const builtinTransforms: TransformDefinition[] = [
  ...both('InsertField', 'Insert fields using attributes from the record metadata or a static value', insertFieldKeys, insertField),
  ...both('ReplaceField', 'Filter or rename fields', replaceFieldKeys, replaceField),
  ...both('MaskField', 'Mask fields with a valid null value for the field type, or a replacement', maskFieldKeys, maskField),
  one('ValueToKey', 'Replace the record key with a new key formed from a subset of fields in the record value', [{ name: 'fields', type: T.LIST, required: true, documentation: 'Field names on the record value to extract as the record key.' }, replaceNullKey], valueToKey),
  ...both('ExtractField', 'Extract the specified field from a Struct when a schema is present, or a Map in the case of schemaless data', [fieldKey('Field name to extract.'), { name: 'field.syntax.version', type: T.STRING, defaultValue: 'V1', allowedValues: ['V1'], documentation: 'Field syntax: V1 (a plain name). V2 (nested paths) is not supported.' }, replaceNullKey], extractField),
  ...both('HoistField', 'Wrap data using the specified field name in a Struct when schema present, or a Map in the case of schemaless data', [fieldKey('Field name for the single field that will be created in the resulting Struct or Map.')], hoistField),
  one('Filter', 'Drops all records; use with a predicate to drop only some', [], filter),
  one('RegexRouter', 'Update the record topic using the configured regular expression and replacement string', [{ name: 'regex', type: T.STRING, required: true, documentation: 'Regular expression to use for matching.' }, { name: 'replacement', type: T.STRING, required: true, documentation: 'Replacement string.' }], regexRouter),
  one('TimestampRouter', "Update the record's topic field as a function of the original topic value and the record timestamp", [{ name: 'topic.format', type: T.STRING, defaultValue: '${topic}-${timestamp}', documentation: 'Format string which can contain ${topic} and ${timestamp} as placeholders.' }, { name: 'timestamp.format', type: T.STRING, defaultValue: 'yyyyMMdd', documentation: 'Format string for the timestamp (java.text.SimpleDateFormat letters y M d H m s S), in UTC.' }], timestampRouter),
  one('InsertHeader', 'Add a header to each record', [{ name: 'header', type: T.STRING, required: true, documentation: 'The name of the header.' }, { name: 'value.literal', type: T.STRING, required: true, documentation: 'The literal value that is to be set as the header value on all records.' }], insertHeader),
  one('DropHeaders', 'Remove headers by name', [{ name: 'headers', type: T.LIST, required: true, documentation: 'The name of the headers to be removed.' }], dropHeaders),
  ...both('HeaderFrom', 'Moves or copies fields in the key/value of a record into that record\'s headers', [{ name: 'fields', type: T.LIST, required: true, documentation: 'Field names in the record whose values are to be copied or moved to headers.' }, { name: 'headers', type: T.LIST, required: true, documentation: 'Header names, in the same order as the field names listed in the fields configuration property.' }, { name: 'operation', type: T.STRING, required: true, allowedValues: ['move', 'copy'], documentation: 'Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value).' }, replaceNullKey], headerFrom),
  ...both('Cast', 'Cast fields or the entire key or value to a specific type, e.g. to force an integer field to a smaller width', castKeys, cast),
  ...both('Flatten', 'Flatten a nested data structure, generating names for each field by concatenating the field names at each level with a configurable delimiter character', [{ name: 'delimiter', type: T.STRING, defaultValue: '.', documentation: 'Delimiter to insert between field names from the input record when generating field names for the output record.' }], flatten),
  ...both('TimestampConverter', 'Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types; applies to individual fields or to the entire value', timestampConverterKeys, timestampConverter),
  ...both('SetSchemaMetadata', 'Set the schema name, version or both on the record\'s key or value schema', [{ name: 'schema.name', type: T.STRING, documentation: 'Schema name to set.' }, { name: 'schema.version', type: T.INT, documentation: 'Schema version to set.' }, replaceNullKey], setSchemaMetadata),
];
