/**
 * Config of one converter, transform or predicate: its keys (as a plugin's ConfigKeys, so
 * ListPlugins can show them) and typed access to a props map already stripped of its prefix
 * (`value.converter.`, `transforms.<name>.`, `predicates.<name>.`). Problems are collected
 * with the full key name so one InvalidArgumentError can name every bad key.
 */
import { ConfigType } from '../gen/tributary/connector/v1/connector_pb.js';
import { validateConfig } from '../plugins/index.js';
import type { ConfigProblem } from '../errors.js';

export interface ComponentKey {
  name: string;
  type: ConfigType;
  defaultValue?: string;
  required?: boolean;
  documentation: string;
  allowedValues?: string[];
  /** A credential: shown as hidden, never logged. */
  secret?: boolean;
}

export class ComponentConfig {
  readonly problems: ConfigProblem[] = [];

  constructor(
    /** Prefix of every key in the connector config, e.g. `transforms.addTs.`. */
    readonly prefix: string,
    readonly keys: readonly ComponentKey[],
    readonly props: Readonly<Record<string, string>>,
  ) {
    for (const p of validateConfig(keys, props)) this.problems.push({ key: prefix + p.key, message: p.message });
  }

  private raw(name: string): string | undefined {
    const v = this.props[name];
    if (v !== undefined) return v;
    return this.keys.find((k) => k.name === name)?.defaultValue;
  }

  string(name: string): string | undefined {
    return this.raw(name);
  }

  /** A required string; records a problem and returns '' when absent or empty. */
  required(name: string): string {
    const v = this.raw(name);
    if (v === undefined || v === '') {
      if (!this.problems.some((p) => p.key === this.prefix + name)) this.problems.push({ key: this.prefix + name, message: 'is required' });
      return '';
    }
    return v;
  }

  int(name: string, fallback = 0): number {
    const v = this.raw(name);
    if (v === undefined || v.trim() === '') return fallback;
    const n = Number(v.trim());
    return Number.isSafeInteger(n) ? n : fallback;
  }

  bool(name: string, fallback = false): boolean {
    const v = this.raw(name);
    if (v === undefined || v.trim() === '') return fallback;
    return v.trim().toLowerCase() === 'true';
  }

  list(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  problem(name: string, message: string): void {
    this.problems.push({ key: this.prefix + name, message });
  }
}

export const T = ConfigType;
