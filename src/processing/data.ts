/**
 * The in-memory structured form of keys, values and headers: Kafka Connect's data model
 * (`org.apache.kafka.connect.data`), decoded once and shared by converters, transforms and the
 * bridge. Converters are the only code that turns it into bytes.
 *
 * Representation (what a Value holds for each schema type):
 * - INT8 / INT16 / INT32 → `number`; INT64 → `bigint`; FLOAT32 / FLOAT64 → `number`;
 *   BOOLEAN → `boolean`; STRING → `string`; BYTES → `Uint8Array`; ARRAY → `Value[]`;
 *   MAP → `Map<Value, Value>` (insertion order kept, keys of any type); STRUCT → `Struct`.
 * - Logical types as Kafka Connect holds them in memory: Decimal → `Decimal` (unscaled
 *   `bigint` + scale), Date / Time / Timestamp → `Date`.
 * - Schemaless values (no schema, as Kafka Connect's schemaless maps): an integer is a
 *   `bigint` (Connect infers INT64), a floating-point number a `number` (FLOAT64).
 * - `null` is Kafka Connect's null (an optional value, or a tombstone).
 */
import { InvalidArgumentError } from '../errors.js';

export type SchemaType = 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'boolean' | 'string' | 'bytes' | 'array' | 'map' | 'struct';

export interface Field {
  readonly name: string;
  readonly index: number;
  readonly schema: Schema;
}

/** A Kafka Connect schema. Immutable once built; build with `schema()` / `structSchema()`. */
export interface Schema {
  readonly type: SchemaType;
  readonly optional: boolean;
  readonly name?: string | undefined;
  readonly version?: number | undefined;
  readonly doc?: string | undefined;
  readonly parameters?: Readonly<Record<string, string>> | undefined;
  /** STRUCT only, in order. */
  readonly fields?: readonly Field[] | undefined;
  /** MAP keys. */
  readonly keySchema?: Schema | undefined;
  /** ARRAY elements and MAP values. */
  readonly valueSchema?: Schema | undefined;
  /** Kafka Connect schemas may carry a default (JSON envelopes do); the proto does not. */
  readonly defaultValue?: Value | undefined;
}

export const DECIMAL = 'org.apache.kafka.connect.data.Decimal';
export const DATE = 'org.apache.kafka.connect.data.Date';
export const TIME = 'org.apache.kafka.connect.data.Time';
export const TIMESTAMP = 'org.apache.kafka.connect.data.Timestamp';
export const DECIMAL_SCALE = 'scale';

export class Decimal {
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  /** Plain decimal notation, as Java's BigDecimal.toPlainString. */
  toPlainString(): string {
    const negative = this.unscaled < 0n;
    let digits = (negative ? -this.unscaled : this.unscaled).toString();
    if (this.scale > 0) {
      digits = digits.padStart(this.scale + 1, '0');
      digits = `${digits.slice(0, digits.length - this.scale)}.${digits.slice(digits.length - this.scale)}`;
    } else if (this.scale < 0) {
      digits += '0'.repeat(-this.scale);
    }
    return negative ? `-${digits}` : digits;
  }

  toNumber(): number {
    return Number(this.toPlainString());
  }
}

export class Struct {
  readonly values: Value[];

  constructor(
    readonly schema: Schema,
    values?: Value[],
  ) {
    if (schema.type !== 'struct' || !schema.fields) throw new DataError(`a Struct needs a STRUCT schema, got ${schema.type}`);
    this.values = values ?? new Array<Value>(schema.fields.length).fill(null);
  }

  field(name: string): Field | undefined {
    return this.schema.fields!.find((f) => f.name === name);
  }

  get(name: string): Value {
    const f = this.field(name);
    if (!f) throw new DataError(`${name} is not a valid field name`);
    return this.values[f.index]!;
  }

  put(name: string, value: Value): this {
    const f = this.field(name);
    if (!f) throw new DataError(`${name} is not a valid field name`);
    this.values[f.index] = value;
    return this;
  }
}

export type Value = null | boolean | number | bigint | string | Uint8Array | Date | Decimal | Struct | Value[] | Map<Value, Value>;

/** A value with the schema that describes it (`null` schema = schemaless), as Kafka Connect's SchemaAndValue. */
export interface SchemaAndValue {
  schema: Schema | null;
  value: Value;
}

/**
 * Bad data for a schema, or a value a converter or transform cannot handle (Kafka Connect's
 * DataException). A record-level error: the error handler decides retry, tolerance and DLQ.
 */
export class DataError extends InvalidArgumentError {
  /** The Kafka Connect exception class this corresponds to, for dead-letter headers. */
  readonly connectClass: string = 'org.apache.kafka.connect.errors.DataException';
  constructor(message: string) {
    super(message);
  }
}

export interface SchemaInit {
  optional?: boolean;
  name?: string | undefined;
  version?: number | undefined;
  doc?: string | undefined;
  parameters?: Record<string, string> | undefined;
  keySchema?: Schema | undefined;
  valueSchema?: Schema | undefined;
  defaultValue?: Value | undefined;
}

/** Builds a schema, dropping absent attributes so two equal schemas compare equal field by field. */
export function schema(type: SchemaType, init: SchemaInit = {}): Schema {
  const s: { -readonly [K in keyof Schema]: Schema[K] } = { type, optional: init.optional ?? false };
  if (init.name !== undefined) s.name = init.name;
  if (init.version !== undefined) s.version = init.version;
  if (init.doc !== undefined) s.doc = init.doc;
  if (init.parameters !== undefined) s.parameters = init.parameters;
  if (init.keySchema !== undefined) s.keySchema = init.keySchema;
  if (init.valueSchema !== undefined) s.valueSchema = init.valueSchema;
  if (init.defaultValue !== undefined && init.defaultValue !== null) s.defaultValue = init.defaultValue;
  return s;
}

/** A STRUCT schema from (name, schema) pairs, in order. Field names must be unique. */
export function structSchema(fields: ReadonlyArray<readonly [string, Schema]>, init: SchemaInit = {}): Schema {
  const seen = new Set<string>();
  const list: Field[] = fields.map(([name, s], index) => {
    if (seen.has(name)) throw new DataError(`cannot create field because of field name duplication ${name}`);
    seen.add(name);
    return { name, index, schema: s };
  });
  return { ...schema('struct', init), fields: list };
}

/** A copy of `s` with some attributes replaced (fields kept). */
export function withSchema(s: Schema, init: SchemaInit & { fields?: readonly Field[] }): Schema {
  const out = { ...s, ...init } as { -readonly [K in keyof Schema]: Schema[K] };
  for (const k of Object.keys(out) as Array<keyof Schema>) if (out[k] === undefined) delete out[k];
  return out;
}

export const Schemas = {
  int8: schema('int8'),
  int16: schema('int16'),
  int32: schema('int32'),
  int64: schema('int64'),
  float32: schema('float32'),
  float64: schema('float64'),
  boolean: schema('boolean'),
  string: schema('string'),
  bytes: schema('bytes'),
  optionalInt8: schema('int8', { optional: true }),
  optionalInt16: schema('int16', { optional: true }),
  optionalInt32: schema('int32', { optional: true }),
  optionalInt64: schema('int64', { optional: true }),
  optionalFloat32: schema('float32', { optional: true }),
  optionalFloat64: schema('float64', { optional: true }),
  optionalBoolean: schema('boolean', { optional: true }),
  optionalString: schema('string', { optional: true }),
  optionalBytes: schema('bytes', { optional: true }),
} as const;

export function decimalSchema(scale: number, optional = false): Schema {
  return schema('bytes', { name: DECIMAL, version: 1, parameters: { [DECIMAL_SCALE]: String(scale) }, optional });
}
export function dateSchema(optional = false): Schema {
  return schema('int32', { name: DATE, version: 1, optional });
}
export function timeSchema(optional = false): Schema {
  return schema('int32', { name: TIME, version: 1, optional });
}
export function timestampSchema(optional = false): Schema {
  return schema('int64', { name: TIMESTAMP, version: 1, optional });
}

/** Deep equality of schemas (Kafka Connect's ConnectSchema.equals). */
export function schemaEquals(a: Schema | null | undefined, b: Schema | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if (a.type !== b.type || a.optional !== b.optional || a.name !== b.name || a.version !== b.version || a.doc !== b.doc) return false;
  if (!recordEquals(a.parameters, b.parameters)) return false;
  if (!schemaEquals(a.keySchema, b.keySchema) || !schemaEquals(a.valueSchema, b.valueSchema)) return false;
  const fa = a.fields ?? [];
  const fb = b.fields ?? [];
  if (fa.length !== fb.length) return false;
  for (let i = 0; i < fa.length; i++) if (fa[i]!.name !== fb[i]!.name || !schemaEquals(fa[i]!.schema, fb[i]!.schema)) return false;
  return valueEquals(a.defaultValue ?? null, b.defaultValue ?? null);
}

function recordEquals(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/** Deep equality of values. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Decimal && b instanceof Decimal) return a.unscaled === b.unscaled && a.scale === b.scale;
  if (a instanceof Struct && b instanceof Struct) return schemaEquals(a.schema, b.schema) && a.values.every((v, i) => valueEquals(v, b.values[i]!));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => valueEquals(v, b[i]!));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    const eb = [...b.entries()];
    let i = 0;
    for (const [k, v] of a) {
      const [k2, v2] = eb[i++]!;
      if (!valueEquals(k, k2) || !valueEquals(v, v2)) return false;
    }
    return true;
  }
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
}

/** Two's-complement big-endian bytes → bigint (Java's `new BigInteger(byte[])`). */
export function bigintFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (bytes[0]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

/** bigint → minimal two's-complement big-endian bytes (Java's `BigInteger.toByteArray()`). */
export function bigintToBytes(n: bigint): Uint8Array {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out.reverse());
}

export function decimalScale(s: Schema): number {
  const raw = s.parameters?.[DECIMAL_SCALE];
  const scale = raw === undefined ? NaN : Number(raw);
  if (!Number.isInteger(scale)) throw new DataError('Invalid Decimal schema: scale parameter not found.');
  return scale;
}

const MS_PER_DAY = 86_400_000;

/** Kafka Connect's Date.fromLogical / Time.fromLogical / Timestamp.fromLogical: the integer form. */
export function logicalToInt(s: Schema, d: Date): number {
  const ms = d.getTime();
  if (s.name === DATE) {
    if (ms % MS_PER_DAY !== 0) throw new DataError('Kafka Connect Date type should not have any time fields set to non-zero values.');
    return ms / MS_PER_DAY;
  }
  if (s.name === TIME) {
    if (ms < 0 || ms >= MS_PER_DAY) throw new DataError('Kafka Connect Time type should not have any date fields set to non-zero values.');
    return ms;
  }
  return ms;
}

export function intToLogical(s: Schema, n: number): Date {
  if (s.name === DATE) return new Date(n * MS_PER_DAY);
  if (s.name === TIME && (n < 0 || n >= MS_PER_DAY)) throw new DataError('Time values must use number of milliseconds greater than 0 and less than 86400000');
  return new Date(n);
}

export function isLogical(s: Schema | null | undefined): boolean {
  const n = s?.name;
  return n === DECIMAL || n === DATE || n === TIME || n === TIMESTAMP;
}

/** Kafka Connect's ConnectSchema.validateValue: throws DataError when `value` does not fit `s`. */
export function validateValue(s: Schema | null, value: Value, field?: string): void {
  if (s === null) return;
  const where = field === undefined ? '' : ` for field: "${field}"`;
  if (value === null) {
    if (!s.optional && s.defaultValue === undefined) throw new DataError(`Invalid value: null used for required field${where || ''}, schema type: ${s.type.toUpperCase()}`);
    return;
  }
  const bad = (): never => {
    throw new DataError(`Invalid Java object for schema with type ${s.type.toUpperCase()}: ${describeValue(value)}${where}`);
  };
  if (s.name === DECIMAL) return void (value instanceof Decimal || bad());
  if (s.name === DATE || s.name === TIME || s.name === TIMESTAMP) return void (value instanceof Date || bad());
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
      if (typeof value !== 'number' || !Number.isInteger(value)) bad();
      return;
    case 'int64':
      if (typeof value !== 'bigint') bad();
      return;
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') bad();
      return;
    case 'boolean':
      if (typeof value !== 'boolean') bad();
      return;
    case 'string':
      if (typeof value !== 'string') bad();
      return;
    case 'bytes':
      if (!(value instanceof Uint8Array)) bad();
      return;
    case 'array':
      if (!Array.isArray(value)) bad();
      for (const v of value as Value[]) validateValue(s.valueSchema ?? null, v, field);
      return;
    case 'map':
      if (!(value instanceof Map)) bad();
      for (const [k, v] of value as Map<Value, Value>) {
        validateValue(s.keySchema ?? null, k, field);
        validateValue(s.valueSchema ?? null, v, field);
      }
      return;
    case 'struct':
      if (!(value instanceof Struct)) bad();
      if (!schemaEquals((value as Struct).schema, s)) throw new DataError(`Struct schemas do not match${where}.`);
      return;
  }
}

export function describeValue(v: Value): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'byte[]';
  if (v instanceof Struct) return 'Struct';
  if (v instanceof Map) return 'Map';
  if (Array.isArray(v)) return 'List';
  if (v instanceof Date) return 'Date';
  if (v instanceof Decimal) return 'BigDecimal';
  return typeof v;
}
