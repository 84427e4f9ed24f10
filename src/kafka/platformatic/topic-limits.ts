/**
 * Looks up topics' max.message.bytes after the broker rejected a batch as too large, so the
 * error can name the limit (the broker's answer does not). Error path only: a short-lived admin
 * client, and an empty answer rather than a second failure if the lookup fails.
 */
import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import type { CompiledConnection } from '../config.js';
import { estimateBytes } from '../send-queue.js';
import type { ProducerRecord } from '../types.js';
import { baseOptions } from './options.js';

export async function lookupMaxMessageBytes(conn: CompiledConnection, topics: readonly string[]): Promise<Map<string, number>> {
  const limits = new Map<string, number>();
  const admin = new Admin({ ...baseOptions(conn), retries: 1 });
  try {
    const described = await admin.describeConfigs({
      resources: [...new Set(topics)].map((name) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: name,
        configurationKeys: ['max.message.bytes'],
      })),
    });
    for (const resource of described) {
      const value = resource.configs.find((c) => c.name === 'max.message.bytes')?.value;
      if (value != null && /^\d+$/.test(value)) limits.set(resource.resourceName, Number(value));
    }
  } catch {
    // The original error is what matters; it is reported without the limit.
  } finally {
    await admin.close().catch(() => undefined);
  }
  return limits;
}

/** Topics with a record over their limit (all topics of the request when none is known to be). */
export function oversizedTopics(records: readonly ProducerRecord[], limits: ReadonlyMap<string, number>): string[] {
  const culprits = new Set<string>();
  for (const r of records) {
    const limit = limits.get(r.topic);
    if (limit !== undefined && estimateBytes(r) > limit) culprits.add(r.topic);
  }
  return culprits.size > 0 ? [...culprits] : [...new Set(records.map((r) => r.topic))];
}
