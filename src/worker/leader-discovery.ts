/**
 * What the leader needs from this worker's plugins and Kafka: partition discovery (a source
 * connector's partitions come from its plugin's WatchPartitions, through a plugin instance
 * started for the purpose; a sink's from topic metadata) and the plugins' lifecycle hooks.
 */
import type { Logger } from 'pino';
import { ConnectorKind, type StreamPartition } from '../gen/tributary/connector/v1/connector_pb.js';
import type { ConnectorLifecycle, ConnectorRecord, PartitionRecord } from '../coordinator/index.js';
import type { PluginInstance } from '../plugins/index.js';
import { resolveConfigReferences } from './config-references.js';
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
  // Discovery runs with the config as the connector's tasks see it: references resolved here.
  const config = await resolveConfigReferences(connector.config, { allowedPaths: worker.allowedPaths });
  const pluginName = config['connector.class'] || config['plugin'] || '';
  const description = await worker.plugins.describe(pluginName);
  if (description.kind === ConnectorKind.SINK) {
    const settings = parseConnectorSettings(connector.name, config, 'sink');
    for await (const change of sinkPartitions(worker.admin, settings, topicDiscoveryIntervalMs, signal, logger)) {
      yield { snapshot: change.snapshot, added: change.added.map(toPartitionRecord), removed: change.removed };
    }
    return;
  }
  const lease = await worker.instances.acquire(connector.name, pluginName);
  try {
    for await (const change of sourcePartitions(lease.instance.plugin, { name: connector.name, config }, signal)) {
      yield { snapshot: change.snapshot, added: change.added.map(toPartitionRecord), removed: change.removed };
    }
  } finally {
    await lease.release();
  }
}

/** The plugins' once-per-connector hooks, called through the connector's shared plugin instance. */
export function pluginLifecycle(worker: Worker, timeoutMs: number): ConnectorLifecycle {
  const call = async (record: ConnectorRecord, hook: (plugin: PluginInstance['plugin'], config: Record<string, string>) => Promise<unknown>) => {
    const config = await resolveConfigReferences(record.config, { allowedPaths: worker.allowedPaths });
    const lease = await worker.instances.acquire(record.name, config['connector.class'] || config['plugin'] || '');
    try {
      await hook(lease.instance.plugin, config);
    } finally {
      await lease.release();
    }
  };
  return {
    created: (record) => call(record, (p, config) => p.connectorCreated({ connector: { name: record.name, config } }, { timeoutMs })),
    updated: (record, previous) => call(record, (p, config) => p.connectorUpdated({ connector: { name: record.name, config }, previousConfig: previous.config }, { timeoutMs })),
    deleted: (record) => call(record, (p, config) => p.connectorDeleted({ connector: { name: record.name, config } }, { timeoutMs })),
  };
}
