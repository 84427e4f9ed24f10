/**
 * From a sink record's structured key and value (Kafka Connect data at the plugin boundary) to
 * SQL: which table, which operation, which columns and parameter values, and the PostgreSQL
 * column types for auto-create / auto-evolve. Debezium change events (a value schema named
 * `….Envelope` with `op` and `after`) are unwrapped, as Debezium's JDBC sink does natively.
 */
import { InvalidArgumentError } from '../../errors.js';
import { SchemaType, type Data, type Schema } from '../../gen/tributary/connector/v1/connector_pb.js';
import type { PluginRecord } from '../../plugins/index.js';
import { decimalToString } from '../connect-data/index.js';

export interface Column {
  name: string;
  schema: Schema;
}

export interface Row {
  op: 'upsert' | 'delete';
  table: string;
  /** Every column of the row (for delete: the key columns). */
  columns: Column[];
  values: unknown[];
  /** Names of the key columns (a prefix or subset of `columns`). */
  key: string[];
  kafkaOffset: bigint;
}

export interface RowSettings {
  tableFormat: string;
  pkMode: 'none' | 'record_key' | 'record_value';
  pkFields: string[];
  deleteEnabled: boolean;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function isoDate(days: number): string {
  const dt = new Date(days * 86_400_000);
  return `${pad(dt.getUTCFullYear(), 4)}-${pad(dt.getUTCMonth() + 1)}-${pad(dt.getUTCDate())}`;
}

function timestampFromMicros(us: bigint): string {
  const ms = Number(us / 1000n);
  const frac = (((us % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

function timeFromMicros(us: bigint): string {
  const s = Number(us / 1_000_000n);
  const frac = (us % 1_000_000n).toString().padStart(6, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${frac}`;
}

function jsonOf(data: Data | undefined, schema: Schema | undefined): unknown {
  const k = data?.kind;
  if (!k || k.case === 'null' || k.case === undefined) return null;
  switch (k.case) {
    case 'int':
      return Number.isSafeInteger(Number(k.value)) ? Number(k.value) : k.value.toString();
    case 'bytes':
      return Buffer.from(k.value).toString('base64');
    case 'array':
      return k.value.items.map((i) => jsonOf(i, schema?.valueSchema));
    case 'map':
      return Object.fromEntries(k.value.entries.map((e) => [String(jsonOf(e.key, schema?.keySchema)), jsonOf(e.value, schema?.valueSchema)]));
    case 'struct':
      return Object.fromEntries(k.value.fields.map((v, i) => [schema?.fields[i]?.name ?? String(i), jsonOf(v, schema?.fields[i]?.schema)]));
    default:
      return k.value;
  }
}

/** A Connect value as a pg parameter (PostgreSQL casts the text to the column's type). */
export function sqlValue(data: Data | undefined, schema: Schema): unknown {
  const k = data?.kind;
  if (!k || k.case === 'null' || k.case === undefined) return null;
  switch (schema.name) {
    case 'org.apache.kafka.connect.data.Decimal':
      if (k.case === 'bytes') return decimalToString(k.value, Number(schema.parameters.scale ?? 0));
      break;
    case 'io.debezium.data.VariableScaleDecimal':
      if (k.case === 'struct') {
        const [scale, value] = k.value.fields;
        if (scale?.kind.case === 'int' && value?.kind.case === 'bytes') return decimalToString(value.kind.value, Number(scale.kind.value));
      }
      break;
    case 'org.apache.kafka.connect.data.Date':
    case 'io.debezium.time.Date':
      if (k.case === 'int') return isoDate(Number(k.value));
      break;
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.Timestamp':
      if (k.case === 'int') return timestampFromMicros(k.value * 1000n);
      break;
    case 'io.debezium.time.MicroTimestamp':
      if (k.case === 'int') return timestampFromMicros(k.value);
      break;
    case 'org.apache.kafka.connect.data.Time':
    case 'io.debezium.time.Time':
      if (k.case === 'int') return timeFromMicros(k.value * 1000n);
      break;
    case 'io.debezium.time.MicroTime':
      if (k.case === 'int') return timeFromMicros(k.value);
      break;
    default:
      break;
  }
  switch (k.case) {
    case 'int':
      return k.value.toString();
    case 'float':
      return Number.isFinite(k.value) ? k.value : String(k.value); // 'NaN', 'Infinity', '-Infinity'
    case 'boolean':
    case 'string':
      return k.value;
    case 'bytes':
      return Buffer.from(k.value);
    default:
      return JSON.stringify(jsonOf(data, schema));
  }
}

/** The PostgreSQL type for a Connect schema (auto-create, auto-evolve). */
export function sqlType(schema: Schema): string {
  switch (schema.name) {
    case 'org.apache.kafka.connect.data.Decimal':
    case 'io.debezium.data.VariableScaleDecimal':
      return 'numeric';
    case 'org.apache.kafka.connect.data.Date':
    case 'io.debezium.time.Date':
      return 'date';
    case 'org.apache.kafka.connect.data.Time':
    case 'io.debezium.time.Time':
    case 'io.debezium.time.MicroTime':
      return 'time';
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.Timestamp':
    case 'io.debezium.time.MicroTimestamp':
      return 'timestamp';
    case 'io.debezium.time.ZonedTimestamp':
      return 'timestamptz';
    case 'io.debezium.data.Json':
      return 'jsonb';
    case 'io.debezium.data.Uuid':
      return 'uuid';
    default:
      break;
  }
  switch (schema.type) {
    case SchemaType.INT8:
    case SchemaType.INT16:
      return 'smallint';
    case SchemaType.INT32:
      return 'integer';
    case SchemaType.INT64:
      return 'bigint';
    case SchemaType.FLOAT32:
      return 'real';
    case SchemaType.FLOAT64:
      return 'double precision';
    case SchemaType.BOOLEAN:
      return 'boolean';
    case SchemaType.STRING:
      return 'text';
    case SchemaType.BYTES:
      return 'bytea';
    default:
      return 'jsonb';
  }
}

function structFields(data: Data | undefined, schema: Schema | undefined): { columns: Column[]; values: unknown[] } | undefined {
  if (!schema || schema.type !== SchemaType.STRUCT || data?.kind.case !== 'struct') return undefined;
  const values = data.kind.value.fields;
  const columns: Column[] = [];
  const out: unknown[] = [];
  schema.fields.forEach((f, i) => {
    if (!f.schema) return;
    columns.push({ name: f.name, schema: f.schema });
    out.push(sqlValue(values[i], f.schema));
  });
  return { columns, values: out };
}

function isEnvelope(schema: Schema | undefined): boolean {
  return !!schema && schema.type === SchemaType.STRUCT && (schema.name ?? '').endsWith('.Envelope') && schema.fields.some((f) => f.name === 'op') && schema.fields.some((f) => f.name === 'after');
}

function field(data: Data | undefined, schema: Schema, name: string): { data: Data | undefined; schema: Schema | undefined } {
  const i = schema.fields.findIndex((f) => f.name === name);
  return { data: data?.kind.case === 'struct' ? data.kind.value.fields[i] : undefined, schema: schema.fields[i]?.schema };
}

export function tableFor(format: string, topic: string): string {
  return format.replace(/\$\{topic\}/g, topic.replace(/\./g, '_'));
}

/**
 * The row a record stands for, or undefined for a record to skip (a tombstone with deletes
 * disabled, a Debezium delete with deletes disabled). Throws InvalidArgumentError for a record
 * the settings cannot write (no structured value, no key where one is required).
 */
export function rowOf(record: PluginRecord, s: RowSettings): Row | undefined {
  const topic = record.topic ?? '';
  const table = tableFor(s.tableFormat, topic);
  const kafkaOffset = record.kafkaOffset ?? -1n;
  const where = `topic ${topic} offset ${kafkaOffset}`;
  let valueData = record.structuredValue;
  let valueSchema = record.valueSchema;
  let op: Row['op'] = 'upsert';
  const hasValue = valueData !== undefined && valueData.kind.case !== 'null';
  if (record.value !== undefined && !hasValue) {
    throw new InvalidArgumentError(`postgres-sink: the record at ${where} is raw bytes; set value.converter=json (with schemas) so the sink receives structured values`);
  }
  if (hasValue && isEnvelope(valueSchema)) {
    const opField = field(valueData, valueSchema!, 'op');
    const opText = opField.data?.kind.case === 'string' ? opField.data.kind.value : '';
    if (opText === 'd') {
      op = 'delete';
      const before = field(valueData, valueSchema!, 'before');
      valueData = before.data;
      valueSchema = before.schema;
    } else {
      const after = field(valueData, valueSchema!, 'after');
      valueData = after.data;
      valueSchema = after.schema;
    }
  } else if (!hasValue) {
    op = 'delete';
    valueData = undefined;
  }
  if (op === 'delete' && !s.deleteEnabled) return undefined;

  let key: string[] = [];
  const columns: Column[] = [];
  const values: unknown[] = [];
  if (s.pkMode === 'record_key') {
    const k = structFields(record.structuredKey, record.keySchema);
    if (k) {
      const wanted = s.pkFields.length > 0 ? s.pkFields : k.columns.map((c) => c.name);
      k.columns.forEach((c, i) => {
        if (!wanted.includes(c.name)) return;
        columns.push(c);
        values.push(k.values[i]);
      });
    } else if (record.keySchema && record.structuredKey && record.structuredKey.kind.case !== 'null' && s.pkFields.length === 1) {
      columns.push({ name: s.pkFields[0]!, schema: record.keySchema });
      values.push(sqlValue(record.structuredKey, record.keySchema));
    }
    if (columns.length === 0) throw new InvalidArgumentError(`postgres-sink: the record at ${where} has no structured key (primary.key.mode=record_key needs key.converter=json with schemas)`);
    key = columns.map((c) => c.name);
  }
  const v = op === 'delete' && s.pkMode === 'record_key' ? undefined : structFields(valueData, valueSchema);
  if (v) {
    v.columns.forEach((c, i) => {
      if (key.includes(c.name)) return;
      columns.push(c);
      values.push(v.values[i]);
    });
  } else if (op === 'upsert') {
    throw new InvalidArgumentError(`postgres-sink: the record at ${where} has no STRUCT value to write (a value schema of type STRUCT is required)`);
  }
  if (s.pkMode === 'record_value') {
    key = s.pkFields;
    const missing = key.filter((k) => !columns.some((c) => c.name === k));
    if (missing.length > 0) throw new InvalidArgumentError(`postgres-sink: the record at ${where} lacks the primary key field(s) ${missing.join(', ')}`);
  }
  if (op === 'delete') {
    if (key.length === 0) throw new InvalidArgumentError(`postgres-sink: a delete at ${where} needs a primary key (primary.key.mode)`);
    const idx = key.map((k) => columns.findIndex((c) => c.name === k));
    return { op, table, columns: idx.map((i) => columns[i]!), values: idx.map((i) => values[i]), key, kafkaOffset };
  }
  return { op, table, columns, values, key, kafkaOffset };
}

