/**
 * FLOAT64 text must be byte-identical to Kafka Connect's: Jackson writes Double.toString, and
 * JDK 17's (FloatingDecimal) is not always the shortest round-trip form JavaScript prints
 * (2e23 is 1.9999999999999998E23 there; about 0.25% of random doubles differ). The fixture holds
 * Java 17's own output (generate.sh beside it).
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
