/**
 * Checks a connector config (a string map, as in Kafka Connect) against a plugin's config spec
 * (`ConfigKey`s from Describe). The worker, the admin API and the plugin SDK all use these same
 * checks, so an operator sees the same per-key problems wherever a config is validated.
 *
 * Unknown keys are not problems: connector configs also carry worker-level keys (converters,
 * transforms, `errors.*`) that the plugin does not know about.
 */
import type { ConfigProblem } from '../errors.js';
import { ConfigType } from '../gen/tributary/connector/v1/connector_pb.js';

/** The parts of a `ConfigKey` these checks read; accepts protobuf messages and plain objects. */
export interface ConfigKeySpec {
  name: string;
  type?: ConfigType;
  defaultValue?: string | undefined;
  required?: boolean;
  allowedValues?: readonly string[];
}

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Splits a LIST value: comma-separated, entries trimmed, empty entries dropped. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function typeProblem(type: ConfigType | undefined, value: string): string | undefined {
  const v = value.trim();
  switch (type) {
    case ConfigType.INT: {
      if (!INT.test(v)) return `must be an integer, got "${value}"`;
      if (!Number.isSafeInteger(Number(v))) return `is out of range: "${value}"`;
      return undefined;
    }
    case ConfigType.DOUBLE:
      return DECIMAL.test(v) && Number.isFinite(Number(v)) ? undefined : `must be a number, got "${value}"`;
    case ConfigType.BOOLEAN:
      return /^(true|false)$/i.test(v) ? undefined : `must be "true" or "false", got "${value}"`;
    case ConfigType.DURATION_MS: {
      if (!INT.test(v) || Number(v) < 0) return `must be a duration in milliseconds (a non-negative integer), got "${value}"`;
      if (!Number.isSafeInteger(Number(v))) return `is out of range: "${value}"`;
      return undefined;
    }
    default:
      // STRING, LIST and unspecified accept any string.
      return undefined;
  }
}

/**
 * Returns one problem per offending key (empty when the config is valid): required keys that are
 * missing or empty, values that do not parse as their type, values outside `allowed_values`
 * (for LIST keys, every entry must be allowed). Defaults are not checked: they are the plugin's.
 */
export function validateConfig(keys: readonly ConfigKeySpec[], config: Readonly<Record<string, string>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of keys) {
    const value = Object.hasOwn(config, key.name) ? config[key.name] : undefined;
    if (value === undefined) {
      if (key.required && key.defaultValue === undefined) problems.push({ key: key.name, message: 'is required' });
      continue;
    }
    if (value.trim() === '' && key.type !== ConfigType.LIST) {
      if (key.required) problems.push({ key: key.name, message: 'is required and must not be empty' });
      else if (key.type !== undefined && key.type !== ConfigType.STRING && key.type !== ConfigType.UNSPECIFIED) {
        problems.push({ key: key.name, message: typeProblem(key.type, value) ?? 'must not be empty' });
      }
      continue;
    }
    const typeError = typeProblem(key.type, value);
    if (typeError) {
      problems.push({ key: key.name, message: typeError });
      continue;
    }
    const allowed = key.allowedValues ?? [];
    if (allowed.length > 0) {
      const entries = key.type === ConfigType.LIST ? parseList(value) : [value];
      const bad = entries.filter((e) => !allowed.includes(e));
      if (bad.length > 0) {
        problems.push({ key: key.name, message: `${bad.map((b) => `"${b}"`).join(', ')} is not one of ${allowed.map((a) => `"${a}"`).join(', ')}` });
      }
    }
  }
  return problems;
}

/** A copy of `config` with every absent key that has a default set to it. */
export function applyDefaults(keys: readonly ConfigKeySpec[], config: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = { ...config };
  for (const key of keys) {
    if (!Object.hasOwn(result, key.name) && key.defaultValue !== undefined) result[key.name] = key.defaultValue;
  }
  return result;
}

/** Parses an INT or DURATION_MS value already checked by `validateConfig`; `fallback` when absent. */
export function configInt(config: Readonly<Record<string, string>>, key: string, fallback?: number): number {
  const raw = config[key];
  if (raw === undefined || raw.trim() === '') {
    if (fallback === undefined) throw new Error(`config key "${key}" is missing`);
    return fallback;
  }
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value)) throw new Error(`config key "${key}" must be an integer, got "${raw}"`);
  return value;
}

/** Parses a BOOLEAN value; `fallback` when absent. */
export function configBoolean(config: Readonly<Record<string, string>>, key: string, fallback = false): boolean {
  const raw = config[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.trim().toLowerCase() === 'true';
}
