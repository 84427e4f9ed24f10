/**
 * The etcd key layout of one Tributary cluster, built and parsed in this one place (documented in
 * ../backend.ts):
 *
 *   /tributary/<cluster>/leader/<lease-id>                 election (etcd3 Campaign)
 *   /tributary/<cluster>/workers/<id>                      lease-bound WorkerInfo
 *   /tributary/<cluster>/connectors/<name>/config          ConnectorRecord
 *   /tributary/<cluster>/connectors/<name>/partitions      PartitionRecord[]
 *   /tributary/<cluster>/owners/<name>/<partition>         AssignmentRecord (one per partition)
 *   /tributary/<cluster>/assignments/<worker-id>           AssignmentRecord[] (old layout, read only)
 *   /tributary/<cluster>/offsets/<name>/<partition>        CommittedOffset
 *   /tributary/<cluster>/status/<name>/<partition>         StatusRecord
 *   /tributary/<cluster>/epoch                             last assignment epoch (decimal)
 *
 * Every name segment (connector, partition, worker id) is percent-encoded, so a `/` inside a name
 * can neither add a level nor make one connector's prefix (`connectors/a/`) cover another's
 * (`connectors/a/b/`). Ordinary names (letters, digits, `-`, `_`, `.`) are stored as they are.
 */
import { InvalidArgumentError } from '../../errors.js';

/** What a key under the cluster prefix holds; `undefined` from `parse` for keys we do not own. */
export type ParsedKey =
  | { kind: 'leader' }
  | { kind: 'worker'; workerId: string }
  | { kind: 'connectorConfig'; connector: string }
  | { kind: 'connectorPartitions'; connector: string }
  | { kind: 'assignments'; workerId: string }
  | { kind: 'owner'; connector: string; partition: string }
  | { kind: 'offset'; connector: string; partition: string }
  | { kind: 'status'; connector: string; partition: string }
  | { kind: 'epoch' };

const seg = (name: string): string => encodeURIComponent(name);

export class ClusterKeys {
  /** `/tributary/<cluster>/` */
  readonly root: string;
  /** Namespace of the election: `/tributary/<cluster>/leader/`. */
  readonly leaderPrefix: string;
  readonly workersPrefix: string;
  readonly epoch: string;

  constructor(readonly cluster: string) {
    if (!cluster || cluster.includes('/')) {
      throw new InvalidArgumentError('invalid coordinator settings', [
        { key: 'cluster', message: `must be a non-empty name without "/" (got ${JSON.stringify(cluster)})` },
      ]);
    }
    this.root = `/tributary/${cluster}/`;
    this.leaderPrefix = `${this.root}leader/`;
    this.workersPrefix = `${this.root}workers/`;
    this.epoch = `${this.root}epoch`;
  }

  worker(id: string): string {
    return `${this.workersPrefix}${seg(id)}`;
  }

  /** Everything stored for one connector: its config and its partitions. */
  connectorPrefix(name: string): string {
    return `${this.root}connectors/${seg(name)}/`;
  }

  connectorConfig(name: string): string {
    return `${this.connectorPrefix(name)}config`;
  }

  connectorPartitions(name: string): string {
    return `${this.connectorPrefix(name)}partitions`;
  }

  assignments(workerId: string): string {
    return `${this.root}assignments/${seg(workerId)}`;
  }

  /** Per-partition assignment keys of one connector. */
  ownersPrefix(connector: string): string {
    return `${this.root}owners/${seg(connector)}/`;
  }

  owner(connector: string, partition: string): string {
    return `${this.ownersPrefix(connector)}${seg(partition)}`;
  }

  offsetsPrefix(connector: string): string {
    return `${this.root}offsets/${seg(connector)}/`;
  }

  offset(connector: string, partition: string): string {
    return `${this.offsetsPrefix(connector)}${seg(partition)}`;
  }

  statusPrefix(connector: string): string {
    return `${this.root}status/${seg(connector)}/`;
  }

  status(connector: string, partition: string): string {
    return `${this.statusPrefix(connector)}${seg(partition)}`;
  }

  /** Classifies a full key; `undefined` for keys outside the layout (left alone by readers). */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split('/');
    try {
      const [area, a, b] = parts;
      switch (area) {
        case 'leader':
          return { kind: 'leader' };
        case 'epoch':
          return parts.length === 1 ? { kind: 'epoch' } : undefined;
        case 'workers':
          return parts.length === 2 && a ? { kind: 'worker', workerId: decodeURIComponent(a) } : undefined;
        case 'assignments':
          return parts.length === 2 && a ? { kind: 'assignments', workerId: decodeURIComponent(a) } : undefined;
        case 'connectors':
          if (parts.length !== 3 || !a) return undefined;
          if (b === 'config') return { kind: 'connectorConfig', connector: decodeURIComponent(a) };
          if (b === 'partitions') return { kind: 'connectorPartitions', connector: decodeURIComponent(a) };
          return undefined;
        case 'owners':
          if (parts.length !== 3 || !a || !b) return undefined;
          return { kind: 'owner', connector: decodeURIComponent(a), partition: decodeURIComponent(b) };
        case 'offsets':
        case 'status':
          if (parts.length !== 3 || !a || !b) return undefined;
          return { kind: area === 'offsets' ? 'offset' : 'status', connector: decodeURIComponent(a), partition: decodeURIComponent(b) };
        default:
          return undefined;
      }
    } catch {
      return undefined; // malformed percent-encoding: not a key we wrote
    }
  }
}
