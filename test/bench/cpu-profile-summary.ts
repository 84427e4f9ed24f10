/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=<dir> npm run bench):
 * self time per function, as a share of the profile and in µs per record when the record count
 * is given, top N.
 *
 *   npx tsx test/bench/cpu-profile-summary.ts <file.cpuprofile> [records] [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, recordsArg, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpu-profile-summary.ts <file.cpuprofile> [records] [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const records = recordsArg ? Number(recordsArg) : undefined;
const top = Number(topArg ?? 30);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)!;
  const dt = profile.timeDeltas[i] ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
const idle = self.get('(idle)') ?? 0;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s idle, busy ${(((total - idle) / total) * 100).toFixed(0)}%`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const perRecord = records ? ` ${(us / records).toFixed(3)} µs/rec` : '';
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}% ${(us / 1e3).toFixed(0).padStart(7)} ms${perRecord}  ${key}`);
}
