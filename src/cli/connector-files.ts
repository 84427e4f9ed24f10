/**
 * Reads connector configs the way Kafka Connect users have them: a JSON file posted to the REST
 * API (`{"name": …, "config": {…}}`), a flat JSON map with a `name` key, or a `.properties`
 * file as `connect-standalone` takes.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { parseProperties } from '../worker/index.js';

export interface ConnectorFile {
  name: string;
  config: Record<string, string>;
}

function stringMap(value: unknown, path: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${path}: "config" must be an object of string values`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

export function readConnectorFile(path: string): ConnectorFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read connector file ${path}: ${(err as Error).message}`);
  }
  if (extname(path) === '.properties') {
    const config = Object.fromEntries(parseProperties(text));
    const name = config['name'] ?? basename(path, '.properties');
    delete config['name'];
    return { name, config };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`connector file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const obj = raw as Record<string, unknown>;
  if (obj && typeof obj === 'object' && 'config' in obj) {
    const config = stringMap(obj['config'], path);
    const name = typeof obj['name'] === 'string' ? obj['name'] : config['name'];
    if (!name) throw new InvalidArgumentError(`${path}: the connector needs a "name"`, [{ key: 'name', message: 'is required' }]);
    delete config['name'];
    return { name, config };
  }
  const config = stringMap(obj, path);
  const name = config['name'] ?? basename(path, extname(path));
  delete config['name'];
  return { name, config };
}
