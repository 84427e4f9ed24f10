/**
 * Finds a connector's stream partitions. A source asks its plugin (WatchPartitions: a snapshot,
 * then changes); a sink's partitions are the Kafka topic-partitions of its `topics` /
 * `topics.regex`, found from topic metadata and re-checked on an interval, so new matching
 * topics and added partitions are picked up while running.
 */
import type { Logger } from 'pino';
import type { StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import { create } from '@bufbuild/protobuf';
import { StreamPartitionSchema } from '../gen/tributary/connector/v1/connector_pb.js';
import type { TopicAdmin } from '../kafka/index.js';
import type { ConnectorPlugin } from '../plugins/index.js';
import { UnavailableError, describeError, isRetriable } from '../errors.js';
import { iterateUntil, sleep } from '../util/iterate.js';
import type { ConnectorSettings } from './connector-settings.js';

export interface PartitionChange {
  /** True when `added` lists the complete current set (anything not in it is gone). */
  snapshot: boolean;
  added: StreamPartition[];
  removed: string[];
}

/** The stream partition id of a sink's topic-partition. */
export function sinkPartitionId(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * A source's partitions from its plugin's WatchPartitions. Errors, and the plugin ending the
 * stream, are thrown to the caller, which retries and shows the error in the connector's status.
 */
export async function* sourcePartitions(plugin: ConnectorPlugin, connector: { name: string; config: Record<string, string> }, signal: AbortSignal): AsyncGenerator<PartitionChange> {
  for await (const change of iterateUntil(plugin.watchPartitions({ connector }, { signal }), signal)) {
    yield { snapshot: change.snapshot, added: change.added, removed: change.removed };
  }
  if (!signal.aborted) throw new UnavailableError(`the plugin of connector "${connector.name}" ended WatchPartitions; watching again`);
}

export async function* sinkPartitions(
  admin: TopicAdmin,
  settings: ConnectorSettings,
  intervalMs: number,
  signal: AbortSignal,
  logger: Logger,
): AsyncGenerator<PartitionChange> {
  let known = new Map<string, StreamPartition>();
  let first = true;
  while (!signal.aborted) {
    try {
      const names = settings.topics ?? (await admin.listTopics()).filter((t) => settings.topicsRegex!.test(t) && !t.startsWith('__'));
      const described = await admin.describeTopics(names);
      const current = new Map<string, StreamPartition>();
      for (const topic of described) {
        for (let p = 0; p < topic.partitions; p++) {
          const id = sinkPartitionId(topic.name, p);
          current.set(id, known.get(id) ?? create(StreamPartitionSchema, { id, topic: topic.name, kafkaPartition: p, attributes: { topic: topic.name, partition: String(p) } }));
        }
      }
      const added = [...current.values()].filter((p) => first || !known.has(p.id));
      const removed = [...known.keys()].filter((id) => !current.has(id));
      if (first || added.length > 0 || removed.length > 0) yield { snapshot: first, added: first ? [...current.values()] : added, removed };
      known = current;
      first = false;
    } catch (err) {
      if (signal.aborted) return;
      if (!isRetriable(err)) throw err;
      logger.warn({ err: describeError(err).message }, 'topic metadata lookup failed; retrying');
    }
    await sleep(intervalMs, signal);
  }
}
