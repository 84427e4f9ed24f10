/**
 * The lifecycle of one @platformatic/kafka `Admin` client, shared by the adapters built on it
 * (PlatformaticTopicAdmin, PlatformaticGroupOffsetStore): start() creates the client and probes
 * the brokers with a metadata request (closing the client if that fails), concurrent starts share
 * one attempt, a failed start may be retried, and once stopped it cannot start again.
 */
import { Admin } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { FailedPreconditionError } from '../../errors.js';
import type { CompiledConnection } from '../config.js';
import { fromPlatformaticError } from '../errors.js';
import { baseOptions } from './options.js';

export class ManagedAdmin {
  readonly #conn: CompiledConnection;
  readonly #logger: Logger | undefined;
  readonly #name: string;
  #admin: Admin | undefined;
  #starting: Promise<void> | undefined;
  #stopped = false;

  /**
   * `name` is what its owner is called in error messages: 'topic admin' gives '… topic admin was
   * stopped; create a new one', 'start topic admin', 'topic admin not started; call start() first'.
   */
  constructor(conn: CompiledConnection, logger: Logger | undefined, name: string) {
    this.#conn = conn;
    this.#logger = logger;
    this.#name = name;
  }

  start(): Promise<void> {
    if (this.#stopped) return Promise.reject(new FailedPreconditionError(`${this.#name} was stopped; create a new one`));
    this.#starting ??= (async () => {
      const admin = new Admin(baseOptions(this.#conn));
      try {
        await admin.metadata({ topics: [] });
      } catch (err) {
        await admin.close().catch(() => undefined);
        throw fromPlatformaticError(err, { operation: `start ${this.#name}`, brokers: this.#conn.brokers });
      }
      this.#admin = admin;
    })().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  /** The started client; throws FailedPreconditionError before start() or after stop(). */
  get admin(): Admin {
    if (!this.#admin) {
      throw new FailedPreconditionError(this.#stopped ? `${this.#name} was stopped` : `${this.#name} not started; call start() first`);
    }
    return this.#admin;
  }

  /** Waits for a start in flight, then closes the client (a failed close is only logged). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting?.catch(() => undefined);
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.close().catch((err: unknown) => this.#logger?.debug({ err }, 'closing the Kafka admin failed'));
  }
}
