/**
 * Worker-level converter defaults (`key.converter`, `value.converter`, `header.converter` and their
 * `.*` settings in the worker config file or flags) with Kafka Connect's precedence: a converter
 * the connector names is taken whole from the connector, one it does not name whole from the worker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileWorkerSettings } from '../../src/cli/worker-options.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { Schemas, unknownKeys } from '../../src/processing/index.js';
import { parseProcessing } from '../../src/processing/config.js';
import { parseConnectorSettings } from '../../src/worker/connector-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-worker-converters-'));
function workerFile(settings: Record<string, unknown>): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ 'kafka.bootstrap': '127.0.0.1:9092', ...settings }));
  return path;
}
const text = (b: Uint8Array | null): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter';
const worker = { 'value.converter': JSON_CONVERTER, 'value.converter.schemas.enable': 'false', 'key.converter': 'org.apache.kafka.connect.storage.StringConverter' };

describe('worker converter settings', () => {
  it('reads key/value/header converter keys and their settings from the config file', () => {
    const settings = compileWorkerSettings({ config: workerFile({ ...worker, 'session.timeout.ms': 3000 }) }, {});
    assert.deepEqual(settings.converterDefaults, worker);
  });

  it('a converter flag names the class over the file; none set: no defaults', () => {
    const settings = compileWorkerSettings({ config: workerFile({ 'value.converter': 'StringConverter' }), valueConverter: JSON_CONVERTER, headerConverter: 'StringConverter' }, {});
    assert.deepEqual(settings.converterDefaults, { 'value.converter': JSON_CONVERTER, 'header.converter': 'StringConverter' });
    assert.deepEqual(compileWorkerSettings({ kafka: '127.0.0.1:9092' }, {}).converterDefaults, {});
  });

  it('refuses an unknown converter class and a setting the converter does not have, naming each key', () => {
    const refused = (settings: Record<string, unknown>): string => {
      try {
        compileWorkerSettings({ config: workerFile(settings) }, {});
      } catch (e) {
        if (e instanceof InvalidArgumentError) return e.problems.map((p) => p.key).sort().join();
        throw e;
      }
      return 'accepted';
    };
    assert.equal(refused({ 'key.converter': 'com.example.Nope', 'value.converter': JSON_CONVERTER }), 'key.converter');
    assert.equal(refused({ 'value.converter': JSON_CONVERTER, 'value.converter.schemas.enabled': 'false' }), 'value.converter.schemas.enabled');
    assert.equal(refused({ 'value.converter': JSON_CONVERTER, 'value.converter.schemas.enable': 'maybe' }), 'value.converter.schemas.enable');
    assert.equal(refused({ 'header.converter.foo': 'x' }), 'header.converter.foo');
  });
});

describe('precedence: the connector, then the worker, then Tributary', () => {
  it('a connector that names no converter gets the worker\'s, with the worker\'s settings', () => {
    const p = parseProcessing({}, { kind: 'source', workerDefaults: worker });
    assert.equal(text(p.valueConverter.fromConnect('t', Schemas.string, 'x')), '"x"');
    assert.equal(text(p.keyConverter.fromConnect('t', Schemas.string, 'k')), 'k');
  });

  it('a connector that names a converter gets it whole: the worker\'s settings do not mix in', () => {
    const p = parseProcessing({ 'value.converter': 'JsonConverter' }, { kind: 'source', workerDefaults: worker });
    assert.equal(text(p.valueConverter.fromConnect('t', Schemas.string, 'x')), '{"schema":{"type":"string","optional":false},"payload":"x"}');
  });

  it('a connector\'s converter settings without its class have no effect, and validation says so', () => {
    const config = { 'value.converter.schemas.enable': 'true' };
    const p = parseProcessing(config, { kind: 'source', workerDefaults: worker });
    assert.equal(text(p.valueConverter.fromConnect('t', Schemas.string, 'x')), '"x"');
    assert.deepEqual(unknownKeys(config, [], 'source', worker), ['value.converter.schemas.enable']);
    // Without worker defaults the same key still configures nothing (ByteArrayConverter has no settings).
    assert.deepEqual(unknownKeys({ 'value.converter': JSON_CONVERTER, ...config }, [], 'source', worker), []);
  });

  it('connector validation takes the worker defaults into account', () => {
    const config = { 'connector.class': 'datagen', topic: 't' };
    const withWorker = parseConnectorSettings('c', config, 'source', worker);
    assert.equal(text(withWorker.processing.valueConverter.fromConnect('t', Schemas.int32, 5)), '5');
    // Without them, Tributary's default (ByteArrayConverter) refuses a non-bytes value.
    const alone = parseConnectorSettings('c', config, 'source');
    assert.throws(() => alone.processing.valueConverter.fromConnect('t', Schemas.int32, 5));
  });
});
