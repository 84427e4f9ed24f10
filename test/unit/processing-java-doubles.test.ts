/**
 * FLOAT64 text must be byte-identical to Kafka Connect's: Jackson writes Double.toString, and
 * JDK 17's (FloatingDecimal) is not always the shortest round-trip form JavaScript prints
 * (2.0E-3 vs 0.002 layout aside, e.g. 1.0E23 where JS says 1e+23, and digit choices in ~0.3% of
 * random doubles). The fixture holds Java 17's own output (generate.sh beside it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { javaDoubleString } from '../../src/processing/index.js';

const fixture = new URL('../fixtures/java-double-tostring/doubles.tsv', import.meta.url);

test("Double.toString as JDK 17 prints it, for 6,000 bit patterns and the classic hard cases", () => {
  const lines = readFileSync(fixture, 'utf8').trim().split('\n');
  assert.ok(lines.length > 6_000, `fixture has ${lines.length} lines`);
  const f = new Float64Array(1);
  const bits = new BigUint64Array(f.buffer);
  const wrong: string[] = [];
  for (const line of lines) {
    const [hex, expected] = line.split('\t') as [string, string];
    bits[0] = BigInt(`0x${hex}`);
    const actual = javaDoubleString(f[0]!);
    if (actual !== expected) wrong.push(`${hex}: Java ${expected}, here ${actual}`);
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${lines.length} differ`);
});
