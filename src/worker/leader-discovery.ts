/**
 * Partition discovery as the leader runs it, with this worker's plugins and Kafka: a source
 * connector's partitions come from its plugin's WatchPartitions (through a plugin instance
 * started for the purpose), a sink's from topic metadata.
 */
import type { Logger } from 'pino';
import { ConnectorKind, type StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import type { ConnectorRecord, PartitionRecord } from '../coordinator/index.js';
import { parseConnectorSettings } from './connector-settings.js';
import { sinkPartitions, sourcePartitions } from './partition-discovery.js';
import type { Worker } from './worker.js';

export function toPartitionRecord(p: StreamPartition): PartitionRecord {
  return { id: p.id, attributes: { ...p.attributes }, topic: p.topic, kafkaPartition: p.kafkaPartition };
}

export async function* discoverPartitions(
  worker: Worker,
  connector: ConnectorRecord,
  signal: AbortSignal,
  topicDiscoveryIntervalMs: number,
  logger: Logger,
): AsyncGenerator<{ snapshot: boolean; added: PartitionRecord[]; removed: string[] }> {
  const pluginName = connector.config['connector.class'] || connector.config['plugin'] || '';
  const description = await worker.plugins.describe(pluginName);
  if (description.kind === ConnectorKind.SINK) {
    const settings = parseConnectorSettings(connector.name, connector.config, 'sink');
    for await (const change of sinkPartitions(worker.admin, settings, topicDiscoveryIntervalMs, signal, logger)) {
      yield { snapshot: change.snapshot, added: change.added.map(toPartitionRecord), removed: change.removed };
    }
    return;
  }
  const instance = await worker.plugins.start(pluginName, { logger });
  try {
    for await (const change of sourcePartitions(instance.plugin, { name: connector.name, config: connector.config }, signal, logger)) {
      yield { snapshot: change.snapshot, added: change.added.map(toPartitionRecord), removed: change.removed };
    }
  } finally {
    await instance.close();
  }
}
