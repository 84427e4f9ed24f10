/**
 * Kafka Connect ↔ JSON Schema, as Confluent's `JsonSchemaData` maps them with its default
 * settings (`decimal.format=BASE64`, additional properties allowed). Writing: a STRUCT becomes
 * `{"type":"object","title":<name>,"properties":{…}}` with each property's `connect.index`;
 * integers are `"type":"integer"` and floats `"type":"number"` with a `connect.type`; BYTES (and
 * Decimal) a string with `"connect.type":"bytes"`; an optional schema is
 * `{"oneOf":[{"type":"null"},{…}]}`; a MAP with required string keys an object with
 * `additionalProperties`, any other MAP an array of `{key, value}` objects
 * (`"connect.type":"map"`); name, version, doc, parameters and default travel as `title`,
 * `connect.version`, `description`, `connect.parameters` and `default`. The payload is the JSON
 * text Jackson writes for the same value (the JsonConverter's payload without the envelope,
 * except for those map entries). Reading takes the registered schema back into a Connect
 * schema the same way, and a schema from another producer (no `connect.*` keywords) as
 * JsonSchemaData reads it: integer → INT64, number → FLOAT64, object with properties → STRUCT.
 */
import { Buffer } from 'node:buffer';
import { JsonConverter } from './converters.js';
import { DataError, DECIMAL, schema as makeSchema, type Field, type Schema, type SchemaAndValue, type SchemaType, type Value } from './data.js';
import { parseJson, quoteJson, type JsonNode } from './json.js';
import type { RegistryFormat } from './schema-registry.js';

const CONNECT_TYPE = 'connect.type';
const CONNECT_INDEX = 'connect.index';
const CONNECT_VERSION = 'connect.version';
const CONNECT_PARAMETERS = 'connect.parameters';
/** Parameters in Confluent's own namespace are not written into the JSON schema. */
const CONFLUENT_NAMESPACE = 'io.confluent.connect.json';

/** JsonSchemaData.fromConnectSchema: the JSON Schema text for a Connect schema. */
export function jsonSchemaFromConnectSchema(s: Schema, payloadWriter: JsonConverter): string {
  return render(s, undefined, payloadWriter);
}

function render(s: Schema, index: number | undefined, w: JsonConverter): string {
  const parts: string[] = [];
  const props: string[] = [];
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      parts.push('"type":"integer"');
      props.push(`"${CONNECT_TYPE}":"${s.type}"`);
      break;
    case 'float32':
    case 'float64':
      parts.push('"type":"number"');
      props.push(`"${CONNECT_TYPE}":"${s.type}"`);
      break;
    case 'boolean':
      parts.push('"type":"boolean"');
      break;
    case 'string':
      parts.push('"type":"string"');
      break;
    case 'bytes':
      // With decimal.format=NUMERIC a Decimal is written as a JSON number, and its schema says so.
      parts.push(s.name === DECIMAL && w.options.decimalFormat === 'NUMERIC' ? '"type":"number"' : '"type":"string"');
      props.push(`"${CONNECT_TYPE}":"bytes"`);
      break;
    case 'array':
      parts.push('"type":"array"', `"items":${render(s.valueSchema!, undefined, w)}`);
      break;
    case 'map':
      if (s.keySchema!.type === 'string' && !s.keySchema!.optional) {
        parts.push('"type":"object"', `"additionalProperties":${render(s.valueSchema!, undefined, w)}`);
      } else {
        parts.push('"type":"array"', `"items":{"type":"object","properties":{"key":${render(s.keySchema!, 0, w)},"value":${render(s.valueSchema!, 1, w)}}}`);
      }
      props.push(`"${CONNECT_TYPE}":"map"`);
      break;
    case 'struct':
      parts.push('"type":"object"', `"properties":{${s.fields!.map((f) => `${quoteJson(f.name)}:${render(f.schema, f.index, w)}`).join(',')}}`);
      break;
  }
  if (s.name !== undefined) parts.push(`"title":${quoteJson(s.name)}`);
  if (s.version !== undefined) props.push(`"${CONNECT_VERSION}":${s.version}`);
  if (s.doc !== undefined) parts.push(`"description":${quoteJson(s.doc)}`);
  const params = Object.entries(s.parameters ?? {}).filter(([k]) => !k.startsWith(CONFLUENT_NAMESPACE));
  if (params.length > 0) props.push(`"${CONNECT_PARAMETERS}":{${params.map(([k, v]) => `${quoteJson(k)}:${quoteJson(v)}`).join(',')}}`);
  if (s.defaultValue !== undefined && s.defaultValue !== null) parts.push(`"default":${w.toJson(s, s.defaultValue)}`);
  const indexProp = index === undefined ? [] : [`"${CONNECT_INDEX}":${index}`];
  const body = `{${[...parts, ...props].join(',')}}`;
  if (s.optional) return `{${['"oneOf":[{"type":"null"},' + body + ']', ...indexProp].join(',')}}`;
  return indexProp.length === 0 ? body : `{${[...parts, ...props, ...indexProp].join(',')}}`;
}

/** JsonSchemaData.toConnectSchema for a registered schema's parsed JSON. */
export function jsonSchemaToConnectSchema(node: JsonNode): Schema {
  return toSchema(node, false);
}

function str(m: Map<string, JsonNode>, key: string): string | undefined {
  const v = m.get(key);
  return typeof v === 'string' ? v : undefined;
}

function toSchema(node: JsonNode, forceOptional: boolean): Schema {
  if (node === true) return makeSchema('string', { optional: true }); // `true` accepts anything; read as text
  if (!(node instanceof Map)) throw new DataError(`unsupported JSON Schema ${JSON.stringify(String(node))}`);
  const oneOf = node.get('oneOf') ?? node.get('anyOf');
  if (Array.isArray(oneOf)) {
    const nonNull = oneOf.filter((x) => !(x instanceof Map && x.get('type') === 'null'));
    if (nonNull.length === 1 && oneOf.length === 2) return toSchema(nonNull[0]!, true);
    throw new DataError('a JSON Schema oneOf/anyOf other than null + one schema is not supported here (Confluent maps it to a OneOf struct)');
  }
  let type = node.get('type');
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    if (nonNull.length !== 1) throw new DataError(`JSON Schema type ${JSON.stringify(type)} is not supported here`);
    forceOptional = forceOptional || nonNull.length < type.length;
    type = nonNull[0]!;
  }
  const connectType = str(node, CONNECT_TYPE);
  let s: Schema;
  switch (type) {
    case 'boolean':
      s = makeSchema('boolean');
      break;
    case 'integer':
    case 'number': {
      const t = connectType ?? (type === 'integer' ? 'int64' : 'float64');
      if (!['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'bytes'].includes(t)) throw new DataError(`unsupported connect.type "${t}"`);
      s = makeSchema(t as SchemaType);
      break;
    }
    case 'string':
      s = makeSchema(connectType === 'bytes' ? 'bytes' : 'string');
      break;
    case 'array': {
      const items = node.get('items');
      if (items === undefined) throw new DataError('Array schema did not specify the items type');
      if (connectType === 'map' && items instanceof Map && items.get('properties') instanceof Map) {
        const p = items.get('properties') as Map<string, JsonNode>;
        s = makeSchema('map', { keySchema: toSchema(p.get('key')!, false), valueSchema: toSchema(p.get('value')!, false) });
      } else s = makeSchema('array', { valueSchema: toSchema(items, false) });
      break;
    }
    case 'object': {
      if (connectType === 'map') {
        s = makeSchema('map', { keySchema: makeSchema('string'), valueSchema: toSchema(node.get('additionalProperties') ?? true, false) });
        break;
      }
      const props = node.get('properties');
      const entries = props instanceof Map ? [...props] : [];
      // Properties in connect.index order; those without one keep their place after.
      const sorted = entries
        .map(([name, sub], i) => ({ name, sub, index: sub instanceof Map && typeof sub.get(CONNECT_INDEX) === 'bigint' ? Number(sub.get(CONNECT_INDEX)) : i }))
        .sort((a, b) => a.index - b.index);
      const fields: Field[] = sorted.map((e, index) => ({ name: e.name, index, schema: toSchema(e.sub, false) }));
      s = { ...makeSchema('struct'), fields };
      break;
    }
    default:
      throw new DataError(`unsupported JSON Schema type ${JSON.stringify(type ?? null)}`);
  }
  const version = node.get(CONNECT_VERSION);
  const params = node.get(CONNECT_PARAMETERS);
  const init: Record<string, unknown> = {};
  const title = str(node, 'title');
  if (title !== undefined) init.name = title;
  if (typeof version === 'bigint') init.version = Number(version);
  const doc = str(node, 'description');
  if (doc !== undefined) init.doc = doc;
  if (params instanceof Map) init.parameters = Object.fromEntries([...params].filter(([, v]) => typeof v === 'string') as Array<[string, string]>);
  if (forceOptional) init.optional = true;
  s = { ...s, ...init };
  const def = node.get('default');
  if (def !== undefined && def !== null) s = { ...s, defaultValue: new JsonConverter({ schemasEnable: false, decimalFormat: 'BASE64', replaceNullWithDefault: true, mapEntries: 'objects' }).toValue(s, def) };
  return s;
}

interface JsonSchemaWriter {
  schema: Schema;
}

/** Confluent's JsonSchemaConverter (io.confluent.connect.json.JsonSchemaConverter). */
export function jsonSchemaFormat(decimalFormat: 'BASE64' | 'NUMERIC'): RegistryFormat<JsonSchemaWriter, Schema> {
  const json = new JsonConverter({ schemasEnable: false, decimalFormat, replaceNullWithDefault: true, mapEntries: 'objects' });
  return {
    className: 'io.confluent.connect.json.JsonSchemaConverter',
    schemaType: 'JSON',
    writer(s) {
      return { text: jsonSchemaFromConnectSchema(s, json), recordName: s.name ?? 'JsonSchema', schema: s };
    },
    encode(_w, _topic, s, value) {
      return Buffer.from(json.toJson(s, value), 'utf8');
    },
    reader(text, id) {
      let node: JsonNode;
      try {
        node = parseJson(text);
      } catch {
        throw new DataError(`schema id ${id} is not valid JSON`);
      }
      return jsonSchemaToConnectSchema(node);
    },
    decode(s, topic, id, payload): SchemaAndValue {
      let node: JsonNode;
      try {
        node = parseJson(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
      } catch (err) {
        throw new DataError(`Failed to deserialize data for topic ${topic} to JSON Schema (schema id ${id}): ${(err as Error).message}`);
      }
      return { schema: s, value: json.toValue(s, node) as Value };
    },
  };
}
