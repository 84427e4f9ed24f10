/**
 * One plugin process per connector per worker (invariant 7): the connector's runtime, the
 * leader's partition discovery and its lifecycle hooks share the instance while any of them
 * holds a lease, and the last release closes it.
 */
import type { Logger } from 'pino';
import type { HostedPluginInstance, PluginHost } from '../plugins/index.js';
import type { WorkerMetrics } from '../observability/index.js';

export interface PluginLease {
  readonly instance: HostedPluginInstance;
  /** Gives the lease back; the instance closes when nobody holds it. Idempotent. */
  release(): Promise<void>;
}

interface Entry {
  instance: Promise<HostedPluginInstance>;
  leases: number;
}

export class PluginInstances {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly host: PluginHost,
    private readonly logger: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {}

  /** The running instance of `plugin` for `connector`, started on first use. */
  async acquire(connector: string, plugin: string): Promise<PluginLease> {
    const key = `${connector}\u0000${plugin}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { instance: this.host.start(plugin, { logger: this.logger.child({ connector }), onCrash: () => this.metrics?.pluginRestarted(plugin) }), leases: 0 };
      this.entries.set(key, entry);
      entry.instance.catch(() => this.entries.delete(key));
    }
    entry.leases++;
    let instance: HostedPluginInstance;
    try {
      instance = await entry.instance;
    } catch (err) {
      entry.leases--;
      throw err;
    }
    let released = false;
    const owner = entry;
    return {
      instance,
      release: async () => {
        if (released) return;
        released = true;
        owner.leases--;
        if (owner.leases > 0 || this.entries.get(key) !== owner) return;
        this.entries.delete(key);
        await instance.close();
      },
    };
  }
}
