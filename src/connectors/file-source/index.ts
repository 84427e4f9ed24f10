/**
 * The file source (Kafka Connect's FileStreamSource done right), built on the public plugin SDK:
 * every regular file directly in the `path` directory whose name matches `file.pattern` is one
 * stream partition (id = the file name), discovered dynamically — WatchPartitions re-lists the
 * directory every `poll.interval.ms` and reports files that appeared (`added`) and went
 * (`removed`).
 *
 * Records: one per line (split on `\n`, a trailing `\r` stripped), value = the line's bytes
 * without the newline, no key, header `file` = the file name. A record's offset is the byte
 * position right after its newline, in decimal ASCII, so opening at offset N reads from byte N.
 * A last line without its newline is held back until the newline arrives, so a resume never
 * splits a line.
 *
 * At end of file the reader re-checks every `poll.interval.ms`: appended data is read; a file
 * that shrank below what was read (truncated) is read again from byte 0; a file replaced under
 * its name (rotated: renamed away and re-created) is read to its end, then the new file is read
 * from byte 0; a deleted file is read to its end and then waits (the partition's `removed` ends
 * the stream). Both restarts are logged as warnings.
 */
import type { FileHandle } from 'node:fs/promises';
import { access, open, readdir, stat } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { AllowedPaths } from '../../util/allowed-paths.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError, type ConfigProblem } from '../../errors.js';
import { ConfigType, HeaderSchema, RecordSchema, type Header, type Record as PluginRecord } from '../../gen/tributary/connector/v1/connector_pb.js';
import {
  configBoolean,
  configInt,
  sourcePlugin,
  type ConfigKeyInit,
  type ConnectorInfo,
  type ConnectorPluginImplementation,
  type RecordInit,
  type SourcePluginDefinition,
  type SourceReader,
  type StreamPartitionInit,
  type WatchPartitionsInit,
} from '../../plugins/index.js';

export const FILE_SOURCE = 'file-source';

/** Bytes read from a file per read call. */
export const READ_CHUNK_BYTES = 64 * 1024;
/** A poll stops reading further chunks once it has records and read this many bytes. */
const POLL_BYTES_SOFT_LIMIT = 4 * 1024 * 1024;
/** Digits of the largest safe integer: the longest offset text. */
const MAX_OFFSET_DIGITS = 16;

/**
 * Writes `n` (a safe non-negative integer) as decimal ASCII into `slab` at `at`; the number of
 * bytes written. The same bytes as Buffer.from(String(n)), without a string per record.
 */
export function writeDecimal(slab: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = digits - 1, rest = n; i >= 0; i--, rest = Math.floor(rest / 10)) slab[at + i] = 0x30 + (rest % 10);
  return digits;
}

const configKeys: ConfigKeyInit[] = [
  {
    name: 'path',
    type: ConfigType.STRING,
    required: true,
    documentation: 'The directory to read. Every regular file directly in it (not in subdirectories) whose name matches file.pattern is one stream partition.',
    group: 'Input',
  },
  {
    name: 'file.pattern',
    type: ConfigType.STRING,
    defaultValue: '*',
    documentation: 'Glob the file names must match: "*" matches any run of characters, "?" exactly one, everything else itself. Names starting with "." match only a pattern starting with ".".',
    group: 'Input',
  },
  { name: 'topic', type: ConfigType.STRING, required: true, documentation: 'The Kafka topic the records are produced to.', group: 'Records' },
  {
    name: 'poll.interval.ms',
    type: ConfigType.DURATION_MS,
    defaultValue: '500',
    documentation: 'How often the directory is re-listed for new and removed files, and how often a file at its end is re-checked for appended data.',
    group: 'Input',
  },
  { name: 'batch.size', type: ConfigType.INT, defaultValue: '2000', documentation: 'The most lines one poll returns.', group: 'Records' },
  { name: 'file.header.enable', type: ConfigType.BOOLEAN, defaultValue: 'true', documentation: 'Give each record a header `file` holding the file name (FileStreamSource configs run with false: Kafka Connect adds no header).', group: 'Records' },
];

/** Where the file source reports restarts (truncation, rotation) and listing failures; pino loggers fit. */
export interface FileSourceLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface FileSourceOptions {
  /** Default: pino at `$TRIBUTARY_PLUGIN_LOG_LEVEL` (default `info`) on stderr. */
  logger?: FileSourceLogger;
  /**
   * The directories `path` may lie under (the worker's `allowed.paths`). Default: read from
   * `$TRIBUTARY_ALLOWED_PATHS` at each call (a child-process plugin gets it so); unset: none.
   */
  allowedPaths?: AllowedPaths;
}

/**
 * The matcher of a `file.pattern` glob: `*` any run of characters (possibly empty), `?` exactly
 * one character, anything else itself (case-sensitive). As in a shell, a name starting with "."
 * matches only a pattern that starts with ".".
 */
export function globMatcher(pattern: string): (name: string) => boolean {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`, 'su');
  const hiddenAllowed = pattern.startsWith('.');
  return (name) => (hiddenAllowed || !name.startsWith('.')) && regex.test(name);
}

/** The decimal byte position an offset names. */
export function positionOfOffset(offset: Uint8Array): number {
  const text = Buffer.from(offset.buffer, offset.byteOffset, offset.byteLength).toString('ascii');
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`malformed file-source offset "${text}": expected a decimal byte position`, [{ key: 'offset', message: 'must be a decimal byte position' }]);
  }
  return Number(text);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why `dir` cannot be read as the source directory, or undefined when it can. */
async function directoryProblem(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return `"${dir}" is not a directory: path must name the directory whose files are read`;
    await access(dir, constants.R_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') return `directory "${dir}" does not exist`;
    if (code === 'ENOTDIR') return `"${dir}" is not a directory: a parent of it is a file`;
    if (code === 'EACCES' || code === 'EPERM') return `directory "${dir}" cannot be read by this process (${code}); grant read and search permission`;
    return `directory "${dir}" cannot be read: ${errorMessage(err)}`;
  }
}

/** A file name that may be a partition id: a plain name directly in the directory. */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

interface SourceSettings {
  dir: string;
  matches: (name: string) => boolean;
  pollIntervalMs: number;
  batchSize: number;
  fileHeader: boolean;
}

function settingsOf(connector: ConnectorInfo): SourceSettings {
  const path = connector.config['path'] ?? '';
  return {
    dir: resolve(path),
    matches: globMatcher(connector.config['file.pattern'] ?? '*'),
    pollIntervalMs: Math.max(1, configInt(connector.config, 'poll.interval.ms', 500)),
    batchSize: Math.max(1, configInt(connector.config, 'batch.size', 2000)),
    fileHeader: configBoolean(connector.config, 'file.header.enable', true),
  };
}

/** The names of the matching regular files in the directory (symbolic links to regular files count). */
async function listFiles(settings: SourceSettings): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of await readdir(settings.dir, { withFileTypes: true })) {
    if (!settings.matches(entry.name)) continue;
    if (entry.isFile()) names.add(entry.name);
    else if (entry.isSymbolicLink()) {
      const target = await stat(join(settings.dir, entry.name)).catch(() => undefined);
      if (target?.isFile()) names.add(entry.name);
    }
  }
  return names;
}

function partitionOf(settings: SourceSettings, name: string): StreamPartitionInit {
  return { id: name, attributes: { path: join(settings.dir, name) } };
}

async function* watchFiles(connector: ConnectorInfo, signal: AbortSignal, logger: () => FileSourceLogger): AsyncGenerator<WatchPartitionsInit> {
  const settings = settingsOf(connector);
  // The directory was checked by Validate; missing now, it may come back (a mount, a re-creation):
  // UNAVAILABLE makes the worker watch again after a backoff.
  const problem = await directoryProblem(settings.dir);
  if (problem) throw new UnavailableError(`connector "${connector.name}": path: ${problem}`);
  let known: Set<string>;
  try {
    known = await listFiles(settings);
  } catch (err) {
    throw new UnavailableError(`connector "${connector.name}": path: cannot list directory "${settings.dir}": ${errorMessage(err)}`, { cause: err });
  }
  yield { snapshot: true, added: [...known].sort().map((name) => partitionOf(settings, name)) };
  let failing = false;
  while (!signal.aborted) {
    try {
      await sleep(settings.pollIntervalMs, undefined, { signal });
    } catch {
      return;
    }
    let current: Set<string>;
    try {
      current = await listFiles(settings);
      failing = false;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // The directory itself is gone: so are its files.
        current = new Set();
      } else {
        // A passing failure (e.g. a network file system): keep the last listing, try again.
        if (!failing) logger().warn({ connector: connector.name, path: settings.dir, err: errorMessage(err) }, 'file-source: cannot list the directory; keeping the last listing and retrying');
        failing = true;
        continue;
      }
    }
    const added = [...current].filter((name) => !known.has(name)).sort();
    const removed = [...known].filter((name) => !current.has(name)).sort();
    known = current;
    if (added.length > 0 || removed.length > 0) yield { snapshot: false, added: added.map((name) => partitionOf(settings, name)), removed };
  }
}

/**
 * Reads one file as lines. Bytes of the file from `lineStart` on have been read as `partial`
 * (no newline in them: the start of the next line) and then `unscanned` (not yet split), so the
 * next read position is `lineStart + partialBytes + unscanned.length`.
 */
class FileReader implements SourceReader {
  private file: FileHandle | undefined;
  private ino = 0;
  private dev = 0;
  private lineStart: number;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private unscanned: Buffer = Buffer.alloc(0);
  /** The `file` header, one message shared by this partition's records (each gets its own array); undefined: none. */
  private readonly header: Header | undefined;

  constructor(
    private readonly connector: string,
    private readonly name: string,
    private readonly path: string,
    start: number,
    private readonly settings: SourceSettings,
    private readonly logger: () => FileSourceLogger,
  ) {
    this.lineStart = start;
    this.header = settings.fileHeader ? { $typeName: HeaderSchema.typeName, key: 'file', value: Buffer.from(name) } : undefined;
  }

  private get readPosition(): number {
    return this.lineStart + this.partialBytes + this.unscanned.length;
  }

  /** Opens the file if it exists (false when it does not); positions past its end restart at 0. */
  async reopen(): Promise<boolean> {
    let file: FileHandle;
    try {
      file = await open(this.path, 'r');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw new FailedPreconditionError(`connector "${this.connector}" partition "${this.name}": cannot open file "${this.path}": ${errorMessage(err)}`);
    }
    const info = await file.stat();
    if (!info.isFile()) {
      await file.close();
      throw new NotFoundError(`connector "${this.connector}" has no stream partition "${this.name}": "${this.path}" is not a regular file`);
    }
    this.file = file;
    this.ino = info.ino;
    this.dev = info.dev;
    if (info.size < this.lineStart) {
      this.logger().warn(
        { connector: this.connector, partition: this.name, path: this.path, offset: this.lineStart, size: info.size },
        'file-source: the file is shorter than the offset to resume at (truncated or replaced); reading it from the beginning',
      );
      this.restart();
    }
    return true;
  }

  private restart(): void {
    this.lineStart = 0;
    this.partial = [];
    this.partialBytes = 0;
    this.unscanned = Buffer.alloc(0);
  }

  async poll(max: number, signal: AbortSignal): Promise<RecordInit[]> {
    const limit = Math.min(max, this.settings.batchSize);
    const records: PluginRecord[] = [];
    let readBytes = 0;
    for (;;) {
      this.takeLines(limit, records);
      if (records.length >= limit || signal.aborted) return records;
      if (records.length > 0 && readBytes >= POLL_BYTES_SOFT_LIMIT) return records;
      const read = this.file ? await this.readChunk() : 0;
      if (read > 0) {
        readBytes += read;
        continue;
      }
      // At the end of the file (or there is no file).
      if (records.length > 0) return records;
      if (await this.checkFile()) continue;
      try {
        await sleep(this.settings.pollIntervalMs, undefined, { signal });
      } catch {
        return records;
      }
    }
  }

  /**
   * Splits complete lines off the bytes read, up to `limit` records in all.
   *
   * The hot path of the source (measured with --cpu-prof, docs/performance.md): a line's value
   * is a view of the chunk it was read from, not a copy (a chunk stays alive while one of its
   * lines is in flight: at most the bytes in flight plus one chunk); the offsets of one call
   * share one slab; and each record is built as a finished Record message, which protobuf-es's
   * `create` on the in-process plugin path hands on as it is instead of copying it.
   */
  private takeLines(limit: number, records: PluginRecord[]): void {
    const room = limit - records.length;
    if (room <= 0 || this.unscanned.length === 0) return;
    const slab = Buffer.allocUnsafe(room * MAX_OFFSET_DIGITS);
    let slabAt = 0;
    while (records.length < limit && this.unscanned.length > 0) {
      const newline = this.unscanned.indexOf(0x0a);
      if (newline < 0) {
        this.partial.push(this.unscanned);
        this.partialBytes += this.unscanned.length;
        this.unscanned = Buffer.alloc(0);
        return;
      }
      const tail = this.unscanned.subarray(0, newline);
      let line = this.partial.length > 0 ? Buffer.concat([...this.partial, tail]) : tail;
      this.lineStart += this.partialBytes + newline + 1;
      this.partial = [];
      this.partialBytes = 0;
      this.unscanned = this.unscanned.subarray(newline + 1);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      const digits = writeDecimal(slab, slabAt, this.lineStart);
      const offset = slab.subarray(slabAt, slabAt + digits);
      slabAt += digits;
      records.push({ $typeName: RecordSchema.typeName, value: line, headers: this.header ? [this.header] : [], offset });
    }
  }

  /** Reads the next chunk after what was read; the number of bytes (0 at the end of the file). */
  private async readChunk(): Promise<number> {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    const { bytesRead } = await this.file!.read(chunk, 0, chunk.length, this.readPosition);
    if (bytesRead === 0) return 0;
    // takeLines leaves nothing unscanned unless the poll was full, so this is normally a plain assignment.
    this.unscanned = this.unscanned.length > 0 ? Buffer.concat([this.unscanned, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    return bytesRead;
  }

  /**
   * At the end of the file: true when there is something new to read from (the file was
   * truncated, replaced, or appeared), false to wait a poll interval.
   */
  private async checkFile(): Promise<boolean> {
    if (!this.file) return this.reopen();
    let current: Stats;
    try {
      current = await stat(this.path);
    } catch (err) {
      // Deleted: everything it held was read; wait (its `removed` will end this stream).
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
    if (current.ino !== this.ino || current.dev !== this.dev) {
      this.logger().warn(
        { connector: this.connector, partition: this.name, path: this.path, droppedPartialLineBytes: this.partialBytes },
        'file-source: the file was replaced (rotated); the old one was read to its end, reading the new one from the beginning',
      );
      await this.closeFile();
      this.restart();
      return this.reopen();
    }
    const { size } = await this.file.stat();
    if (size < this.readPosition) {
      this.logger().warn(
        { connector: this.connector, partition: this.name, path: this.path, position: this.readPosition, size },
        'file-source: the file shrank below the position read (truncated); reading it from the beginning',
      );
      this.restart();
      return true;
    }
    return false;
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }

  async close(): Promise<void> {
    await this.closeFile();
  }
}

/** The file source's definition; `options.logger` receives its warnings. */
export function createFileSourceDefinition(options: FileSourceOptions = {}): SourcePluginDefinition {
  let defaultLogger: FileSourceLogger | undefined;
  const logger = (): FileSourceLogger =>
    options.logger ?? (defaultLogger ??= pino({ level: process.env.TRIBUTARY_PLUGIN_LOG_LEVEL ?? 'info' }, pino.destination(2)));
  const allowed = (): AllowedPaths => options.allowedPaths ?? AllowedPaths.fromEnvironment();
  /** Refuses a connector whose directory is outside allowed.paths (configs stored before it changed). */
  const confined = async (connector: ConnectorInfo): Promise<void> => {
    const problem = await allowed().problem(resolve(connector.config['path'] ?? ''));
    if (problem) throw new InvalidArgumentError(`connector "${connector.name}": path ${problem}`, [{ key: 'path', message: problem }]);
  };
  return {
    name: FILE_SOURCE,
    version: '1.0.0',
    summary: 'Reads the files of a directory line by line, one stream partition per file',
    configKeys,
    async validate(config) {
      const problems: ConfigProblem[] = [];
      const outside = await allowed().problem(resolve(config['path']!));
      const dirProblem = outside ?? (await directoryProblem(resolve(config['path']!)));
      if (dirProblem) problems.push({ key: 'path', message: dirProblem });
      const pattern = config['file.pattern'] ?? '*';
      if (pattern === '') problems.push({ key: 'file.pattern', message: 'must not be empty; use "*" for every file' });
      else if (pattern.includes('/')) problems.push({ key: 'file.pattern', message: `must match file names, not paths: "${pattern}" contains "/" (subdirectories are not read)` });
      if (configInt(config, 'poll.interval.ms') < 1) problems.push({ key: 'poll.interval.ms', message: 'must be at least 1' });
      if (configInt(config, 'batch.size') < 1) problems.push({ key: 'batch.size', message: 'must be at least 1' });
      return problems;
    },
    async *watchPartitions(connector, signal) {
      await confined(connector);
      yield* watchFiles(connector, signal, logger);
    },
    async open(connector, partition, offset) {
      await confined(connector);
      const settings = settingsOf(connector);
      const name = partition.id;
      if (!isPlainName(name) || !settings.matches(name)) {
        throw new NotFoundError(`connector "${connector.name}" has no stream partition "${name}": its partitions are the files in "${settings.dir}" matching "${connector.config['file.pattern'] ?? '*'}"`);
      }
      const start = offset === undefined || offset.length === 0 ? 0 : positionOfOffset(offset);
      const reader = new FileReader(connector.name, name, join(settings.dir, name), start, settings, logger);
      // A file deleted since it was listed is not an error: the reader waits for it to come back
      // (or for the worker to stop the stream on the partition's `removed`).
      await reader.reopen();
      return reader;
    },
  };
}

export const fileSourceDefinition: SourcePluginDefinition = createFileSourceDefinition();

/** The file source as a plugin implementation (serve it in-process or with servePlugin). */
export const fileSourcePlugin: ConnectorPluginImplementation = sourcePlugin(fileSourceDefinition);

/** The file source with its warnings sent to `logger` (tests, embedding). */
export function createFileSourcePlugin(options: FileSourceOptions = {}): ConnectorPluginImplementation {
  return sourcePlugin(createFileSourceDefinition(options));
}
