/** Kafka Connect's predicates (org.apache.kafka.connect.transforms.predicates). */
import { T } from '../component-config.js';
import type { PredicateDefinition } from './types.js';

const PKG = 'org.apache.kafka.connect.transforms.predicates.';

export const builtinPredicates: PredicateDefinition[] = [
  {
    className: `${PKG}TopicNameMatches`,
    aliases: ['TopicNameMatches'],
    summary: 'A predicate which is true for records with a topic name that matches the configured regular expression',
    configKeys: [{ name: 'pattern', type: T.STRING, required: true, documentation: 'A Java regular expression for matching against the name of a record\'s topic.' }],
    create(c) {
      const raw = c.required('pattern');
      let re: RegExp | undefined;
      try {
        re = new RegExp(`^(?:${raw})$`);
      } catch (err) {
        c.problem('pattern', `is not a valid regular expression: ${(err as Error).message}`);
      }
      return { test: (r) => re?.test(r.topic) ?? false };
    },
  },
  {
    className: `${PKG}HasHeaderKey`,
    aliases: ['HasHeaderKey'],
    summary: 'A predicate which is true for records with at least one header with the configured name',
    configKeys: [{ name: 'name', type: T.STRING, required: true, documentation: 'The header name.' }],
    create(c) {
      const name = c.required('name');
      return { test: (r) => r.headers.some((h) => h.key === name) };
    },
  },
  {
    className: `${PKG}RecordIsTombstone`,
    aliases: ['RecordIsTombstone'],
    summary: 'A predicate which is true for records which are tombstones (i.e. have null value)',
    configKeys: [],
    create: () => ({ test: (r) => r.value === null }),
  },
];
