/**
 * `replace.null.with.default` on the transforms that have it in Kafka Connect 3.8+ (KIP-1040:
 * InsertField, ReplaceField, MaskField, ValueToKey, ExtractField, HeaderFrom, SetSchemaMetadata;
 * Cast and TimestampConverter are in processing-transforms-connect.test.ts). With the default
 * `true` a null field that has a schema default reads as the default (Kafka Connect's
 * `Struct.get`); with `false` it stays null (`Struct.getWithoutDefault`). HoistField, Flatten
 * and the header/routing transforms do not have the key, so it is unknown there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProcessing } from '../../src/processing/config.js';
import { processingPlugins, schema, Schemas, Struct, structSchema, type Value } from '../../src/processing/index.js';
import type { ConnectRecord } from '../../src/processing/record.js';

const P = 'org.apache.kafka.connect.transforms.';

const s = structSchema([
  ['id', Schemas.int64],
  ['n', schema('int32', { optional: true, defaultValue: 42 })],
]);

function rec(over: Partial<ConnectRecord> = {}): ConnectRecord {
  return { topic: 't', kafkaPartition: 0, keySchema: s, key: new Struct(s, [1n, null]), valueSchema: s, value: new Struct(s, [1n, null]), timestamp: 0, headers: [], ...over };
}

function apply(type: string, props: Record<string, string>, r: ConnectRecord = rec()): ConnectRecord {
  const config: Record<string, string> = { transforms: 't', 'transforms.t.type': `${P}${type}` };
  for (const [k, v] of Object.entries(props)) config[`transforms.t.${k}`] = v;
  const settings = parseProcessing(config, { kind: 'source' });
  assert.ok(settings.knownKeys.has('transforms.t.replace.null.with.default') || !('replace.null.with.default' in props), `${type} knows replace.null.with.default`);
  let out: ConnectRecord | null = r;
  for (const t of settings.chain) out = t.transform.apply(out!);
  return out!;
}

const n = (v: Value): Value => (v as Struct).get('n');

/** Runs `check(result, expectedN)` with the default (true) and with false. */
function bothWays(type: string, props: Record<string, string>, check: (out: ConnectRecord, expected: Value) => void): void {
  check(apply(type, props), 42);
  check(apply(type, { ...props, 'replace.null.with.default': 'true' }), 42);
  check(apply(type, { ...props, 'replace.null.with.default': 'false' }), null);
}

describe('replace.null.with.default', () => {
  it('InsertField$Value and $Key copy a null field as its default unless false', () => {
    bothWays('InsertField$Value', { 'topic.field': 'topic' }, (out, want) => {
      assert.equal(n(out.value), want);
      assert.equal((out.value as Struct).get('topic'), 't');
    });
    bothWays('InsertField$Key', { 'static.field': 'x', 'static.value': 'y' }, (out, want) => assert.equal(n(out.key), want));
  });

  it('ReplaceField$Value (with a rename) and $Key', () => {
    bothWays('ReplaceField$Value', { renames: 'n:m' }, (out, want) => assert.equal((out.value as Struct).get('m'), want));
    bothWays('ReplaceField$Key', { exclude: 'id' }, (out, want) => assert.equal(n(out.key), want));
  });

  it('MaskField masks the default (0 for an int32), and keeps an unmasked null field as its default unless false', () => {
    bothWays('MaskField$Value', { fields: 'n' }, (out, want) => assert.equal(n(out.value), want === null ? null : 0));
    bothWays('MaskField$Key', { fields: 'id' }, (out, want) => {
      assert.equal((out.key as Struct).get('id'), 0n);
      assert.equal(n(out.key), want);
    });
  });

  it('ValueToKey puts the default into the key unless false', () => {
    bothWays('ValueToKey', { fields: 'id,n' }, (out, want) => {
      assert.equal((out.key as Struct).get('id'), 1n);
      assert.equal(n(out.key), want);
    });
  });

  it('ExtractField$Value and $Key extract the default unless false', () => {
    bothWays('ExtractField$Value', { field: 'n' }, (out, want) => assert.equal(out.value, want));
    bothWays('ExtractField$Key', { field: 'n' }, (out, want) => assert.equal(out.key, want));
  });

  it('HeaderFrom copies the default into the header, and a move keeps other null fields as their defaults', () => {
    bothWays('HeaderFrom$Value', { fields: 'n', headers: 'h', operation: 'copy' }, (out, want) => {
      assert.equal(out.headers.find((h) => h.key === 'h')!.value, want);
    });
    bothWays('HeaderFrom$Key', { fields: 'id', headers: 'h', operation: 'move' }, (out, want) => {
      assert.equal(out.headers.find((h) => h.key === 'h')!.value, 1n);
      assert.equal(n(out.key), want);
    });
  });

  it('SetSchemaMetadata rebuilds the struct with defaults for null fields unless false', () => {
    bothWays('SetSchemaMetadata$Value', { 'schema.name': 'renamed' }, (out, want) => {
      assert.equal(out.valueSchema!.name, 'renamed');
      assert.equal(n(out.value), want);
    });
    bothWays('SetSchemaMetadata$Key', { 'schema.version': '3' }, (out, want) => assert.equal(n(out.key), want));
  });

  it('is listed in the config spec of exactly the transforms Kafka Connect has it on', () => {
    const withKey = new Set(
      processingPlugins()
        .filter((p) => p.name.startsWith(P) && p.configKeys.some((k) => k.name === 'replace.null.with.default'))
        .map((p) => p.name.slice(P.length).replace(/\$(Key|Value)$/, '')),
    );
    assert.deepEqual([...withKey].sort(), ['Cast', 'ExtractField', 'HeaderFrom', 'InsertField', 'MaskField', 'ReplaceField', 'SetSchemaMetadata', 'TimestampConverter', 'ValueToKey']);
    const settings = parseProcessing({ transforms: 'h', 'transforms.h.type': `${P}HoistField$Value`, 'transforms.h.field': 'f', 'transforms.h.replace.null.with.default': 'false' }, { kind: 'source' });
    assert.ok(!settings.knownKeys.has('transforms.h.replace.null.with.default'), 'HoistField has no replace.null.with.default');
  });

  it('a value that is not a boolean is refused naming the key', () => {
    assert.throws(() => apply('ExtractField$Value', { field: 'n', 'replace.null.with.default': 'maybe' }), /transforms\.t\.replace\.null\.with\.default/);
  });
});
