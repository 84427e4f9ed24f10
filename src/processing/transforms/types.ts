/** The transform and predicate seams (Kafka Connect's Transformation and Predicate). */
import type { ComponentDefinition } from '../converters.js';
import type { ConnectRecord } from '../record.js';

export interface Transformation {
  /** The transformed record, or null to drop it (a filter). Never mutates `record`. */
  apply(record: ConnectRecord): ConnectRecord | null;
}

export interface Predicate {
  test(record: ConnectRecord): boolean;
}

export type TransformDefinition = ComponentDefinition<Transformation>;
export type PredicateDefinition = ComponentDefinition<Predicate>;
