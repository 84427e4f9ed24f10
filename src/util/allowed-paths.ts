/**
 * The worker-level `allowed.paths` list (Kafka Connect's FileConfigProvider / DirectoryConfigProvider
 * `allowed.paths`): the file connectors (file-source, file-sink, FileStreamSource/Sink) and
 * `${file:…}` config references may only name paths under one of these directories. A path is
 * compared after it is made absolute, `..` removed and symlinks resolved (for a path that does not
 * exist yet, e.g. a sink's new file, its deepest existing ancestor is resolved), so neither `..`
 * nor a symlink inside an allowed directory leads outside it. The default is the empty list: no
 * path at all.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve, sep } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Makes `path` absolute and resolves every symlink of its existing part. */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const rest: string[] = [];
  let head = absolute;
  for (;;) {
    try {
      const real = await realpath(head);
      return rest.length === 0 ? real : resolve(real, ...rest.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return absolute;
      rest.push(basename(head));
      head = parent;
    }
  }
}

/** The environment variable of a worker's (and a file-connector child process's) allowed.paths. */
export const ALLOWED_PATHS_ENV = 'TRIBUTARY_ALLOWED_PATHS';

export class AllowedPaths {
  private canonical: Promise<string[]> | undefined;

  private constructor(
    /** The directories as configured (absolute). */
    readonly roots: readonly string[],
    /** True for "every path" (no restriction). */
    readonly unrestricted = false,
  ) {}

  /** No path allowed: the default of a worker. */
  static none(): AllowedPaths {
    return new AllowedPaths([]);
  }

  /** Every path allowed (only for tests of the connectors themselves). */
  static any(): AllowedPaths {
    return new AllowedPaths([], true);
  }

  /**
   * The list from its setting: comma-separated absolute directories. Throws INVALID_ARGUMENT
   * naming `key` for a relative entry.
   */
  static parse(value: string | undefined, key = 'allowed.paths'): AllowedPaths {
    const entries = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const relative = entries.filter((e) => !isAbsolute(e));
    if (relative.length > 0) throw new InvalidArgumentError('invalid worker settings', [{ key, message: `entries must be absolute directories, got ${relative.map((r) => `"${r}"`).join(', ')}` }]);
    return new AllowedPaths(entries.map((e) => resolve(e)));
  }

  /**
   * The list a child-process plugin gets from its worker in `$TRIBUTARY_ALLOWED_PATHS` (none when
   * unset). In-process, the worker passes its list explicitly.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): AllowedPaths {
    return AllowedPaths.parse(env[ALLOWED_PATHS_ENV], ALLOWED_PATHS_ENV);
  }

  static of(paths: readonly string[]): AllowedPaths {
    return AllowedPaths.parse(paths.join(','));
  }

  /** Why `path` may not be used (a message for a ConfigProblem), or undefined when it may. */
  async problem(path: string): Promise<string | undefined> {
    if (this.unrestricted) return undefined;
    if (this.roots.length === 0) return `"${path}" is not allowed: this worker allows no file paths (set the worker's allowed.paths to the directories connectors may use)`;
    const target = await canonicalPath(path);
    this.canonical ??= Promise.all(this.roots.map(canonicalPath));
    const roots = await this.canonical;
    if (roots.some((root) => target === root || target.startsWith(root.endsWith(sep) ? root : root + sep))) return undefined;
    return `"${path}"${target !== resolve(path) ? ` (resolves to "${target}")` : ''} is outside the worker's allowed.paths (${this.roots.join(', ')})`;
  }

  /** Describes the list for logs and docs. */
  toString(): string {
    return this.unrestricted ? '(any)' : this.roots.length === 0 ? '(none)' : this.roots.join(',');
  }
}
