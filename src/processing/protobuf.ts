/**
 * Kafka Connect ↔ Protobuf, as Confluent's `ProtobufData` maps them with its default settings
 * (proto3, no wrappers or `optional` for nullables, no enhanced schema support, names not
 * scrubbed). Writing: a STRUCT becomes a proto3 message in the package of its schema name
 * (unnamed: `ConnectDefault1`, nested unnamed ones `ConnectDefault2`, …), fields numbered 1, 2, …
 * in order (or by an `io.confluent.connect.protobuf.Tag` parameter), INT8/INT16 as `int32` with a
 * `connect.type` field option, ARRAY as `repeated`, MAP as a repeated `<Name>Entry` message with
 * `key` and `value`, and the logical types as `confluent.type.Decimal`, `google.type.Date`,
 * `google.type.TimeOfDay`, `google.protobuf.Timestamp`. Reading: every field is optional and
 * carries its tag parameter, structs are named with the message's short name, as ProtobufData
 * reads them. The encoding itself is protobufjs's.
 *
 * The well-known files those types live in are built in (Confluent does not register them as
 * references either); any other `import` is a schema reference, which is not supported.
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';
import {
  bigintFromBytes,
  bigintToBytes,
  DataError,
  DATE,
  Decimal,
  DECIMAL,
  DECIMAL_SCALE,
  decimalScale,
  schema as makeSchema,
  Struct,
  TIME,
  TIMESTAMP,
  type Field,
  type Schema,
  type SchemaAndValue,
  type Value,
} from './data.js';
import type { RegistryFormat } from './schema-registry.js';

const NAMESPACE = 'io.confluent.connect.protobuf';
const DEFAULT_SCHEMA_NAME = 'ConnectDefault';
/** Schema parameter holding a field's tag number (ProtobufData.PROTOBUF_TYPE_TAG). */
export const PROTOBUF_TAG = `${NAMESPACE}.Tag`;
/** Schema parameter naming a non-default integer encoding, e.g. `sint32` (PROTOBUF_TYPE_PROP). */
export const PROTOBUF_TYPE = `${NAMESPACE}.Type`;
/** Schema parameter naming an enum type (PROTOBUF_TYPE_ENUM); `<it>.<SYMBOL>` give the numbers. */
export const PROTOBUF_ENUM = `${NAMESPACE}.Enum`;
const CONNECT_TYPE = 'connect.type';
const CONNECT_PRECISION = 'connect.decimal.precision';
const FIELD_META = '(confluent.field_meta)';

const DECIMAL_TYPE = 'confluent.type.Decimal';
const DATE_TYPE = 'google.type.Date';
const TIME_TYPE = 'google.type.TimeOfDay';
const TIMESTAMP_TYPE = 'google.protobuf.Timestamp';

/** The dependency files Confluent treats as built in, with the messages the mapping uses. */
const KNOWN_FILES: Record<string, string> = {
  'confluent/meta.proto': 'syntax = "proto3"; package confluent; message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }',
  'confluent/type/decimal.proto': 'syntax = "proto3"; package confluent.type; message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }',
  'google/type/date.proto': 'syntax = "proto3"; package google.type; message Date { int32 year = 1; int32 month = 2; int32 day = 3; }',
  'google/type/timeofday.proto': 'syntax = "proto3"; package google.type; message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }',
};
const FILE_OF: Record<string, string> = {
  [DECIMAL_TYPE]: 'confluent/type/decimal.proto',
  [DATE_TYPE]: 'google/type/date.proto',
  [TIME_TYPE]: 'google/type/timeofday.proto',
  [TIMESTAMP_TYPE]: 'google/protobuf/timestamp.proto',
};

// ---------------------------------------------------------------------------------------------
// Connect schema → .proto text

interface FieldDef {
  repeated: boolean;
  type: string;
  name: string;
  tag: number;
  params: Array<[string, string]>;
}
interface MessageDef {
  name: string;
  fields: FieldDef[];
  nested: MessageDef[];
}
interface FromContext {
  nameIndex: number;
  imports: Set<string>;
}

/** A Connect schema as Confluent's ProtobufData writes it: the .proto text and the message's full name. */
export interface ProtobufSchemaText {
  text: string;
  /** `<package>.<message>` (the record name subject strategies use). */
  fullName: string;
}

/** ProtobufData.fromConnectSchema. Only a STRUCT can be the root (Confluent wraps primitives in google.protobuf wrappers; not built). */
export function protobufFromConnectSchema(s: Schema): ProtobufSchemaText {
  if (s.type !== 'struct') {
    throw new DataError(`ProtobufConverter writes a STRUCT; this ${s.type.toUpperCase()} would need a google.protobuf wrapper message, which is not supported here`);
  }
  const ctx: FromContext = { nameIndex: 0, imports: new Set() };
  const fullName = nameOrDefault(ctx, s.name);
  const dot = fullName.lastIndexOf('.');
  const pkg = dot >= 0 ? fullName.slice(0, dot) : undefined;
  const name = dot >= 0 ? fullName.slice(dot + 1) : fullName;
  const root = messageDef(ctx, name, s);
  const lines = ['syntax = "proto3";'];
  if (pkg !== undefined) lines.push(`package ${pkg};`);
  lines.push('');
  if (ctx.imports.size > 0) {
    for (const file of [...ctx.imports].sort()) lines.push(`import "${file}";`);
    lines.push('');
  }
  renderMessage(root, '', lines);
  return { text: lines.join('\n') + '\n', fullName: pkg !== undefined ? `${pkg}.${name}` : name };
}

function nameOrDefault(ctx: FromContext, name: string | undefined): string {
  return name !== undefined && name !== '' ? name : `${DEFAULT_SCHEMA_NAME}${++ctx.nameIndex}`;
}

function unqualified(ctx: FromContext, name: string | undefined): string {
  const full = nameOrDefault(ctx, name);
  return full.slice(full.lastIndexOf('.') + 1);
}

function messageDef(ctx: FromContext, name: string, s: Schema): MessageDef {
  const msg: MessageDef = { name, fields: [], nested: [] };
  let index = 1;
  for (const f of s.fields!) {
    const tagParam = f.schema.parameters?.[PROTOBUF_TAG];
    const tag = tagParam !== undefined ? Number.parseInt(tagParam, 10) : index++;
    msg.fields.push(fieldDef(ctx, msg, f.schema, f.name, tag));
  }
  return msg;
}

function fieldDef(ctx: FromContext, msg: MessageDef, schema: Schema, name: string, tag: number): FieldDef {
  const repeated = schema.type === 'array' || schema.type === 'map';
  let s = schema;
  if (s.type === 'array') {
    s = s.valueSchema!;
    if (s.type === 'array') throw new DataError(`field "${name}": an ARRAY of ARRAY has no Protobuf equivalent (Array cannot be nested)`);
  }
  const params: Array<[string, string]> = [];
  const type = dataType(ctx, s, name, params);
  if (s.type === 'struct' && !isLogicalMessage(type)) {
    if (!msg.nested.some((m) => m.name === type)) msg.nested.push(messageDef(ctx, type, s));
  } else if (s.type === 'map') {
    msg.nested.push({ name: type, fields: [fieldDef(ctx, msg, s.keySchema!, 'key', 1), fieldDef(ctx, msg, s.valueSchema!, 'value', 2)], nested: [] });
  }
  const file = FILE_OF[type];
  if (file !== undefined) ctx.imports.add(file);
  if (params.length > 0) ctx.imports.add('confluent/meta.proto');
  return { repeated, type, name, tag, params };
}

function isLogicalMessage(type: string): boolean {
  return FILE_OF[type] !== undefined;
}

function dataType(ctx: FromContext, s: Schema, fieldName: string, params: Array<[string, string]>): string {
  switch (s.name) {
    case DECIMAL: {
      const precision = s.parameters?.[CONNECT_PRECISION];
      if (precision !== undefined) params.push(['precision', precision]);
      const scale = s.parameters?.[DECIMAL_SCALE];
      if (scale !== undefined) params.push(['scale', scale]);
      return DECIMAL_TYPE;
    }
    case DATE:
      return DATE_TYPE;
    case TIME:
      return TIME_TYPE;
    case TIMESTAMP:
      return TIMESTAMP_TYPE;
  }
  switch (s.type) {
    case 'int8':
    case 'int16':
      params.push([CONNECT_TYPE, s.type]);
      return 'int32';
    case 'int32':
      return s.parameters?.[PROTOBUF_TYPE] ?? 'int32';
    case 'int64':
      return s.parameters?.[PROTOBUF_TYPE] ?? 'int64';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'bytes':
      return 'bytes';
    case 'map':
      return toMapEntry(unqualified(ctx, s.name));
    case 'struct': {
      const name = unqualified(ctx, s.name);
      // A message type and a field of the same name would clash.
      return name === fieldName ? `${name}Message` : name;
    }
    case 'array':
      throw new DataError('an ARRAY cannot be nested in an ARRAY');
  }
}

/** ProtobufSchema.toMapEntry: `connect_default2` → `ConnectDefault2Entry`. */
function toMapEntry(name: string): string {
  const camel = name.includes('_') ? name.toLowerCase().split('_').map((p) => (p === '' ? '' : p[0]!.toUpperCase() + p.slice(1))).join('') : name;
  return `${camel}Entry`;
}

/** ProtobufSchema.toMapField: `ConnectDefault2Entry` → `connect_default2`. */
function toMapField(name: string): string {
  const base = name.endsWith('Entry') ? name.slice(0, -'Entry'.length) : name;
  return base.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/^_/, '').toLowerCase();
}

function renderMessage(m: MessageDef, indent: string, lines: string[]): void {
  lines.push(`${indent}message ${m.name} {`);
  for (const f of m.fields) {
    const options = f.params.length === 0 ? '' : ` [${FIELD_META} = { ${f.params.map(([k, v]) => `params { key: ${JSON.stringify(k)} value: ${JSON.stringify(v)} }`).join(' ')} }]`;
    lines.push(`${indent}  ${f.repeated ? 'repeated ' : ''}${f.type} ${f.name} = ${f.tag}${options};`);
  }
  for (const n of m.nested) renderMessage(n, `${indent}  `, lines);
  lines.push(`${indent}}`);
}

// ---------------------------------------------------------------------------------------------
// .proto text → protobufjs types

/** A parsed .proto file: its messages in declaration order, for the wire format's message indexes. */
export class ProtobufFile {
  private constructor(
    readonly root: protobuf.Root,
    private readonly topLevel: protobuf.Type[],
  ) {}

  /** Parses schema text from the registry (Confluent's list syntax in options included). */
  static parse(text: string): ProtobufFile {
    const root = new protobuf.Root();
    let types: protobuf.Type[];
    try {
      const parsed = protobuf.parse(normalizeListOptions(text), root, { keepCase: true });
      // The file's own top-level messages, before the dependencies join the same root.
      const ns = parsed.package ? root.lookup(parsed.package) : root;
      types = ns instanceof protobuf.Namespace ? ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type) : [];
      for (const file of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) addKnownFile(root, file);
      root.resolveAll();
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`invalid Protobuf schema: ${(err as Error).message}`);
    }
    return new ProtobufFile(root, types);
  }

  /** The message a list of message indexes names (Confluent's MessageIndexes). */
  message(indexes: readonly number[]): protobuf.Type {
    let list = this.topLevel;
    let t: protobuf.Type | undefined;
    for (const i of indexes) {
      t = list[i];
      if (t === undefined) throw new DataError(`message index ${indexes.join(',')} names no message in the schema`);
      list = t.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
    }
    if (t === undefined) throw new DataError('empty message index list');
    return t;
  }

  /** The message indexes of a message by its full name. */
  indexesOf(fullName: string): number[] {
    const want = fullName.startsWith('.') ? fullName : `.${fullName}`;
    const walk = (list: protobuf.Type[], path: number[]): number[] | undefined => {
      for (let i = 0; i < list.length; i++) {
        const t = list[i]!;
        if (t.fullName === want) return [...path, i];
        const found = walk(t.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type), [...path, i]);
        if (found) return found;
      }
      return undefined;
    };
    const found = walk(this.topLevel, []);
    if (!found) throw new DataError(`message ${fullName} is not in the schema`);
    return found;
  }
}

function addKnownFile(root: protobuf.Root, file: string): void {
  const known = KNOWN_FILES[file];
  if (known !== undefined) {
    mergeInto(root, protobuf.parse(known, new protobuf.Root(), { keepCase: true }).root);
    return;
  }
  const common = protobuf.common.get(file);
  if (common && file.startsWith('google/protobuf/')) {
    mergeInto(root, protobuf.Root.fromJSON(common));
    return;
  }
  throw new DataError(`Protobuf schema imports "${file}": schema references are not supported (only Confluent's and Google's well-known files)`);
}

function mergeInto(target: protobuf.NamespaceBase, source: protobuf.NamespaceBase): void {
  for (const n of [...source.nestedArray]) {
    const existing = target.get(n.name);
    if (existing instanceof protobuf.Namespace && !(existing instanceof protobuf.Type) && n instanceof protobuf.Namespace && !(n instanceof protobuf.Type)) {
      mergeInto(existing, n);
    } else if (existing === null) {
      source.remove(n);
      target.add(n);
    }
  }
}

/**
 * protobufjs reads text-format option values but not their list syntax, which Confluent's
 * schema printer uses for `params: [ { … }, { … } ]`. Rewrites `name: [ {A}, {B} ]` inside option
 * values as the equivalent repeated form `name {A} name {B}`; strings are left alone.
 */
export function normalizeListOptions(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\[\s*\{/.exec(text.slice(i, i + 200));
    if (m && (i === 0 || !/[A-Za-z0-9_.]/.test(text[i - 1]!))) {
      const name = m[1]!;
      let j = text.indexOf('[', i) + 1;
      const items: string[] = [];
      for (;;) {
        while (j < text.length && /[\s,]/.test(text[j]!)) j++;
        if (text[j] === ']') {
          j++;
          break;
        }
        if (text[j] !== '{') return text; // not the shape we rewrite: let the parser report it
        const end = blockEnd(text, j);
        items.push(normalizeListOptions(text.slice(j, end)));
        j = end;
      }
      out += items.map((b) => `${name} ${b}`).join(' ');
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function stringEnd(text: string, start: number): number {
  const q = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== q) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function blockEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      i = stringEnd(text, i);
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// protobufjs type → Connect schema

/** ProtobufData.toConnectSchema for one message (the root is a required STRUCT). */
export function protobufToConnectSchema(t: protobuf.Type): Schema {
  return messageSchema(t, false);
}

function messageSchema(t: protobuf.Type, optional: boolean): Schema {
  for (const o of t.oneofsArray) {
    const synthetic = o.fieldsArray.length === 1 && o.name === `_${o.fieldsArray[0]!.name}`;
    if (!synthetic) throw new DataError(`message ${t.name}: oneof "${o.name}" is not supported here (Confluent maps it to a Union struct)`);
  }
  const fields: Field[] = t.fieldsArray.map((f, index) => ({ name: f.name, index, schema: fieldSchema(f) }));
  return { ...makeSchema('struct', { name: t.name, optional }), fields };
}

function withTag(s: Schema, f: protobuf.Field): Schema {
  return { ...s, optional: true, parameters: { ...s.parameters, [PROTOBUF_TAG]: String(f.id) } };
}

function fieldMeta(f: protobuf.Field): Record<string, string> {
  const out: Record<string, string> = {};
  for (const opt of (f.parsedOptions as unknown as Array<Record<string, { params?: unknown }>> | null) ?? []) {
    const meta = opt[FIELD_META];
    const params = meta?.params;
    for (const p of Array.isArray(params) ? params : params !== undefined ? [params] : []) {
      const { key, value } = p as { key?: unknown; value?: unknown };
      if (typeof key === 'string' && typeof value === 'string') out[key] = value;
    }
  }
  return out;
}

function scalarSchema(type: string, meta: Record<string, string>): Schema | undefined {
  switch (type) {
    case 'int32':
    case 'sint32':
    case 'sfixed32': {
      if (meta[CONNECT_TYPE] === 'int8') return makeSchema('int8');
      if (meta[CONNECT_TYPE] === 'int16') return makeSchema('int16');
      return type === 'int32' ? makeSchema('int32') : makeSchema('int32', { parameters: { [PROTOBUF_TYPE]: type } });
    }
    case 'uint32':
    case 'fixed32':
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return type === 'int64' ? makeSchema('int64') : makeSchema('int64', { parameters: { [PROTOBUF_TYPE]: type } });
    case 'float':
      return makeSchema('float32');
    case 'double':
      return makeSchema('float64');
    case 'bool':
      return makeSchema('boolean');
    case 'string':
      return makeSchema('string');
    case 'bytes':
      return makeSchema('bytes');
    default:
      return undefined;
  }
}

function fieldSchema(f: protobuf.Field): Schema {
  f.resolve();
  if (f instanceof protobuf.MapField) {
    const key = withTag(scalarSchema(f.keyType, {})!, { id: 1 } as protobuf.Field);
    const value = withTag(elementSchema(f, f.type, f.resolvedType, {}), { id: 2 } as protobuf.Field);
    return withTag(makeSchema('map', { name: toMapField(`${f.name[0]!.toUpperCase()}${f.name.slice(1)}Entry`), keySchema: key, valueSchema: value }), f);
  }
  const base = elementSchema(f, f.type, f.resolvedType, fieldMeta(f));
  if (f.repeated && base.type !== 'map') return withTag(makeSchema('array', { valueSchema: { ...base, optional: true } }), f);
  return withTag(base, f);
}

function elementSchema(f: protobuf.Field, type: string, resolved: protobuf.Type | protobuf.Enum | null, meta: Record<string, string>): Schema {
  const scalar = scalarSchema(type, meta);
  if (scalar) return scalar;
  if (resolved instanceof protobuf.Enum) {
    const params: Record<string, string> = { [PROTOBUF_ENUM]: resolved.name };
    for (const [symbol, n] of Object.entries(resolved.values)) params[`${PROTOBUF_ENUM}.${symbol}`] = String(n);
    return makeSchema('string', { name: resolved.name, parameters: params, optional: true });
  }
  if (!(resolved instanceof protobuf.Type)) throw new DataError(`field "${f.name}": unknown Protobuf type ${type}`);
  switch (resolved.fullName.slice(1)) {
    case DECIMAL_TYPE: {
      const params: Record<string, string> = { [DECIMAL_SCALE]: String(Number.parseInt(meta.scale ?? '0', 10) || 0) };
      if (meta.precision !== undefined && /^\d+$/.test(meta.precision)) params[CONNECT_PRECISION] = meta.precision;
      return makeSchema('bytes', { name: DECIMAL, version: 1, parameters: params, optional: true });
    }
    case DATE_TYPE:
      return makeSchema('int32', { name: DATE, version: 1, optional: true });
    case TIME_TYPE:
      return makeSchema('int32', { name: TIME, version: 1, optional: true });
    case TIMESTAMP_TYPE:
      return makeSchema('int64', { name: TIMESTAMP, version: 1, optional: true });
  }
  if (f.repeated && isMapEntry(resolved)) {
    const [k, v] = resolved.fieldsArray as [protobuf.Field, protobuf.Field];
    return makeSchema('map', { name: toMapField(resolved.name), keySchema: fieldSchema(k), valueSchema: fieldSchema(v), optional: true });
  }
  return messageSchema(resolved, true);
}

/** ProtobufData.isMapDescriptor: a message named `…Entry` with exactly `key` and `value`, neither repeated. */
function isMapEntry(t: protobuf.Type): boolean {
  const fs = t.fieldsArray;
  return t.name.endsWith('Entry') && fs.length === 2 && fs[0]!.name === 'key' && fs[1]!.name === 'value' && !fs[0]!.repeated && !fs[1]!.repeated;
}

// ---------------------------------------------------------------------------------------------
// Values

/** A 64-bit integer as protobufjs's writer takes it (low and high 32 bits; same bits signed or unsigned). */
function longBits(n: bigint): { low: number; high: number } {
  return { low: Number(n & 0xffffffffn) | 0, high: Number((n >> 32n) & 0xffffffffn) | 0 };
}

/** ProtobufData.fromConnectData: a Connect value as the plain object protobufjs encodes for `t`. */
export function protobufFromConnectData(s: Schema, v: Value): Record<string, unknown> {
  if (!(v instanceof Struct)) throw new DataError(`ProtobufConverter needs a Struct for a STRUCT schema, got ${typeof v}`);
  return structObject(s, v);
}

function structObject(s: Schema, st: Struct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields!) {
    const x = st.values[f.index] ?? null;
    // A null field is left out (it reads back as proto3's default), as ProtobufData does.
    if (x !== null) out[f.name] = fieldValue(f.schema, x, f.name);
  }
  return out;
}

function fieldValue(s: Schema, v: Value, name: string): unknown {
  if (s.type === 'array') {
    if (!Array.isArray(v)) throw new DataError(`field "${name}": expected an array`);
    return v.map((x) => {
      if (x === null) throw new DataError(`field "${name}": a repeated Protobuf field cannot hold null`);
      return elementValue(s.valueSchema!, x, name);
    });
  }
  return elementValue(s, v, name);
}

function elementValue(s: Schema, v: Value, name: string): unknown {
  const bad = (): never => {
    throw new DataError(`field "${name}": invalid value for ${s.name ?? s.type.toUpperCase()}: ${typeof v}`);
  };
  switch (s.name) {
    case DECIMAL: {
      if (!(v instanceof Decimal)) return bad();
      const digits = (v.unscaled < 0n ? -v.unscaled : v.unscaled).toString().length;
      return { value: Buffer.from(bigintToBytes(v.unscaled)), precision: digits, scale: v.scale };
    }
    case DATE: {
      if (!(v instanceof Date)) return bad();
      const ms = v.getTime();
      if (ms % 86_400_000 !== 0) throw new DataError('Kafka Connect Date type should not have any time fields set to non-zero values.');
      return { year: v.getUTCFullYear(), month: v.getUTCMonth() + 1, day: v.getUTCDate() };
    }
    case TIME: {
      if (!(v instanceof Date)) return bad();
      const ms = v.getTime();
      if (ms < 0 || ms > 86_400_000) throw new DataError('Time values must use number of millis greater than 0 and less than 86400000');
      return { hours: v.getUTCHours(), minutes: v.getUTCMinutes(), seconds: v.getUTCSeconds(), nanos: v.getUTCMilliseconds() * 1_000_000 };
    }
    case TIMESTAMP: {
      if (!(v instanceof Date)) return bad();
      const ms = v.getTime();
      const seconds = Math.floor(ms / 1000);
      return { seconds: longBits(BigInt(seconds)), nanos: (ms - seconds * 1000) * 1_000_000 };
    }
  }
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      return typeof v === 'number' ? v : bad();
    case 'int64':
      return typeof v === 'bigint' ? longBits(v) : bad();
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'string':
      return typeof v === 'string' ? v : bad();
    case 'bytes':
      return v instanceof Uint8Array ? v : bad();
    case 'map':
      if (!(v instanceof Map)) return bad();
      return [...v].map(([k, x]) => {
        const entry: Record<string, unknown> = {};
        if (k !== null) entry.key = fieldValue(s.keySchema!, k, `${name}.key`);
        if (x !== null) entry.value = fieldValue(s.valueSchema!, x, `${name}.value`);
        return entry;
      });
    case 'struct':
      return v instanceof Struct ? structObject(s, v) : bad();
    case 'array':
      return bad();
  }
}

/** protobufjs's decoded object (toObject with defaults, longs as strings) → the Connect value of `s`. */
export function protobufToConnectData(s: Schema, t: protobuf.Type, bytes: Uint8Array): SchemaAndValue {
  const message = t.decode(bytes);
  const o = t.toObject(message, { longs: String, enums: String, defaults: true, arrays: true });
  return { schema: s, value: structValue(s, o) };
}

function structValue(s: Schema, o: Record<string, unknown>): Struct {
  const st = new Struct(s);
  for (const f of s.fields!) st.values[f.index] = connectValue(f.schema, o[f.name]);
  return st;
}

function connectValue(s: Schema, v: unknown): Value {
  if (v === null || v === undefined) return null;
  switch (s.name) {
    case DECIMAL: {
      const d = v as { value: Uint8Array; scale: number };
      return new Decimal(bigintFromBytes(d.value), d.scale ?? decimalScale(s));
    }
    case DATE: {
      const d = v as { year: number; month: number; day: number };
      return new Date(Date.UTC(d.year, d.month - 1, d.day));
    }
    case TIME: {
      const d = v as { hours: number; minutes: number; seconds: number; nanos: number };
      return new Date(((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000 + Math.floor(d.nanos / 1_000_000));
    }
    case TIMESTAMP: {
      const d = v as { seconds: string; nanos: number };
      return new Date(Number(d.seconds) * 1000 + Math.floor(d.nanos / 1_000_000));
    }
  }
  switch (s.type) {
    case 'int64':
      return BigInt(v as string);
    case 'bytes':
      return Uint8Array.from(v as Uint8Array);
    case 'array':
      return (v as unknown[]).map((x) => connectValue(s.valueSchema!, x));
    case 'map': {
      if (Array.isArray(v)) return new Map((v as Array<{ key?: unknown; value?: unknown }>).map((e) => [connectValue(s.keySchema!, e.key), connectValue(s.valueSchema!, e.value)]));
      // A `map<K, V>` field: protobufjs gives an object keyed by the key's text.
      return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [mapKey(s.keySchema!, k), connectValue(s.valueSchema!, x)]));
    }
    case 'struct':
      return structValue(s, v as Record<string, unknown>);
    default:
      return v as Value;
  }
}

function mapKey(s: Schema, k: string): Value {
  switch (s.type) {
    case 'int64':
      return BigInt(k);
    case 'int8':
    case 'int16':
    case 'int32':
      return Number(k);
    case 'boolean':
      return k === 'true';
    default:
      return k;
  }
}

/** Confluent's MessageIndexes: `[0]` is the single byte 0, otherwise a zigzag-varint count and indexes. */
export function encodeMessageIndexes(indexes: readonly number[]): Uint8Array {
  if (indexes.length === 1 && indexes[0] === 0) return Uint8Array.of(0);
  const out: number[] = [];
  const varint = (n: number): void => {
    let z = ((n << 1) ^ (n >> 31)) >>> 0;
    while (z > 0x7f) {
      out.push((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    out.push(z);
  };
  varint(indexes.length);
  for (const i of indexes) varint(i);
  return Uint8Array.from(out);
}

/** Reads message indexes at `offset`; returns them and the offset after them. */
export function decodeMessageIndexes(bytes: Uint8Array, offset: number): { indexes: number[]; next: number } {
  let pos = offset;
  const varint = (): number => {
    let z = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new DataError('truncated Protobuf message indexes');
      const b = bytes[pos++]!;
      z |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new DataError('invalid Protobuf message indexes');
    }
    return (z >>> 1) ^ -(z & 1);
  };
  const count = varint();
  if (count === 0) return { indexes: [0], next: pos };
  if (count < 0 || count > 100) throw new DataError(`invalid Protobuf message index count ${count}`);
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) indexes.push(varint());
  return { indexes, next: pos };
}

// ---------------------------------------------------------------------------------------------
// The Confluent wire format: magic byte, schema id, message indexes, then the message

interface ProtobufWriter {
  type: protobuf.Type;
  indexes: Uint8Array;
}
interface ProtobufReader {
  file: ProtobufFile;
  /** Message index list (joined) → the Connect schema and protobufjs type of that message. */
  messages: Map<string, { schema: Schema; type: protobuf.Type }>;
}

/** Confluent's ProtobufConverter (io.confluent.connect.protobuf.ProtobufConverter). */
export const protobufFormat: RegistryFormat<ProtobufWriter, ProtobufReader> = {
  className: 'io.confluent.connect.protobuf.ProtobufConverter',
  schemaType: 'PROTOBUF',
  writer(s) {
    const { text, fullName } = protobufFromConnectSchema(s);
    const file = ProtobufFile.parse(text);
    return { text, recordName: fullName, type: file.root.lookupType(fullName), indexes: encodeMessageIndexes(file.indexesOf(fullName)) };
  },
  encode(w, topic, s, value) {
    let body: Uint8Array;
    try {
      body = w.type.encode(protobufFromConnectData(s, value)).finish();
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`Failed to serialize Protobuf data from topic ${topic}: ${(err as Error).message}`);
    }
    const out = new Uint8Array(w.indexes.length + body.length);
    out.set(w.indexes, 0);
    out.set(body, w.indexes.length);
    return out;
  },
  reader(text) {
    return { file: ProtobufFile.parse(text), messages: new Map() };
  },
  decode(r, topic, id, payload) {
    const { indexes, next } = decodeMessageIndexes(payload, 0);
    const key = indexes.join(',');
    let m = r.messages.get(key);
    if (m === undefined) {
      const type = r.file.message(indexes);
      m = { schema: protobufToConnectSchema(type), type };
      r.messages.set(key, m);
    }
    try {
      return protobufToConnectData(m.schema, m.type, payload.subarray(next));
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`Failed to deserialize data for topic ${topic} to Protobuf (schema id ${id}): ${(err as Error).message}`);
    }
  },
};
