/** `connectors patch --set k=v --unset k` and the many-connector actions (names or --regex). */
import { InvalidArgumentError, type ConfigProblem } from '../errors.js';

/** The config after `--set k=v` (repeatable) and `--unset k` (repeatable); throws naming a malformed --set. */
export function patchConfig(config: Record<string, string>, set: string[], unset: string[]): Record<string, string> {
  const problems: ConfigProblem[] = [];
  const next = { ...config };
  for (const entry of set) {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      problems.push({ key: '--set', message: `expects key=value, got "${entry}"` });
      continue;
    }
    next[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  for (const key of unset) {
    if (set.some((s) => s.slice(0, s.indexOf('=')) === key)) problems.push({ key: '--unset', message: `"${key}" is also in --set` });
    delete next[key];
  }
  if (set.length === 0 && unset.length === 0) problems.push({ key: '--set', message: 'give at least one --set key=value or --unset key' });
  if (problems.length > 0) throw new InvalidArgumentError('invalid patch', problems);
  return next;
}

/** The connectors an action applies to: the names given, or those matching `regex` (not both). */
export function selectConnectors(names: string[], regex: string | undefined, all: string[]): string[] {
  if (regex === undefined) {
    if (names.length === 0) throw new InvalidArgumentError('no connector given', [{ key: 'name', message: 'name one or more connectors, or pass --regex <pattern>' }]);
    return names;
  }
  if (names.length > 0) throw new InvalidArgumentError('both names and --regex given', [{ key: '--regex', message: 'use either connector names or --regex' }]);
  let re: RegExp;
  try {
    re = new RegExp(regex);
  } catch (err) {
    throw new InvalidArgumentError('invalid --regex', [{ key: '--regex', message: (err as Error).message }]);
  }
  return all.filter((n) => re.test(n));
}
