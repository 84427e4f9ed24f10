/**
 * One logical replication stream from a slot, over `pg`'s replication mode (a `pg.Client` with
 * `replication: 'database'`): START_REPLICATION with pgoutput, XLogData decoded in arrival
 * order by pg-logical-replication's pgoutput parser, and standby status updates that we write
 * ourselves, so the server hears exactly the flush position we choose and nothing else.
 *
 * Invariant: the only flush LSN ever reported is the one passed to `confirm()`; the stream
 * never acknowledges what it merely received. (pg-logical-replication's own service reports the
 * last *received* LSN on a timer and adds 1 to acknowledged LSNs, which is why only its parser
 * is used.) Received messages queue in memory; above a high-water mark the socket is paused, so
 * a slow Kafka leaves WAL on the server rather than in this process.
 */
import pg from 'pg';
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { UnavailableError } from '../../errors.js';
import { clientConfig, formatLsn, ident } from '../pg-common/index.js';

export interface WalMessage {
  /** The LSN of the WAL record this message came from (the XLogData start). */
  lsn: bigint;
  message: Pgoutput.Message;
}

const HIGH_WATER = 20_000;
const LOW_WATER = 5_000;
// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_US = 946_684_800_000_000n;

interface PgConnection {
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

export class ReplicationStream {
  private readonly queue: WalMessage[] = [];
  private head = 0;
  private paused = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  /** The server's WAL position from its last keepalive (everything before it was sent). */
  serverLsn = 0n;
  /** The flush position last reported. */
  private confirmedLsn = 0n;

  private constructor(
    private readonly client: pg.Client,
    private readonly connection: PgConnection,
  ) {}

  /** Connects and starts streaming `slot` (from its confirmed_flush_lsn) with `publication`. */
  static async start(url: string, slot: string, publication: string, startConfirmed: bigint): Promise<ReplicationStream> {
    const client = new pg.Client(clientConfig(url, { replication: 'database' } as pg.ClientConfig));
    await client.connect();
    const connection = (client as unknown as { connection: PgConnection }).connection;
    const stream = new ReplicationStream(client, connection);
    stream.confirmedLsn = startConfirmed;
    const decoder = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
    client.on('error', (err) => stream.fail(err));
    connection.on('copyData', ({ chunk }) => {
      try {
        if (chunk[0] === 0x77) {
          // XLogData: 'w', start LSN, server's current end, send time, then the pgoutput message.
          const message = decoder.parse(chunk.subarray(25)) as Pgoutput.Message;
          if (message.tag === 'relation') {
            // Keep PostgreSQL's text form: the connector maps types itself (pg-common).
            for (const column of message.columns) column.parser = (raw: unknown) => raw;
          }
          stream.queue.push({ lsn: chunk.readBigUInt64BE(1), message });
          if (!stream.paused && stream.queue.length - stream.head > HIGH_WATER) {
            stream.paused = true;
            connection.stream.pause();
          }
          stream.notify();
        } else if (chunk[0] === 0x6b) {
          // Primary keepalive: 'k', server's WAL end, send time, reply-requested flag.
          stream.serverLsn = chunk.readBigUInt64BE(1);
          if (chunk[17] === 1) stream.sendStatus();
          stream.notify();
        }
      } catch (err) {
        stream.fail(err as Error);
      }
    });
    // The query resolves only when the server ends the COPY: that is the end of the stream.
    const sql = `START_REPLICATION SLOT ${ident(slot)} LOGICAL 0/0 (proto_version '1', publication_names '${publication.replace(/'/g, "''")}')`;
    client.query(sql).then(
      () => stream.fail(new UnavailableError(`the replication stream of slot "${slot}" ended`)),
      (err: Error) => stream.fail(err),
    );
    return stream;
  }

  /** The next decoded message, waiting while there is none; undefined if `signal` aborts first. */
  async next(signal: AbortSignal): Promise<WalMessage | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.head < this.queue.length) {
        const m = this.queue[this.head++]!;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (this.paused && this.queue.length - this.head < LOW_WATER) {
          this.paused = false;
          this.connection.stream.resume();
        }
        return m;
      }
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** True when every message received so far has been taken with next(). */
  get drained(): boolean {
    return this.head >= this.queue.length;
  }

  /**
   * Reports `lsn` as flushed: the slot's confirmed_flush_lsn moves there, and the server may
   * recycle WAL before it. Never moves backwards.
   */
  confirm(lsn: bigint): void {
    if (lsn <= this.confirmedLsn) return;
    this.confirmedLsn = lsn;
    this.sendStatus();
  }

  get confirmed(): bigint {
    return this.confirmedLsn;
  }

  /** Standby status update: written = flushed = applied = the confirmed LSN. */
  sendStatus(): void {
    if (this.closed || this.failure) return;
    const buf = Buffer.alloc(34);
    buf[0] = 0x72; // 'r'
    buf.writeBigUInt64BE(this.confirmedLsn, 1);
    buf.writeBigUInt64BE(this.confirmedLsn, 9);
    buf.writeBigUInt64BE(this.confirmedLsn, 17);
    buf.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    buf[33] = 0;
    try {
      this.connection.sendCopyFromChunk(buf);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  describe(): string {
    return `confirmed ${formatLsn(this.confirmedLsn)}, server at ${formatLsn(this.serverLsn)}`;
  }

  private notify(): void {
    this.wake?.();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure ??= err instanceof UnavailableError ? err : new UnavailableError(`PostgreSQL replication stream failed: ${err.message}`, { cause: err });
    this.notify();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notify();
    await this.client.end().catch(() => {});
  }
}
