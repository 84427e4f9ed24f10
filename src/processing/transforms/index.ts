/**
 * Every transform and predicate a connector config can name, by Kafka Connect class name or
 * short alias. `registerTransform` / `registerPredicate` add more (in-process extensions).
 */
import type { PredicateDefinition, TransformDefinition } from './types.js';
import { builtinTransforms } from './builtin.js';
import { builtinPredicates } from './predicates.js';

export const transformDefinitions: TransformDefinition[] = [...builtinTransforms];
export const predicateDefinitions: PredicateDefinition[] = [...builtinPredicates];

export function registerTransform(def: TransformDefinition): void {
  if (!transformDefinitions.some((d) => d.className === def.className)) transformDefinitions.push(def);
}

export function registerPredicate(def: PredicateDefinition): void {
  if (!predicateDefinitions.some((d) => d.className === def.className)) predicateDefinitions.push(def);
}

export type { Transformation, Predicate, TransformDefinition, PredicateDefinition } from './types.js';
