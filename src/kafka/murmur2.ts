/**
 * The Java client's default partitioning of keyed records: `toPositive(murmur2(key)) % n`
 * (org.apache.kafka.common.utils.Utils.murmur2). Both producer adapters use it, so a key lands on
 * the same partition whichever client (or a Java producer) wrote it. 32-bit integer math via
 * Math.imul: no BigInt on the hot path.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a non-null key. */
export function keyPartition(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
