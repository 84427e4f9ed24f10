/**
 * What the PostgreSQL connectors share: LSN arithmetic, identifier quoting, catalog look-ups of
 * a table's columns and primary key, and the mapping of PostgreSQL column types and their text
 * form to Kafka Connect schemas and values (the plugin-boundary `Schema`/`Data`).
 *
 * Two mappings exist because two conventions exist: `debezium` (what Debezium's PostgreSQL
 * connector emits with its defaults: decimal.handling.mode=precise, time.precision.mode=adaptive,
 * io.debezium.time.* logical names) for the CDC source, and `connect` (Kafka Connect's own
 * logical types, as Confluent's JDBC source emits) for the query source.
 */
import pg from 'pg';
import { d, decimalFromString, primitive, SchemaType, struct, type DataInit, type SchemaInit } from '../connect-data/index.js';

/** An LSN ("16/B374D848") as a 64-bit number. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new RangeError(`not an LSN: "${text}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** A double-quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** Query options that return every column as PostgreSQL's text form (no pg-types parsing). */
export const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface ColumnInfo {
  name: string;
  typeOid: number;
  typeMod: number;
  /** The type's name (e.g. "int4", "numeric", "_text" for arrays). */
  typeName: string;
  notNull: boolean;
}

export interface TableInfo {
  schema: string;
  table: string;
  oid: number;
  columns: ColumnInfo[];
  /** Primary key columns, in key order; empty without a primary key. */
  primaryKey: string[];
}

/** Reads a table's live columns (in order) and primary key from the catalog. */
export async function describeTable(client: pg.ClientBase, by: { oid: number } | { schema: string; table: string }): Promise<TableInfo | undefined> {
  const where = 'oid' in by ? 'c.oid = $1' : 'n.nspname = $1 AND c.relname = $2';
  const params = 'oid' in by ? [by.oid] : [by.schema, by.table];
  const rel = await client.query<{ oid: number; nspname: string; relname: string }>(`SELECT c.oid::int AS oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${where}`, params);
  const r = rel.rows[0];
  if (!r) return undefined;
  const cols = await client.query<{ attname: string; atttypid: number; atttypmod: number; typname: string; attnotnull: boolean }>(
    `SELECT a.attname, a.atttypid::int AS atttypid, a.atttypmod, t.typname, a.attnotnull
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [r.oid],
  );
  const pk = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
    [r.oid],
  );
  return {
    schema: r.nspname,
    table: r.relname,
    oid: r.oid,
    columns: cols.rows.map((c) => ({ name: c.attname, typeOid: c.atttypid, typeMod: c.atttypmod, typeName: c.typname, notNull: c.attnotnull })),
    primaryKey: pk.rows.map((p) => p.attname),
  };
}

/** How a column's text form becomes a Connect value. */
export interface ColumnMapping {
  schema: SchemaInit;
  /** Text form (never null) → value. */
  convert(text: string): DataInit;
  /** The value Debezium puts for a null in a required column (e.g. a key-only `before`). */
  fallback: DataInit;
}

export type MappingStyle = 'debezium' | 'connect';

const INT_TYPES: Record<string, SchemaType> = { int2: SchemaType.INT16, int4: SchemaType.INT32, int8: SchemaType.INT64, oid: SchemaType.INT64 };

/** Days since the epoch of "YYYY-MM-DD" (proleptic Gregorian, as PostgreSQL prints with DateStyle ISO). */
function epochDays(text: string): number {
  const m = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/.exec(text);
  if (!m) throw new RangeError(`not a date: "${text}"`);
  const year = m[4] ? 1 - Number(m[1]) : Number(m[1]);
  const date = new Date(0);
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  return Math.round(date.getTime() / 86_400_000);
}

/** Microseconds since the epoch of "YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]" (the offset applied when present). */
function epochMicros(text: string): bigint {
  const m = /^(\d{4,}-\d\d-\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?( BC)?$/.exec(text);
  if (!m) throw new RangeError(`not a timestamp: "${text}"`);
  const days = epochDays(m[1]! + (m[10] ?? ''));
  let seconds = BigInt(days) * 86_400n + BigInt(Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
  if (m[6]) {
    const offset = BigInt(Number(m[7]) * 3600 + Number(m[8] ?? 0) * 60 + Number(m[9] ?? 0));
    seconds += m[6] === '+' ? -offset : offset;
  }
  return seconds * 1_000_000n + BigInt((m[5] ?? '').padEnd(6, '0') || '0');
}

function timeMicros(text: string): bigint {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/.exec(text);
  if (!m) throw new RangeError(`not a time: "${text}"`);
  return BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0') || '0');
}

/** "2024-01-02 03:04:05.123+00" (session TimeZone UTC) → "2024-01-02T03:04:05.123Z", as Debezium's ZonedTimestamp. */
function zonedTimestamp(text: string): string {
  const micros = epochMicros(text);
  const ms = Number(micros / 1000n);
  const iso = new Date(ms).toISOString(); // …T…:…:….mmmZ
  const frac = (((micros % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

function hexBytes(text: string): Uint8Array {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  // The 'escape' bytea output format (bytea_output=escape).
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '\\') {
      out.push(0x5c);
      i++;
    } else if (text[i] === '\\') {
      out.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else out.push(text.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

/** Maps one column. `optional` is false only for NOT NULL columns. */
export function mapColumn(column: ColumnInfo, style: MappingStyle, optional = !column.notNull): ColumnMapping {
  const t = column.typeName;
  const opt = { optional };
  const int = INT_TYPES[t];
  if (int !== undefined) return { schema: primitive(int, opt), convert: (s) => d.int(BigInt(s)), fallback: d.int(0) };
  switch (t) {
    case 'bool':
      return { schema: primitive(SchemaType.BOOLEAN, opt), convert: (s) => d.bool(s === 't' || s === 'true'), fallback: d.bool(false) };
    case 'float4':
      return { schema: primitive(SchemaType.FLOAT32, opt), convert: (s) => d.float(Number(s)), fallback: d.float(0) };
    case 'float8':
      return { schema: primitive(SchemaType.FLOAT64, opt), convert: (s) => d.float(Number(s)), fallback: d.float(0) };
    case 'numeric': {
      if (column.typeMod >= 4) {
        const precision = ((column.typeMod - 4) >> 16) & 0xffff;
        const scale = (column.typeMod - 4) & 0xffff;
        const parameters: Record<string, string> = { scale: String(scale), 'connect.decimal.precision': String(precision) };
        return {
          schema: primitive(SchemaType.BYTES, { ...opt, name: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters }),
          // NaN has no Connect Decimal; Debezium emits null for it in precise mode.
          convert: (s) => (s === 'NaN' ? d.null() : d.bytes(decimalFromString(s, scale).bytes)),
          fallback: d.bytes(Uint8Array.of(0)),
        };
      }
      if (style === 'debezium') {
        const vsd = struct(
          [
            ['scale', primitive(SchemaType.INT32)],
            ['value', primitive(SchemaType.BYTES)],
          ],
          { ...opt, name: 'io.debezium.data.VariableScaleDecimal', version: 1, doc: 'Variable scaled decimal' },
        );
        return {
          schema: vsd,
          convert: (s) => {
            if (s === 'NaN') return d.null();
            const v = decimalFromString(s);
            return d.struct([d.int(v.scale), d.bytes(v.bytes)]);
          },
          fallback: d.struct([d.int(0), d.bytes(Uint8Array.of(0))]),
        };
      }
      return { schema: primitive(SchemaType.FLOAT64, opt), convert: (s) => d.float(Number(s)), fallback: d.float(0) };
    }
    case 'date':
      return {
        schema: primitive(SchemaType.INT32, { ...opt, name: style === 'debezium' ? 'io.debezium.time.Date' : 'org.apache.kafka.connect.data.Date', version: 1 }),
        convert: (s) => d.int(epochDays(s)),
        fallback: d.int(0),
      };
    case 'timestamp': {
      const precision = column.typeMod < 0 ? 6 : column.typeMod;
      if (style === 'debezium' && precision > 3) {
        return { schema: primitive(SchemaType.INT64, { ...opt, name: 'io.debezium.time.MicroTimestamp', version: 1 }), convert: (s) => d.int(epochMicros(s)), fallback: d.int(0) };
      }
      const name = style === 'debezium' ? 'io.debezium.time.Timestamp' : 'org.apache.kafka.connect.data.Timestamp';
      return { schema: primitive(SchemaType.INT64, { ...opt, name, version: 1 }), convert: (s) => d.int(epochMicros(s) / 1000n), fallback: d.int(0) };
    }
    case 'timestamptz':
      if (style === 'debezium') {
        return { schema: primitive(SchemaType.STRING, { ...opt, name: 'io.debezium.time.ZonedTimestamp', version: 1 }), convert: (s) => d.str(zonedTimestamp(s)), fallback: d.str('1970-01-01T00:00:00Z') };
      }
      return { schema: primitive(SchemaType.INT64, { ...opt, name: 'org.apache.kafka.connect.data.Timestamp', version: 1 }), convert: (s) => d.int(epochMicros(s) / 1000n), fallback: d.int(0) };
    case 'time': {
      const precision = column.typeMod < 0 ? 6 : column.typeMod;
      if (style === 'debezium' && precision > 3) {
        return { schema: primitive(SchemaType.INT64, { ...opt, name: 'io.debezium.time.MicroTime', version: 1 }), convert: (s) => d.int(timeMicros(s)), fallback: d.int(0) };
      }
      const name = style === 'debezium' ? 'io.debezium.time.Time' : 'org.apache.kafka.connect.data.Time';
      return { schema: primitive(SchemaType.INT32, { ...opt, name, version: 1 }), convert: (s) => d.int(timeMicros(s) / 1000n), fallback: d.int(0) };
    }
    case 'bytea':
      return { schema: primitive(SchemaType.BYTES, opt), convert: (s) => d.bytes(hexBytes(s)), fallback: d.bytes(new Uint8Array()) };
    case 'uuid':
      return { schema: primitive(SchemaType.STRING, style === 'debezium' ? { ...opt, name: 'io.debezium.data.Uuid', version: 1 } : opt), convert: (s) => d.str(s), fallback: d.str('') };
    case 'json':
    case 'jsonb':
      return { schema: primitive(SchemaType.STRING, style === 'debezium' ? { ...opt, name: 'io.debezium.data.Json', version: 1 } : opt), convert: (s) => d.str(s), fallback: d.str('') };
    default:
      // text, varchar, bpchar, name, inet, interval, arrays, enums, …: their text form.
      return { schema: primitive(SchemaType.STRING, opt), convert: (s) => d.str(s), fallback: d.str('') };
  }
}

/** A pg client config from a URL, with the session settings the converters rely on. */
export function clientConfig(url: string, extra: pg.ClientConfig = {}): pg.ClientConfig {
  // UTC and ISO dates make the text forms above unambiguous; extra_float_digits=3 keeps floats exact.
  return { connectionString: url, options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c bytea_output=hex', ...extra };
}

/** Compiles a Debezium-style include/exclude list: comma-separated regexes matched against the whole name. */
export function nameFilter(include: string[], exclude: string[]): (name: string) => boolean {
  const inc = include.map((p) => new RegExp(`^(?:${p})$`));
  const exc = exclude.map((p) => new RegExp(`^(?:${p})$`));
  return (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
}

/** The problem with a list of regexes, if one does not compile. */
export function regexListProblem(patterns: string[]): string | undefined {
  for (const p of patterns) {
    try {
      new RegExp(p);
    } catch (err) {
      return `"${p}" is not a valid regular expression: ${(err as Error).message}`;
    }
  }
  return undefined;
}
