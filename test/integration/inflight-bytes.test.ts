/**
 * Credits count bytes as well as records: with records of 32 KiB, a worker byte pool of 1 MiB
 * bounds what is in flight on the worker (the credits granted to sources), counted
 * exactly by the pool's high-water mark, while every record still arrives (counted by seq).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { countSeqs, quietLogger, readTopic, runAllPartitions, startDataPlane, uniqueName, type DataPlane } from '../support/data-plane.js';
import { PluginHost, sourcePlugin, type SourceReader } from '../../src/plugins/index.js';
import { verifiableSourceDefinition } from '../../src/connectors/verifiable-source/index.js';

const POOL_BYTES = 1024 * 1024;
const RECORD_BYTES = 32 * 1024;
const PARTITIONS = 4;
const RECORDS = 200;

/** The verifiable source with every value padded to RECORD_BYTES (still a verifiable value). */
const bigSource = sourcePlugin({
  ...verifiableSourceDefinition,
  name: 'big-record-source',
  async open(connector, partition, offset, signal) {
    const reader: SourceReader = await verifiableSourceDefinition.open(connector, partition, offset, signal);
    return {
      async poll(max, pollSignal) {
        const records = await reader.poll(max, pollSignal);
        return records.map((r) => {
          const seq = Number(Buffer.from(r.offset!).toString());
          const head = JSON.stringify({ partition: partition.id, seq, pad: '' });
          const value = JSON.stringify({ partition: partition.id, seq, pad: 'x'.repeat(RECORD_BYTES - head.length) });
          return { ...r, value: Buffer.from(value) };
        });
      },
    };
  },
});

describe('in-flight bytes are bounded by the worker byte pool (real broker)', () => {
  let dp: DataPlane;
  before(async () => {
    const plugins = new PluginHost({ logger: quietLogger });
    plugins.register({ name: 'big-record-source', source: { type: 'in-process', create: () => bigSource } });
    dp = await startDataPlane({ plugins, maxInFlightBytes: POOL_BYTES });
  });
  after(async () => {
    await dp.close();
  });

  test(`${PARTITIONS} source partitions of ${RECORDS} × 32 KiB records: bytes in flight never exceed the 1 MiB pool, and all arrive`, { timeout: 180_000 }, async () => {
    const pool = dp.worker.byteCredits;
    const topic = uniqueName('big');
    const name = uniqueName('big');
    // Unbounded, so all four keep contending (a finished source keeps its unused credits).
    await runAllPartitions(dp, name, {
      'connector.class': 'big-record-source',
      topic,
      partitions: String(PARTITIONS),
      'topic.creation.default.partitions': '2',
      // Per partition: half the pool, so four partitions contend for it.
      'max.inflight.bytes': String(POOL_BYTES / 2),
    });
    await eventually(async () => [...(await dp.offsets.readAll(name)).values()].filter((o) => Number(Buffer.from(o.offset).toString()) >= RECORDS - 1).length === PARTITIONS, {
      timeoutMs: 120_000,
      message: `every partition committed ${RECORDS} records`,
    });
    // A clean stop drains: what is committed then is exactly what reached Kafka.
    await dp.worker.closeConnector(name);
    const final = new Map([...(await dp.offsets.readAll(name))].map(([p, o]) => [p, Number(Buffer.from(o.offset).toString())]));
    assert.equal(pool.overdraftCount, 0, 'no record arrived larger than what was taken for it');
    assert.ok(pool.peakInUse <= POOL_BYTES, `bytes in flight peaked at ${pool.peakInUse}, over the pool of ${POOL_BYTES}`);
    assert.ok(pool.peakInUse > POOL_BYTES / 2, `the pool was the bound (peak ${pool.peakInUse} of ${POOL_BYTES})`);
    assert.equal(pool.inUse, 0, 'every byte came back once the connector closed');
    const expected = [...final.values()].reduce((n, last) => n + last + 1, 0);
    const counts = countSeqs([...(await readTopic(dp.brokers, topic, expected)).values()].flat());
    for (let i = 0; i < PARTITIONS; i++) {
      const c = counts.get(`p${i}`);
      assert.ok(c, `p${i} produced`);
      assert.deepEqual(c.missing, [], `p${i}: nothing missing`);
      assert.equal(c.max, final.get(`p${i}`), `p${i}: Kafka holds exactly what was committed`);
      assert.equal(c.duplicates, 0, `p${i}: a clean run repeats nothing`);
    }
    console.log(`# source: byte pool peak ${pool.peakInUse} of ${POOL_BYTES}`);
  });

});
