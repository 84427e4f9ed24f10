/**
 * The connector keys Tributary reads itself (beside each plugin's own), as ConfigKeys, so
 * ValidateConfig can show them next to the plugin's spec. The parsing rules live in
 * src/worker/connector-settings.ts; a unit test checks this list covers every key it reads, and
 * docs/configuration.md shows the same table.
 */
import { create } from '@bufbuild/protobuf';
import { ConfigKeySchema, ConfigType, type ConfigKey } from '../gen/tributary/connector/v1/connector_pb.js';

type KeyInit = Pick<ConfigKey, 'name' | 'type' | 'documentation'> & { defaultValue?: string; required?: boolean; allowedValues?: string[] };

const keys: KeyInit[] = [
  { name: 'name', type: ConfigType.STRING, documentation: 'The connector name (in a Kafka Connect JSON file it sits beside "config"): letters, digits, ".", "_", "-".' },
  { name: 'connector.class', type: ConfigType.STRING, required: true, documentation: 'The plugin to run (tributary plugins list). "plugin" is accepted as an alias.' },
  { name: 'plugin', type: ConfigType.STRING, documentation: 'Alias of connector.class.' },
  { name: 'tasks.max', type: ConfigType.INT, documentation: "The most workers that run this connector's stream partitions at once (each runs one plugin instance for it: Kafka Connect's task). Unset: no cap, partitions spread over every worker. docs/configuration.md#tasksmax." },
  { name: 'topic', type: ConfigType.STRING, documentation: "A source's default target topic (records may name their own)." },
  { name: 'topics', type: ConfigType.LIST, documentation: "A sink's input topics, comma separated. A sink needs exactly one of topics and topics.regex." },
  { name: 'topics.regex', type: ConfigType.STRING, documentation: "A sink's input topics as a regular expression (matched against whole topic names)." },
  { name: 'delivery.guarantee', type: ConfigType.STRING, defaultValue: 'at-least-once', allowedValues: ['at-least-once', 'at-most-once', 'exactly-once'], documentation: 'When offsets are committed: after Kafka acknowledged the records (at-least-once), before they are produced (at-most-once), or in the same Kafka transaction as the records (exactly-once, sources; a sink reads read_committed and relies on a plugin that stores offsets with its data). docs/exactly-once.md.' },
  { name: 'exactly.once.support', type: ConfigType.STRING, defaultValue: 'requested', allowedValues: ['requested', 'required'], documentation: "Kafka Connect's spelling (KIP-618): required makes a source exactly-once, like delivery.guarantee=exactly-once." },
  { name: 'transaction.boundary', type: ConfigType.STRING, defaultValue: 'poll', allowedValues: ['poll', 'interval', 'connector'], documentation: 'Exactly-once sources: where a Kafka transaction ends: after every record batch of the plugin (poll), every transaction.boundary.interval.ms (interval), or where the plugin sets commit_transaction on a batch (connector).' },
  { name: 'transaction.boundary.interval.ms', type: ConfigType.INT, defaultValue: '60000', documentation: 'Exactly-once sources with transaction.boundary=interval: how long a transaction stays open.' },
  { name: 'offsets.storage.topic', type: ConfigType.STRING, documentation: "Exactly-once sources: the compacted topic for this connector's offsets instead of the worker's offset.storage.topic." },
  { name: 'consumer.auto.offset.reset', type: ConfigType.STRING, defaultValue: 'earliest', allowedValues: ['earliest', 'latest'], documentation: 'Where a sink partition with no committed offset (and no connect-<name> group offset) starts.' },
  { name: 'max.inflight.records', type: ConfigType.INT, defaultValue: '10000', documentation: 'Records in flight per stream partition: credits granted to a source, unflushed records of a sink.' },
  { name: 'max.inflight.bytes', type: ConfigType.INT, defaultValue: String(64 * 1024 * 1024), documentation: 'Bytes (key + value + headers) in flight per stream partition, beside max.inflight.records; taken from the worker byte pool.' },
  { name: 'task.restart.max.attempts', type: ConfigType.INT, defaultValue: '10', documentation: 'Automatic restarts of a FAILED partition before it stays FAILED (0 = never). Resets once the partition commits again.' },
  { name: 'task.restart.backoff.initial.ms', type: ConfigType.INT, defaultValue: '1000', documentation: 'Wait before the first automatic restart; doubles per attempt (jittered).' },
  { name: 'task.restart.backoff.max.ms', type: ConfigType.INT, defaultValue: '60000', documentation: 'Cap of the wait between automatic restarts.' },
  { name: 'producer.override.compression.type', type: ConfigType.STRING, defaultValue: 'none', allowedValues: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], documentation: "Compression of a source's produced batches." },
  { name: 'topic.creation.default.partitions', type: ConfigType.INT, documentation: "When set, a source creates its topic with this many partitions if it does not exist (Kafka Connect's KIP-158)." },
  { name: 'topic.creation.default.replication.factor', type: ConfigType.INT, defaultValue: '-1', documentation: 'Replication factor of a topic created that way; -1 uses the broker default.' },
];

/** Tributary's own connector keys, grouped as "Tributary" in a ValidateConfig answer. */
export function tributaryConnectorKeys(): ConfigKey[] {
  return keys.map((k) => create(ConfigKeySchema, { ...k, group: 'Tributary' }));
}
