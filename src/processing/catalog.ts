/**
 * What ListPlugins shows of record processing (as Kafka Connect's
 * `/connector-plugins?connectorsOnly=false`), and which config keys processing reads, so
 * validation can warn about the keys nobody reads.
 */
import type { ComponentDefinition } from './converters.js';
import { converterDefinitions, headerConverterDefinitions } from './converters.js';
import { parseProcessing, errorKeys } from './config.js';
import { predicateDefinitions, transformDefinitions } from './transforms/index.js';
import type { ComponentKey } from './component-config.js';

export interface ProcessingPluginInfo {
  name: string;
  type: 'converter' | 'header_converter' | 'transformation' | 'predicate';
  aliases: string[];
  summary: string;
  configKeys: Array<ComponentKey & { group: string }>;
}

function info<T>(defs: ReadonlyArray<ComponentDefinition<T>>, type: ProcessingPluginInfo['type']): ProcessingPluginInfo[] {
  return defs.map((d) => ({ name: d.className, type, aliases: [...d.aliases], summary: d.summary, configKeys: d.configKeys.map((k) => ({ ...k, group: type })) }));
}

/** Every converter, header converter, transform and predicate, with its config spec. */
export function processingPlugins(): ProcessingPluginInfo[] {
  return [...info(converterDefinitions, 'converter'), ...info(headerConverterDefinitions, 'header_converter'), ...info(transformDefinitions, 'transformation'), ...info(predicateDefinitions, 'predicate')];
}

const PATTERNS = [/^(key|value|header)\.converter(\..+)?$/, /^transforms(\.[^.]+\.(type|predicate|negate))?$/, /^predicates(\.[^.]+\.type)?$/];

/**
 * The keys of `config` that record processing reads. When the processing config does not parse
 * (its errors are reported anyway), every key under a processing prefix counts as read.
 */
export function processingKeysIn(config: Readonly<Record<string, string>>, kind: 'source' | 'sink', workerDefaults?: Readonly<Record<string, string>>): Set<string> {
  try {
    return parseProcessing(config, { kind, workerDefaults }).knownKeys;
  } catch {
    const out = new Set<string>(errorKeys);
    for (const k of Object.keys(config)) if (PATTERNS.some((p) => p.test(k)) || /^(transforms|predicates)\./.test(k)) out.add(k);
    return out;
  }
}

/** Keys of `config` that neither `alsoKnown` (worker and plugin keys) nor record processing reads, sorted. */
export function unknownKeys(config: Readonly<Record<string, string>>, alsoKnown: Iterable<string>, kind: 'source' | 'sink', workerDefaults?: Readonly<Record<string, string>>): string[] {
  const known = new Set<string>([...alsoKnown, ...processingKeysIn(config, kind, workerDefaults)]);
  return Object.keys(config)
    .filter((k) => !known.has(k))
    .sort();
}
