/**
 * Builders for the structured form records take at the plugin boundary: `Schema` and `Data` of
 * the connector protocol (Kafka Connect's data model, docs/connector-protocol.md), as plain init
 * objects the SDK sends as they are. Shared by the built-in connectors that emit or read
 * structured records (datagen, postgres-*); the worker's converter turns them into bytes.
 *
 * Logical types travel in their Connect representation: Decimal as unscaled two's-complement
 * big-endian bytes with the scale in the schema's parameters, Date as days, Time as ms of the
 * day, Timestamp as ms since the epoch.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { SchemaType, type Data, type DataSchema, type Schema, type SchemaSchema } from '../../gen/tributary/connector/v1/connector_pb.js';

export type SchemaInit = MessageInitShape<typeof SchemaSchema>;
export type DataInit = MessageInitShape<typeof DataSchema>;
export { SchemaType };

export const DECIMAL = 'org.apache.kafka.connect.data.Decimal';
export const DATE = 'org.apache.kafka.connect.data.Date';
export const TIME = 'org.apache.kafka.connect.data.Time';
export const TIMESTAMP = 'org.apache.kafka.connect.data.Timestamp';

export interface SchemaOptions {
  optional?: boolean;
  name?: string;
  version?: number;
  doc?: string;
  parameters?: Record<string, string>;
}

type PlainSchema = Exclude<SchemaInit, Schema>;

export function primitive(type: SchemaType, options: SchemaOptions = {}): PlainSchema {
  const s: PlainSchema = { type, optional: options.optional ?? false };
  if (options.name !== undefined) s.name = options.name;
  if (options.version !== undefined) s.version = options.version;
  if (options.doc !== undefined) s.doc = options.doc;
  if (options.parameters !== undefined) s.parameters = options.parameters;
  return s;
}

/** A STRUCT schema from (name, schema) pairs, in order. */
export function struct(fields: ReadonlyArray<readonly [string, SchemaInit]>, options: SchemaOptions = {}): PlainSchema {
  return { ...primitive(SchemaType.STRUCT, options), fields: fields.map(([name, schema]) => ({ name, schema })) };
}

export function decimalSchema(scale: number, optional = false): SchemaInit {
  return primitive(SchemaType.BYTES, { name: DECIMAL, version: 1, parameters: { scale: String(scale) }, optional });
}
export function timestampSchema(optional = false): SchemaInit {
  return primitive(SchemaType.INT64, { name: TIMESTAMP, version: 1, optional });
}
export function dateSchema(optional = false): SchemaInit {
  return primitive(SchemaType.INT32, { name: DATE, version: 1, optional });
}

const NULL: DataInit = { kind: { case: 'null', value: true } };

export const d = {
  null: (): DataInit => NULL,
  int: (v: number | bigint): DataInit => ({ kind: { case: 'int', value: BigInt(v) } }),
  float: (v: number): DataInit => ({ kind: { case: 'float', value: v } }),
  bool: (v: boolean): DataInit => ({ kind: { case: 'boolean', value: v } }),
  str: (v: string): DataInit => ({ kind: { case: 'string', value: v } }),
  bytes: (v: Uint8Array): DataInit => ({ kind: { case: 'bytes', value: v } }),
  struct: (fields: DataInit[]): DataInit => ({ kind: { case: 'struct', value: { fields } } }),
  array: (items: DataInit[]): DataInit => ({ kind: { case: 'array', value: { items } } }),
  /** `v` when not null/undefined, else a null. */
  opt<T>(v: T | null | undefined, f: (v: T) => DataInit): DataInit {
    return v === null || v === undefined ? NULL : f(v);
  },
};

/** A decimal string ("-12.345") as Connect's Decimal: unscaled two's-complement big-endian bytes and the scale. */
export function decimalFromString(text: string, scale?: number): { bytes: Uint8Array; scale: number } {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal number: "${text}"`);
  let frac = m[3] ?? '';
  const s = scale ?? frac.length;
  if (frac.length > s) frac = frac.slice(0, s); // callers pass the column's scale, which PostgreSQL already rounded to
  frac = frac.padEnd(s, '0');
  let unscaled = BigInt(`${m[2] || '0'}${frac}` || '0');
  if (m[1] === '-') unscaled = -unscaled;
  return { bytes: bigintToTwosComplement(unscaled), scale: s };
}

/** The unscaled value and scale back as a plain decimal string. */
export function decimalToString(bytes: Uint8Array, scale: number): string {
  const unscaled = twosComplementToBigint(bytes);
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  } else if (scale < 0) {
    digits += '0'.repeat(-scale);
  }
  return negative ? `-${digits}` : digits;
}

export function bigintToTwosComplement(v: bigint): Uint8Array {
  // Minimal length, as Java's BigInteger.toByteArray.
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    out.unshift(byte);
    x >>= 8n;
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

export function twosComplementToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if ((bytes[0]! & 0x80) !== 0) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

/** A received (protobuf) Data as a JS value for a given schema: numbers, bigint for INT64, strings, Uint8Array, arrays, objects for structs. */
export function dataToJs(data: Data | undefined, schema: Schema | undefined): unknown {
  if (!data) return null;
  const k = data.kind;
  switch (k.case) {
    case 'null':
    case undefined:
      return null;
    case 'int':
      return schema?.type === SchemaType.INT64 ? k.value : Number(k.value);
    case 'float':
    case 'boolean':
    case 'string':
    case 'bytes':
      return k.value;
    case 'array':
      return k.value.items.map((item) => dataToJs(item, schema?.valueSchema));
    case 'map':
      return new Map(k.value.entries.map((e) => [dataToJs(e.key, schema?.keySchema), dataToJs(e.value, schema?.valueSchema)]));
    case 'struct': {
      const out: Record<string, unknown> = {};
      const fields = schema?.fields ?? [];
      k.value.fields.forEach((v, i) => {
        const f = fields[i];
        out[f?.name ?? String(i)] = dataToJs(v, f?.schema);
      });
      return out;
    }
  }
}
