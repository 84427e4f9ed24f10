/**
 * Conversion between the connector protocol's `Schema` / `Data` messages and the in-memory form
 * (data.ts), at the edge where records enter and leave the worker. Logical types travel in their
 * Connect representation on the wire (Decimal as unscaled bytes, Date/Time/Timestamp as ints) and
 * are Decimal / Date in memory.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  DataSchema,
  SchemaType as ProtoType,
  type Data,
  type Schema as ProtoSchema,
  type SchemaSchema as ProtoSchemaSchema,
} from '../gen/tributary/connector/v1/connector_pb.js';
import {
  bigintFromBytes,
  bigintToBytes,
  DataError,
  DATE,
  Decimal,
  DECIMAL,
  decimalScale,
  intToLogical,
  logicalToInt,
  Struct,
  TIME,
  TIMESTAMP,
  type Field,
  type Schema,
  type SchemaType,
  type Value,
} from './data.js';

type ProtoSchemaInit = MessageInitShape<typeof ProtoSchemaSchema>;
type DataInit = MessageInitShape<typeof DataSchema>;

const fromProtoType: Record<number, SchemaType> = {
  [ProtoType.INT8]: 'int8',
  [ProtoType.INT16]: 'int16',
  [ProtoType.INT32]: 'int32',
  [ProtoType.INT64]: 'int64',
  [ProtoType.FLOAT32]: 'float32',
  [ProtoType.FLOAT64]: 'float64',
  [ProtoType.BOOLEAN]: 'boolean',
  [ProtoType.STRING]: 'string',
  [ProtoType.BYTES]: 'bytes',
  [ProtoType.ARRAY]: 'array',
  [ProtoType.MAP]: 'map',
  [ProtoType.STRUCT]: 'struct',
};
const toProtoType: Record<SchemaType, ProtoType> = {
  int8: ProtoType.INT8,
  int16: ProtoType.INT16,
  int32: ProtoType.INT32,
  int64: ProtoType.INT64,
  float32: ProtoType.FLOAT32,
  float64: ProtoType.FLOAT64,
  boolean: ProtoType.BOOLEAN,
  string: ProtoType.STRING,
  bytes: ProtoType.BYTES,
  array: ProtoType.ARRAY,
  map: ProtoType.MAP,
  struct: ProtoType.STRUCT,
};

const schemaCache = new WeakMap<ProtoSchema, Schema>();

/** A protocol Schema → the in-memory schema. Throws DataError for an unspecified type. */
export function schemaFromProto(p: ProtoSchema): Schema {
  const cached = schemaCache.get(p);
  if (cached) return cached;
  const type = fromProtoType[p.type];
  if (!type) throw new DataError(`schema type ${p.type} is not a Kafka Connect type (SCHEMA_TYPE_UNSPECIFIED?)`);
  const s: { -readonly [K in keyof Schema]: Schema[K] } = { type, optional: p.optional };
  if (p.name !== undefined) s.name = p.name;
  if (p.version !== undefined) s.version = p.version;
  if (p.doc !== undefined) s.doc = p.doc;
  if (Object.keys(p.parameters).length > 0) s.parameters = { ...p.parameters };
  if (type === 'struct') s.fields = p.fields.map((f, index): Field => ({ name: f.name, index, schema: schemaFromProto(requireSchema(f.schema, `field ${f.name}`)) }));
  if (type === 'map') s.keySchema = schemaFromProto(requireSchema(p.keySchema, 'map key'));
  if (type === 'array' || type === 'map') s.valueSchema = schemaFromProto(requireSchema(p.valueSchema, type === 'map' ? 'map value' : 'array element'));
  schemaCache.set(p, s);
  return s;
}

function requireSchema(s: ProtoSchema | undefined, what: string): ProtoSchema {
  if (!s) throw new DataError(`schema of ${what} is missing`);
  return s;
}

export function schemaToProto(s: Schema): ProtoSchemaInit {
  return {
    type: toProtoType[s.type],
    optional: s.optional,
    name: s.name,
    version: s.version,
    doc: s.doc,
    parameters: s.parameters ? { ...s.parameters } : {},
    fields: s.fields?.map((f) => ({ name: f.name, schema: schemaToProto(f.schema) })) ?? [],
    keySchema: s.keySchema ? schemaToProto(s.keySchema) : undefined,
    valueSchema: s.valueSchema ? schemaToProto(s.valueSchema) : undefined,
  };
}

/** Protocol Data → in-memory Value, read with `s` (null: schemaless). */
export function valueFromProto(d: Data | undefined, s: Schema | null): Value {
  const k = d?.kind;
  if (!k || k.case === undefined || k.case === 'null') return null;
  if (s === null) return schemalessFromProto(d);
  switch (k.case) {
    case 'int': {
      if (s.name === TIMESTAMP) return new Date(Number(k.value));
      if (s.name === DATE || s.name === TIME) return intToLogical(s, Number(k.value));
      if (s.type === 'int64') return k.value;
      if (s.type === 'int8' || s.type === 'int16' || s.type === 'int32') return Number(k.value);
      if (s.type === 'float32' || s.type === 'float64') return Number(k.value);
      break;
    }
    case 'float':
      if (s.type === 'float32' || s.type === 'float64') return k.value;
      break;
    case 'boolean':
      if (s.type === 'boolean') return k.value;
      break;
    case 'string':
      if (s.type === 'string') return k.value;
      break;
    case 'bytes':
      if (s.name === DECIMAL) return new Decimal(bigintFromBytes(k.value), decimalScale(s));
      if (s.type === 'bytes') return k.value;
      break;
    case 'array':
      if (s.type === 'array') return k.value.items.map((item) => valueFromProto(item, s.valueSchema!));
      break;
    case 'map':
      if (s.type === 'map') {
        const m = new Map<Value, Value>();
        for (const e of k.value.entries) m.set(valueFromProto(e.key, s.keySchema!), valueFromProto(e.value, s.valueSchema!));
        return m;
      }
      break;
    case 'struct':
      if (s.type === 'struct') {
        const fields = s.fields!;
        if (k.value.fields.length !== fields.length) throw new DataError(`struct has ${k.value.fields.length} values but its schema ${fields.length} fields`);
        return new Struct(
          s,
          fields.map((f, i) => valueFromProto(k.value.fields[i], f.schema)),
        );
      }
      break;
  }
  throw new DataError(`a ${k.case} value does not fit a ${s.type.toUpperCase()} schema${s.name ? ` (${s.name})` : ''}`);
}

function schemalessFromProto(d: Data): Value {
  const k = d.kind;
  switch (k.case) {
    case 'int':
      return k.value;
    case 'float':
    case 'boolean':
    case 'string':
    case 'bytes':
      return k.value;
    case 'array':
      return k.value.items.map((item) => valueFromProto(item, null));
    case 'map': {
      const m = new Map<Value, Value>();
      for (const e of k.value.entries) m.set(valueFromProto(e.key, null), valueFromProto(e.value, null));
      return m;
    }
    case 'struct':
      throw new DataError('a struct value needs a schema');
    default:
      return null;
  }
}

/** In-memory Value → protocol Data, written with `s` (null: schemaless). */
export function valueToProto(v: Value, s: Schema | null): DataInit {
  if (v === null) return { kind: { case: 'null', value: true } };
  if (typeof v === 'bigint') return { kind: { case: 'int', value: v } };
  if (typeof v === 'number') {
    const floating = s ? s.type === 'float32' || s.type === 'float64' : true;
    return floating ? { kind: { case: 'float', value: v } } : { kind: { case: 'int', value: BigInt(v) } };
  }
  if (typeof v === 'boolean') return { kind: { case: 'boolean', value: v } };
  if (typeof v === 'string') return { kind: { case: 'string', value: v } };
  if (v instanceof Uint8Array) return { kind: { case: 'bytes', value: v } };
  if (v instanceof Date) return { kind: { case: 'int', value: BigInt(s ? logicalToInt(s, v) : v.getTime()) } };
  if (v instanceof Decimal) return { kind: { case: 'bytes', value: bigintToBytes(v.unscaled) } };
  if (v instanceof Struct) return { kind: { case: 'struct', value: { fields: v.values.map((fv, i) => valueToProto(fv, v.schema.fields![i]!.schema)) } } };
  if (Array.isArray(v)) return { kind: { case: 'array', value: { items: v.map((item) => valueToProto(item, s?.valueSchema ?? null)) } } };
  const entries: Array<{ key: DataInit; value: DataInit }> = [];
  for (const [key, value] of v) entries.push({ key: valueToProto(key, s?.keySchema ?? null), value: valueToProto(value, s?.valueSchema ?? null) });
  return { kind: { case: 'map', value: { entries } } };
}

/** A Data message for tests and plugins that want a built message rather than an init shape. */
export function dataMessage(v: Value, s: Schema | null): Data {
  return create(DataSchema, valueToProto(v, s));
}
