/**
 * The memory backend's offset store: one JSON file, rewritten atomically (write a temporary file,
 * fsync, rename) on each flush that has changes, so a restarted `tributary standalone` resumes
 * where it stopped and a crash mid-write leaves the previous file intact.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommittedOffset, OffsetStore } from './offset-store.js';
import { InternalError } from '../errors.js';

interface FileFormat {
  version: 1;
  offsets: Record<string, Record<string, { offset: string; epoch: string }>>;
}

export class FileOffsetStore implements OffsetStore {
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let data: FileFormat;
    try {
      data = JSON.parse(text) as FileFormat;
    } catch (err) {
      throw new InternalError(`offsets file ${this.path} is not valid JSON (${(err as Error).message}); restore it from a backup or move it away to start from the beginning`, { cause: err });
    }
    for (const [connector, partitions] of Object.entries(data.offsets)) {
      const map = new Map<string, CommittedOffset>();
      for (const [partition, value] of Object.entries(partitions)) {
        map.set(partition, { offset: Buffer.from(value.offset, 'base64'), epoch: BigInt(value.epoch) });
      }
      this.offsets.set(connector, map);
    }
  }

  async read(connector: string, partition: string): Promise<CommittedOffset | undefined> {
    return this.offsets.get(connector)?.get(partition);
  }

  async readAll(connector: string): Promise<Map<string, CommittedOffset>> {
    return new Map(this.offsets.get(connector) ?? []);
  }

  commit(connector: string, partition: string, offset: Uint8Array, epoch = 0n): void {
    let map = this.offsets.get(connector);
    if (!map) this.offsets.set(connector, (map = new Map()));
    const current = map.get(partition);
    if (current && current.epoch > epoch) return;
    map.set(partition, { offset, epoch });
    this.dirty = true;
  }

  flush(): Promise<void> {
    // Flushes are serialised so an older snapshot never overwrites a newer one.
    this.writing = this.writing.catch(() => {}).then(() => this.writeIfDirty());
    return this.writing;
  }

  /** The state file holds every commit once the next write is done. */
  persist(): Promise<void> {
    return this.flush();
  }

  async stop(): Promise<void> {
    await this.flush();
  }

  private async writeIfDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const data: FileFormat = { version: 1, offsets: {} };
    for (const [connector, partitions] of this.offsets) {
      const out: FileFormat['offsets'][string] = {};
      for (const [partition, value] of partitions) {
        out[partition] = { offset: Buffer.from(value.offset).toString('base64'), epoch: value.epoch.toString() };
      }
      data.offsets[connector] = out;
    }
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(JSON.stringify(data, null, 1));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      // Keep the commits for the next flush.
      this.dirty = true;
      throw err;
    }
  }
}
