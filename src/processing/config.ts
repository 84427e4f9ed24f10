/**
 * Parses a connector's record-processing keys, the Kafka Connect way: `key.converter`,
 * `value.converter`, `header.converter` (each with its own `<prefix>.<key>` settings),
 * `transforms=a,b` with `transforms.a.type=…` (+ `predicate`, `negate`), `predicates=p` with
 * `predicates.p.type=…`, and `errors.*`. Every bad key is named in one InvalidArgumentError.
 * `knownKeys` tells validation which keys processing consumed, so the rest can be warned about.
 */
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';
import { ComponentConfig } from './component-config.js';
import { converterDefinitions, findDefinition, headerConverterDefinitions, type ComponentDefinition, type Converter, type HeaderConverter } from './converters.js';
import type { ErrorSettings } from './errors.js';
import type { Predicate, Transformation } from './transforms/types.js';
import { predicateDefinitions, transformDefinitions } from './transforms/index.js';

export interface ChainEntry {
  name: string;
  className: string;
  transform: Transformation;
  predicate: Predicate | undefined;
  negate: boolean;
}

export interface ProcessingSettings {
  keyConverter: Converter;
  valueConverter: Converter;
  headerConverter: HeaderConverter;
  chain: ChainEntry[];
  errors: ErrorSettings;
  /** Keys processing read (for unknown-key warnings). */
  knownKeys: Set<string>;
}

export const errorKeys = [
  'errors.retry.timeout',
  'errors.retry.delay.max.ms',
  'errors.tolerance',
  'errors.log.enable',
  'errors.log.include.messages',
  'errors.deadletterqueue.topic.name',
  'errors.deadletterqueue.topic.replication.factor',
  'errors.deadletterqueue.context.headers.enable',
] as const;

function subProps(config: Readonly<Record<string, string>>, prefix: string, known: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k.startsWith(prefix)) {
      out[k.slice(prefix.length)] = v;
      known.add(k);
    }
  }
  return out;
}

function build<T>(defs: ReadonlyArray<ComponentDefinition<T>>, className: string, key: string, prefix: string, config: Readonly<Record<string, string>>, known: Set<string>, problems: ConfigProblem[], what: string, isKey = false, exclude: readonly string[] = []): T | undefined {
  let def: ComponentDefinition<T>;
  try {
    def = findDefinition(defs, className, key, what);
  } catch (err) {
    if (err instanceof InvalidArgumentError) problems.push(...err.problems);
    return undefined;
  }
  const props = subProps(config, prefix, known);
  for (const k of exclude) delete props[k];
  const cc = new ComponentConfig(prefix, def.configKeys, props);
  for (const k of Object.keys(props)) {
    if (!def.configKeys.some((ck) => ck.name === k)) known.delete(prefix + k);
  }
  let made: T | undefined;
  try {
    made = def.create(cc, isKey);
  } catch (err) {
    if (err instanceof InvalidArgumentError) cc.problems.push(...(err.problems.length > 0 ? err.problems : [{ key, message: err.message }]));
    else throw err;
  }
  problems.push(...cc.problems);
  return cc.problems.length > 0 ? undefined : made;
}

function intKey(config: Readonly<Record<string, string>>, key: string, fallback: number, min: number, problems: ConfigProblem[]): number {
  const raw = config[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < min) {
    problems.push({ key, message: `must be an integer >= ${min}, got "${raw}"` });
    return fallback;
  }
  return n;
}

function boolKey(config: Readonly<Record<string, string>>, key: string, fallback: boolean, problems: ConfigProblem[]): boolean {
  const raw = config[key]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') {
    problems.push({ key, message: `must be "true" or "false", got "${config[key]}"` });
    return fallback;
  }
  return raw === 'true';
}

function names(config: Readonly<Record<string, string>>, key: string, problems: ConfigProblem[]): string[] {
  const raw = config[key];
  if (raw === undefined) return [];
  const list = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const seen = new Set<string>();
  for (const n of list) {
    if (seen.has(n)) problems.push({ key, message: `"${n}" is listed twice; names must be unique` });
    seen.add(n);
  }
  return [...seen];
}

export interface ParseOptions {
  kind: 'source' | 'sink';
  /** A sink's input topics, to refuse a dead-letter topic that is also an input. */
  topics?: string[] | undefined;
  topicsRegex?: RegExp | undefined;
  /**
   * The worker's `key.converter`, `value.converter`, `header.converter` and their `<prefix>.*`
   * settings (CompiledWorkerSettings.converterDefaults). As in Kafka Connect, a converter is taken
   * whole from the connector when the connector names its class, otherwise whole from the worker
   * when the worker names one: a connector's `value.converter.*` keys then have no effect (and are
   * warned about as unread), the worker's never mix into a connector-named converter.
   */
  workerDefaults?: Readonly<Record<string, string>> | undefined;
}

/** Where a converter's class and settings come from: the connector's config, or the worker's. */
function converterSource(config: Readonly<Record<string, string>>, key: string, workerDefaults: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (config[key]?.trim()) return config;
  if (workerDefaults?.[key]?.trim()) return workerDefaults;
  return config;
}

/** The keys a worker may set as converter defaults for every connector. */
export const WORKER_CONVERTER_KEY = /^(key|value|header)\.converter(\..+)?$/;

/** Parses the processing keys; throws InvalidArgumentError naming every bad key. */
export function parseProcessing(config: Readonly<Record<string, string>>, options: ParseOptions): ProcessingSettings {
  const problems: ConfigProblem[] = [];
  const known = new Set<string>();
  const converter = (which: 'key' | 'value'): Converter | undefined => {
    const key = `${which}.converter`;
    known.add(key);
    const source = converterSource(config, key, options.workerDefaults);
    const cls = source[key]?.trim() || 'org.apache.kafka.connect.converters.ByteArrayConverter';
    return build(converterDefinitions, cls, key, `${key}.`, source, source === config ? known : new Set(), problems, 'converter', which === 'key');
  };
  const keyConverter = converter('key');
  const valueConverter = converter('value');
  known.add('header.converter');
  const headerSource = converterSource(config, 'header.converter', options.workerDefaults);
  const headerConverter = build(headerConverterDefinitions, headerSource['header.converter']?.trim() || 'org.apache.kafka.connect.storage.SimpleHeaderConverter', 'header.converter', 'header.converter.', headerSource, headerSource === config ? known : new Set(), problems, 'header converter');

  known.add('predicates');
  const predicates = new Map<string, Predicate>();
  for (const name of names(config, 'predicates', problems)) {
    const typeKey = `predicates.${name}.type`;
    known.add(typeKey);
    const cls = config[typeKey]?.trim();
    if (!cls) {
      problems.push({ key: typeKey, message: `is required: the class of predicate "${name}"` });
      continue;
    }
    const p = build(predicateDefinitions, cls, typeKey, `predicates.${name}.`, config, known, problems, 'predicate', false, ['type']);
    if (p) predicates.set(name, p);
  }

  known.add('transforms');
  const chain: ChainEntry[] = [];
  const usedPredicates = new Set<string>();
  for (const name of names(config, 'transforms', problems)) {
    const typeKey = `transforms.${name}.type`;
    known.add(typeKey);
    const cls = config[typeKey]?.trim();
    if (!cls) {
      problems.push({ key: typeKey, message: `is required: the class of transform "${name}"` });
      continue;
    }
    const predicateKey = `transforms.${name}.predicate`;
    const negateKey = `transforms.${name}.negate`;
    known.add(predicateKey).add(negateKey);
    const predicateName = config[predicateKey]?.trim();
    let predicate: Predicate | undefined;
    if (predicateName) {
      predicate = predicates.get(predicateName);
      usedPredicates.add(predicateName);
      if (!predicate && !problems.some((p) => p.key.startsWith(`predicates.${predicateName}.`))) {
        problems.push({ key: predicateKey, message: `names predicate "${predicateName}", which is not listed in predicates` });
      }
    } else if (config[negateKey] !== undefined) {
      problems.push({ key: negateKey, message: 'is set but the transform has no predicate' });
    }
    const negate = boolKey(config, negateKey, false, problems);
    const transform = build(transformDefinitions, cls, typeKey, `transforms.${name}.`, config, known, problems, 'transform', false, ['type', 'predicate', 'negate']);
    const def = transformDefinitions.find((d) => d.className === cls || d.aliases.includes(cls));
    if (transform && def) chain.push({ name, className: def.className, transform, predicate, negate });
  }

  for (const k of errorKeys) known.add(k);
  const toleranceRaw = config['errors.tolerance']?.trim() || 'none';
  if (toleranceRaw !== 'none' && toleranceRaw !== 'all') problems.push({ key: 'errors.tolerance', message: `must be "none" or "all", got "${toleranceRaw}"` });
  const retryRaw = config['errors.retry.timeout']?.trim();
  let retryTimeoutMs = 0;
  if (retryRaw !== undefined && retryRaw !== '') {
    const n = Number(retryRaw);
    if (!Number.isSafeInteger(n) || n < -1) problems.push({ key: 'errors.retry.timeout', message: `must be -1 (retry forever) or a duration in ms, got "${retryRaw}"` });
    else retryTimeoutMs = n === -1 ? Number.MAX_SAFE_INTEGER : n;
  }
  const deadLetterTopic = config['errors.deadletterqueue.topic.name']?.trim() || undefined;
  if (deadLetterTopic !== undefined) {
    if (options.topics?.includes(deadLetterTopic) || options.topicsRegex?.test(deadLetterTopic)) {
      problems.push({ key: 'errors.deadletterqueue.topic.name', message: `"${deadLetterTopic}" is also an input topic of this connector; a dead-letter topic must not be read back` });
    }
    if (toleranceRaw !== 'all') {
      problems.push({ key: 'errors.deadletterqueue.topic.name', message: 'records reach the dead-letter topic only with errors.tolerance=all; set it, or remove the topic name' });
    }
  }
  const errors: ErrorSettings = {
    retryTimeoutMs,
    retryDelayMaxMs: intKey(config, 'errors.retry.delay.max.ms', 60_000, 1, problems),
    tolerance: toleranceRaw === 'all' ? 'all' : 'none',
    logEnable: boolKey(config, 'errors.log.enable', false, problems),
    logIncludeMessages: boolKey(config, 'errors.log.include.messages', false, problems),
    deadLetterTopic,
    deadLetterReplicationFactor: intKey(config, 'errors.deadletterqueue.topic.replication.factor', 3, -1, problems),
    contextHeaders: boolKey(config, 'errors.deadletterqueue.context.headers.enable', false, problems),
  };
  if (problems.length > 0) throw new InvalidArgumentError('invalid record-processing config', problems);
  return { keyConverter: keyConverter!, valueConverter: valueConverter!, headerConverter: headerConverter!, chain, errors, knownKeys: known };
}
