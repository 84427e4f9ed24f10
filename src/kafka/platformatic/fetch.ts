/**
 * The Fetch request of the partition reader, sent with @platformatic/kafka's protocol layer
 * (its exported `fetchV13` … `fetchV17` APIs on a connection of our own pool) instead of
 * `Consumer.fetch`.
 *
 * Why not `Consumer.fetch`: under read_committed, @platformatic/kafka 1.35 runs its own
 * aborted-transaction filter (`Consumer#filterUncommittedMessages`) on every answer, and that
 * filter throws `TypeError: Cannot set properties of undefined` — from a socket callback, so as an
 * uncaught exception that ends the process — whenever one answer holds an aborted transaction the
 * broker lists AND the ABORT marker of a producer it does not list (a transaction that added the
 * partition but appended nothing to it, as a worker killed between AddPartitionsToTxn and Produce
 * leaves behind). Even where it does not throw it keeps a transaction's records when the ABORT
 * marker falls beyond the answer. The library has no option to skip it and 2.x, which may fix it,
 * needs Node 22. So the reader asks the broker for read_committed itself (the broker then stops at
 * the last stable offset and lists the aborted transactions) and filters per KIP-98 in
 * `records.ts` (`decodeFetch`), as the Java consumer does.
 *
 * The version is the highest one both the broker (ApiVersions) and the library implement.
 */
import { fetchV13, fetchV14, fetchV15, fetchV16, fetchV17, type Broker, type ConnectionPool, type Consumer } from '@platformatic/kafka';
import { FailedPreconditionError } from '../../errors.js';
import type { FetchResponse } from './records.js';

/** Kafka's ApiVersions key of Fetch. */
const FETCH_API_KEY = 1;

/**
 * The Fetch versions the library implements that address topics by id, newest first (one request
 * shape). v12 is left out: it names topics, and the reader knows the topic's id.
 */
const IMPLEMENTED = [fetchV17.api, fetchV16.api, fetchV15.api, fetchV14.api, fetchV13.api] as const;

export type FetchApi = (typeof IMPLEMENTED)[number];

export interface FetchPartitionRequest {
  topicId: string;
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  maxBytes: number;
  maxWaitMs: number;
  /** FetchIsolationLevels.READ_COMMITTED or READ_UNCOMMITTED. */
  isolationLevel: number;
}

/** The newest Fetch version the broker and the library share; FailedPreconditionError when none. */
export async function negotiateFetch(consumer: Pick<Consumer, 'listApis'>): Promise<FetchApi> {
  const apis = await consumer.listApis();
  const fetch = apis.find((api) => api.apiKey === FETCH_API_KEY);
  const chosen = fetch && IMPLEMENTED.find((api) => api.version >= fetch.minVersion && api.version <= fetch.maxVersion);
  if (!chosen) {
    const offered = fetch ? `${fetch.minVersion}-${fetch.maxVersion}` : 'none';
    throw new FailedPreconditionError(
      `the broker offers Fetch versions ${offered}; this client needs one of ${IMPLEMENTED.map((a) => a.version).join(', ')} (Kafka 3.1 or newer)`,
    );
  }
  return chosen;
}

/**
 * One Fetch of one partition from `broker` on a connection of `pool`. Rejects with the library's
 * own errors (ResponseError carrying the Kafka error codes, network errors), which the caller
 * converts; the answer is unfiltered (control batches and aborted batches included).
 */
export async function fetchPartition(api: FetchApi, pool: ConnectionPool, broker: Broker, request: FetchPartitionRequest): Promise<FetchResponse> {
  const connection = await pool.get(broker);
  return api.async(connection, request.maxWaitMs, 1, request.maxBytes, request.isolationLevel, 0, 0, [
    {
      topicId: request.topicId,
      partitions: [
        {
          partition: request.partition,
          currentLeaderEpoch: request.currentLeaderEpoch,
          fetchOffset: request.fetchOffset,
          lastFetchedEpoch: -1,
          partitionMaxBytes: request.maxBytes,
        },
      ],
    },
  ], [], '');
}
