/**
 * Config references, Kafka Connect's config-provider syntax: `${env:NAME}` (an environment
 * variable of the worker) and `${file:/path/to/file.properties:key}` (a key of a properties file
 * on the worker, as FileConfigProvider reads it). They let a connector config name a secret
 * without holding it.
 *
 * Invariant: references are resolved only where a connector's runtime opens (and, to report
 * problems early, where a config is validated); the leader stores and returns exactly what the
 * operator sent, so a resolved secret never reaches etcd or an admin response. References to
 * other providers (`${vault:…}`) are left as they are, as Kafka Connect does for providers it
 * does not have.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { AllowedPaths } from '../util/allowed-paths.js';

/** Kafka Connect's ConfigTransformer pattern: `${provider:[path:]key}`. */
const REFERENCE = /\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}/g;
const PROVIDERS = new Set(['env', 'file']);

export interface ConfigReference {
  /** The text replaced, e.g. `${env:DB_PASSWORD}`. */
  raw: string;
  provider: 'env' | 'file';
  /** The file of a `file` reference; empty for `env`. */
  path: string;
  key: string;
}

export interface ResolveOptions {
  /** Environment to read `${env:…}` from (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Reads a file's text (default: fs); tests pass a fake. */
  readText?: (path: string) => Promise<string>;
  /**
   * The worker's `allowed.paths`: a `${file:…}` reference outside them is a problem of its key,
   * and the file is not read. Default: `$TRIBUTARY_ALLOWED_PATHS`; none when unset.
   */
  allowedPaths?: AllowedPaths;
}

/** The `env` and `file` references inside one value, in order. */
export function referencesIn(value: string): ConfigReference[] {
  const out: ConfigReference[] = [];
  for (const m of value.matchAll(REFERENCE)) {
    const provider = m[1]!;
    if (!PROVIDERS.has(provider)) continue;
    // `${env:NAME}` has no path; `${file:/p:key}` has one.
    out.push({ raw: m[0], provider: provider as 'env' | 'file', path: m[2] ?? '', key: m[3]! });
  }
  return out;
}

/** True when the value is made only of references (no literal text that could be a secret). */
export function isOnlyReferences(value: string): boolean {
  return referencesIn(value).length > 0 && value.replace(REFERENCE, '').trim() === '';
}

/** Parses Java `.properties` text: `k=v`, `k: v`, `k v`, comments, continuation lines, escapes. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '');
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the logical line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    const m = /^((?:\\.|[^=:\s\\])*)\s*(?:[=:]\s*|\s+|$)(.*)$/.exec(line);
    if (!m) continue;
    out.set(unescape(m[1]!), unescape(m[2]!));
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[c] ?? c;
  });
}

/**
 * Resolves every reference of `config`. Returns the resolved config and one problem per key whose
 * references cannot be resolved (the key keeps its unresolved value then). Files are read once.
 */
export async function tryResolveConfigReferences(config: Readonly<Record<string, string>>, options: ResolveOptions = {}): Promise<{ config: Record<string, string>; problems: ConfigProblem[] }> {
  const env = options.env ?? process.env;
  const read = options.readText ?? ((path: string) => readFile(path, 'utf8'));
  const allowed = options.allowedPaths ?? AllowedPaths.fromEnvironment();
  const readText = async (path: string): Promise<string> => {
    const outside = await allowed.problem(path);
    if (outside) throw new OutsideAllowedPaths(outside);
    return read(path);
  };
  const files = new Map<string, Promise<Map<string, string>>>();
  const fileOf = (path: string) => {
    let parsed = files.get(path);
    if (!parsed) {
      parsed = readText(path).then(parseProperties);
      files.set(path, parsed);
    }
    return parsed;
  };
  const resolved: Record<string, string> = { ...config };
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries(config)) {
    const refs = referencesIn(value);
    if (refs.length === 0) continue;
    const values = new Map<string, string>();
    const failures: string[] = [];
    for (const ref of refs) {
      if (values.has(ref.raw)) continue;
      const found = await lookUp(ref, env, fileOf);
      if (typeof found === 'string') values.set(ref.raw, found);
      else failures.push(found.problem);
    }
    if (failures.length > 0) {
      problems.push({ key, message: failures.join('; ') });
      continue;
    }
    resolved[key] = value.replace(REFERENCE, (raw) => values.get(raw) ?? raw);
  }
  return { config: resolved, problems };
}

/** A `${file:…}` path outside allowed.paths: reported as the key's problem, the file unread. */
class OutsideAllowedPaths extends Error {}

async function lookUp(ref: ConfigReference, env: NodeJS.ProcessEnv, fileOf: (path: string) => Promise<Map<string, string>>): Promise<string | { problem: string }> {
  if (ref.provider === 'env') {
    // `${env:NAME}` as Kafka's EnvVarConfigProvider writes it; a path part is not meaningful.
    if (ref.path) return { problem: `${ref.raw}: write environment references as \${env:NAME}` };
    const v = env[ref.key];
    return v === undefined ? { problem: `${ref.raw}: environment variable ${ref.key} is not set on the worker` } : v;
  }
  if (!ref.path) return { problem: `${ref.raw}: write file references as \${file:/path/to/file.properties:key}` };
  let properties: Map<string, string>;
  try {
    properties = await fileOf(ref.path);
  } catch (err) {
    if (err instanceof OutsideAllowedPaths) return { problem: `${ref.raw}: ${err.message}` };
    return { problem: `${ref.raw}: cannot read ${ref.path} on the worker: ${(err as Error).message}` };
  }
  const v = properties.get(ref.key);
  return v === undefined ? { problem: `${ref.raw}: ${ref.path} has no key "${ref.key}"` } : v;
}

/**
 * The config with every reference resolved; throws InvalidArgumentError naming each key whose
 * reference cannot be resolved here (missing variable, unreadable file, missing key).
 */
export async function resolveConfigReferences(config: Readonly<Record<string, string>>, options: ResolveOptions = {}): Promise<Record<string, string>> {
  const { config: resolved, problems } = await tryResolveConfigReferences(config, options);
  if (problems.length > 0) throw new InvalidArgumentError('unresolvable config references', problems);
  return resolved;
}
