/**
 * Drives a plugin's Read and Write streams the way the worker does, in-process, for tests at the
 * plugin boundary: credits and acks for sources (checking that no batch exceeds the credits),
 * open / batches / flush for sinks.
 */
import assert from 'node:assert/strict';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ReadRequestSchema, ReadResponse, RecordSchema, WriteRequestSchema, WriteResponse } from '../../src/gen/tributary/connector/v1/connector_pb.js';
import type { ConnectorPlugin, PluginRecord } from '../../src/plugins/index.js';
import { AsyncQueue } from '../../src/util/async-queue.js';

type ReadRequestInit = MessageInitShape<typeof ReadRequestSchema>;
type WriteRequestInit = MessageInitShape<typeof WriteRequestSchema>;
export type RecordInit = MessageInitShape<typeof RecordSchema>;

export function openRead(plugin: ConnectorPlugin, connector: { name: string; config: Record<string, string> }, partition: string, offset?: Uint8Array) {
  const requests = new AsyncQueue<ReadRequestInit>();
  const iterator = plugin.read(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { connector, partition: { id: partition }, offset } } });
  let granted = 0;
  let received = 0;
  let acked = 0n;
  const next = () => iterator.next() as Promise<IteratorResult<ReadResponse>>;
  return {
    get received() {
      return received;
    },
    credit(records: number) {
      granted += records;
      requests.push({ kind: { case: 'credit', value: { records } } });
    },
    /** Acknowledges every record through `record` (as the worker does once Kafka stored them). */
    ack(record: PluginRecord, count: number) {
      acked += BigInt(count);
      requests.push({ kind: { case: 'ack', value: { offset: record.offset, records: acked } } });
    },
    async batch(): Promise<PluginRecord[]> {
      const { value, done } = await next();
      assert.equal(done, false, 'the Read stream ended early');
      if (value!.kind.case !== 'batch') assert.fail(`expected a batch, got ${value!.kind.case}`);
      const records = value!.kind.value.records;
      assert.ok(records.length > 0, 'an empty batch was sent');
      received += records.length;
      assert.ok(received <= granted, `received ${received} records with only ${granted} credits granted`);
      return records;
    },
    /** Reads batches until at least `count` more records arrived. */
    async records(count: number): Promise<PluginRecord[]> {
      const out: PluginRecord[] = [];
      while (out.length < count) out.push(...(await this.batch()));
      return out;
    },
    async drainAndEnd(): Promise<{ lastOffset: Uint8Array | undefined; records: bigint }> {
      requests.push({ kind: { case: 'drain', value: {} } });
      for (;;) {
        const { value, done } = await next();
        assert.equal(done, false, 'the Read stream ended before drained');
        if (value!.kind.case === 'batch') {
          received += value!.kind.value.records.length;
          continue;
        }
        if (value!.kind.case !== 'drained') assert.fail(`expected drained, got ${value!.kind.case}`);
        requests.end();
        assert.equal((await next()).done, true);
        return { lastOffset: value!.kind.value.lastOffset, records: value!.kind.value.records };
      }
    },
    /** Ends the stream abruptly (as when a worker dies). */
    abort() {
      requests.end();
      void iterator.return?.(undefined);
    },
  };
}

export async function openWrite(plugin: ConnectorPlugin, connector: { name: string; config: Record<string, string> }, partition: { id: string; topic: string; kafkaPartition: number }, committedOffset?: bigint) {
  const requests = new AsyncQueue<WriteRequestInit>();
  const iterator = plugin.write(requests)[Symbol.asyncIterator]();
  requests.push({ kind: { case: 'open', value: { connector, partition, committedOffset } } });
  const next = () => iterator.next() as Promise<IteratorResult<WriteResponse>>;
  const first = await next();
  if (first.value?.kind.case !== 'opened') assert.fail(`expected opened, got ${first.value?.kind.case}`);
  return {
    resumeAfterOffset: first.value.kind.value.resumeAfterOffset,
    write(records: RecordInit[]) {
      requests.push({ kind: { case: 'batch', value: { records } } });
    },
    /** Flushes and returns the durable offset. */
    async flush(): Promise<bigint> {
      requests.push({ kind: { case: 'flush', value: {} } });
      const { value } = await next();
      if (value?.kind.case !== 'durable') assert.fail(`expected durable, got ${value?.kind.case}`);
      return value.kind.value.throughOffset;
    },
    /** The next response fails: returns the error. */
    async failure(): Promise<unknown> {
      requests.push({ kind: { case: 'flush', value: {} } });
      try {
        const r = await next();
        assert.fail(`expected the stream to fail, got ${JSON.stringify(r.value?.kind.case)}`);
      } catch (err) {
        return err;
      }
    },
    async end() {
      requests.end();
      assert.equal((await next()).done, true);
    },
  };
}
