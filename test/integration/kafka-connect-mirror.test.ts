/**
 * MirrorMaker 2's MirrorSourceConnector (connect-mirror 4.1.1 from Maven Central), unmodified,
 * through the Kafka Connect bridge and one worker, with its documented connector config:
 * source and target are the local broker under two aliases, so `<topic>` is replicated to
 * `src.<topic>` (DefaultReplicationPolicy). Its task configs (topic-partitions per task)
 * become stream partitions; every record arrives once, on the same Kafka partition, with its
 * key and value bytes (ByteArrayConverter in the bridge, as MM2 deployments configure).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { StreamPartition } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import { PluginHost } from '../../src/plugins/index.js';
import { kafkaClient, readTopic, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { bridgePluginPath, buildBridge, CONNECT_MIRROR, connectPluginDir, MIRROR_SOURCE } from '../support/kafka-connect.js';

const BYTES = 'org.apache.kafka.connect.converters.ByteArrayConverter';

describe('MirrorSourceConnector through the Kafka Connect bridge', { timeout: 600_000 }, () => {
  let dp: DataPlane;
  let pluginPath: string;
  before(async () => {
    buildBridge();
    pluginPath = bridgePluginPath([{ connectorClass: MIRROR_SOURCE, pluginDir: connectPluginDir('connect-mirror-4.1.1', CONNECT_MIRROR) }]);
    const plugins = new PluginHost({ startTimeoutMs: 60_000 });
    await plugins.loadDirectory(pluginPath);
    dp = await startDataPlane({ plugins });
  });
  after(async () => {
    await dp?.close();
    if (pluginPath) rmSync(pluginPath, { recursive: true, force: true });
  });

  test('replicates every record of a topic to src.<topic>, partition by partition', async () => {
    const topic = uniqueName('mirror');
    const n = 2_000;
    const kafka = kafkaClient(dp.brokers);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })) });
    await producer.disconnect();

    const bootstrap = dp.brokers.join(',');
    const config = {
      'connector.class': MIRROR_SOURCE,
      'source.cluster.alias': 'src',
      'target.cluster.alias': 'dst',
      'source.cluster.bootstrap.servers': bootstrap,
      'target.cluster.bootstrap.servers': bootstrap,
      topics: topic,
      'tasks.max': '2',
      'replication.factor': '1',
      'offset-syncs.topic.replication.factor': '1',
      'sync.topic.acls.enabled': 'false',
      'refresh.topics.interval.seconds': '1',
      'bridge.key.converter': BYTES,
      'bridge.value.converter': BYTES,
    };
    const runtime = await dp.worker.openConnector('mirror', config);
    // MM2 finds the source topic-partitions after start(); its first task configs may be empty
    // and then come through requestTaskReconfiguration() as a partition change.
    const started: StreamPartition[] = [];
    for await (const change of runtime.plugin.plugin.watchPartitions({ connector: { name: 'mirror', config } }, { signal: AbortSignal.timeout(120_000) })) {
      for (const p of change.added) {
        await runtime.startPartition(p, 1n);
        started.push(p);
      }
      if (started.length > 0) break;
    }
    assert.ok(started.every((p) => /^task-\d$/.test(p.id)));

    const mirrored = await readTopic(dp.brokers, `src.${topic}`, n, 120_000);
    const records = [...mirrored.entries()].flatMap(([partition, list]) => list.map((r) => ({ partition, key: r.key, value: r.value?.toString() })));
    assert.equal(records.length, n, 'every record once');
    for (const r of records) {
      const i = Number(r.key!.slice(1));
      assert.equal(r.value, `v${i}`);
      assert.equal(r.partition, i % 2, 'same Kafka partition as the source');
    }
    await runtime.stop();
  });
});
