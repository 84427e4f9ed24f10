/**
 * Reads the file `tributary offsets alter -f` takes. Two shapes:
 *
 * - `{"offsets": [{"partition": "p0", "offset": "41"}, {"partition": "p1", "offset": null}]}`
 *   — what `tributary offsets get --json` prints, so get → edit → alter round-trips (a binary
 *   offset appears as `"offset": null, "base64": "…"`);
 * - a flat map `{"p0": "41", "p1": null}`.
 *
 * `null` removes a partition's offset (it starts from the beginning). Numbers are taken as text.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';

export type OffsetFileChanges = Map<string, string | Uint8Array | null>;

function value(raw: unknown, base64: unknown, key: string, problems: ConfigProblem[]): string | Uint8Array | null | undefined {
  if (typeof base64 === 'string' && base64 !== '') return new Uint8Array(Buffer.from(base64, 'base64'));
  if (raw === null) return null;
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  problems.push({ key, message: 'must be a string, a number or null (null removes the offset)' });
  return undefined;
}

export function parseOffsetsJson(text: string, source: string): OffsetFileChanges {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidArgumentError(`${source} must hold {"offsets": [{"partition": …, "offset": …}]} or {"<partition>": "<offset>"}`);
  }
  const problems: ConfigProblem[] = [];
  const changes: OffsetFileChanges = new Map();
  const list = (raw as Record<string, unknown>)['offsets'];
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new InvalidArgumentError(`${source}: "offsets" must be a list`, [{ key: 'offsets', message: 'must be a list of {"partition", "offset"}' }]);
    list.forEach((entry: unknown, i) => {
      const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      if (typeof e['partition'] !== 'string' || e['partition'] === '') return void problems.push({ key: `offsets[${i}].partition`, message: 'must be the stream partition id (a non-empty string)' });
      if (changes.has(e['partition'])) return void problems.push({ key: `offsets[${i}].partition`, message: `"${e['partition']}" appears more than once` });
      if (!('offset' in e) && !('base64' in e)) return void problems.push({ key: `offsets[${i}].offset`, message: 'is required (null removes the offset)' });
      const v = value(e['offset'], e['base64'], `offsets[${i}].offset`, problems);
      if (v !== undefined) changes.set(e['partition'], v);
    });
  } else {
    for (const [partition, v] of Object.entries(raw)) {
      const parsed = value(v, undefined, partition, problems);
      if (parsed !== undefined) changes.set(partition, parsed);
    }
  }
  if (problems.length > 0) throw new InvalidArgumentError(`malformed offsets in ${source}`, problems);
  if (changes.size === 0) throw new InvalidArgumentError(`${source} names no partition; to remove every offset use: tributary offsets reset <connector>`);
  return changes;
}

export function readOffsetsFile(path: string): OffsetFileChanges {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read offsets file ${path}: ${(err as Error).message}`);
  }
  return parseOffsetsJson(text, path);
}
