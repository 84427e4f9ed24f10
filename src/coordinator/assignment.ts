/**
 * Sticky, incremental assignment of stream partitions to workers, as a pure function.
 *
 * Given the partitions that should run, the live workers and who owns what now, it returns the
 * smallest set of changes that leaves the cluster balanced by weight (partition count per unit
 * of capacity): new and orphaned partitions go to the least-loaded workers; an overloaded worker
 * gives up just enough partitions (revoked first, assigned elsewhere only after its
 * acknowledgement); everything else stays where it is (invariant 5: nothing healthy stops).
 *
 * A connector may cap how many workers run its partitions at once (`tasks.max`: each worker runs
 * one plugin instance per connector, Kafka Connect's "task"). Placement and balancing then only
 * use workers that already host the connector once the cap is reached, and a connector spread
 * over more workers than its cap (the cap was lowered) gives up its partitions on the workers
 * holding fewest of them.
 */

export interface PlannedPartition {
  connector: string;
  partition: string;
}

export interface Ownership extends PlannedPartition {
  workerId: string;
  /** A partition being revoked is in transit: it belongs to nobody until the revoke is acknowledged. */
  revoking: boolean;
}

export interface PlanInput {
  /** Partitions that should run now (connectors RUNNING or PAUSED). */
  desired: PlannedPartition[];
  /**
   * Live workers and their capacity (weight, >= 1). A worker with `available: false` (its
   * session dropped, not yet timed out) keeps what it owns but gets nothing new and is left out
   * of balancing.
   */
  workers: Array<{ id: string; capacity: number; available?: boolean }>;
  /** Current owners, live workers only (a dead worker's partitions are simply absent). */
  current: Ownership[];
  /** Per connector, the most workers that may run its partitions at once (absent: no cap). */
  maxWorkers?: ReadonlyMap<string, number>;
}

export interface Plan {
  /** Partitions to start now, and where. */
  assign: Array<PlannedPartition & { workerId: string }>;
  /** Partitions to drain on their owner, to move elsewhere once acknowledged. */
  move: Ownership[];
  /** Partitions that should no longer run anywhere (connector deleted or stopped, partition gone). */
  drop: Ownership[];
}

export function partitionKey(p: PlannedPartition): string {
  return `${p.connector}\u0000${p.partition}`;
}

interface Load {
  id: string;
  capacity: number;
  owned: PlannedPartition[];
  /** Partitions per connector on this worker, for spreading each connector. */
  perConnector: Map<string, number>;
}

function ratio(load: Load, extra = 0): number {
  return (load.owned.length + extra) / load.capacity;
}

/** The least-loaded worker; ties go to the one with fewest partitions of `connector`, then by id. */
function leastLoaded(loads: Load[], connector: string): Load {
  let best = loads[0]!;
  for (const l of loads.slice(1)) {
    const d = ratio(l) - ratio(best);
    if (d < 0) best = l;
    else if (d === 0) {
      const a = l.perConnector.get(connector) ?? 0;
      const b = best.perConnector.get(connector) ?? 0;
      if (a < b || (a === b && l.id < best.id)) best = l;
    }
  }
  return best;
}

function add(load: Load, p: PlannedPartition): void {
  load.owned.push(p);
  load.perConnector.set(p.connector, (load.perConnector.get(p.connector) ?? 0) + 1);
}

/**
 * Removes a partition of the connector this worker holds most of (keeps connectors spread),
 * among the connectors `movable` allows; undefined when it allows none.
 */
function takeOne(load: Load, movable: (connector: string) => boolean = () => true): PlannedPartition | undefined {
  let connector = '';
  let most = -1;
  for (const [c, n] of load.perConnector) {
    if (n === 0 || !movable(c)) continue;
    if (n > most || (n === most && c < connector)) {
      connector = c;
      most = n;
    }
  }
  if (most < 0) return undefined;
  let index = -1;
  for (let i = load.owned.length - 1; i >= 0; i--) {
    if (load.owned[i]!.connector === connector) {
      index = i;
      break;
    }
  }
  const [p] = load.owned.splice(index, 1);
  load.perConnector.set(connector, most - 1);
  return p!;
}

export function planAssignment(input: PlanInput): Plan {
  const desired = new Map(input.desired.map((p) => [partitionKey(p), p]));
  const plan: Plan = { assign: [], move: [], drop: [] };
  const live = new Set(input.workers.map((w) => w.id));
  const pinned = new Set(input.workers.filter((w) => w.available === false).map((w) => w.id));
  const available = input.workers.filter((w) => w.available !== false);
  const loads = new Map<string, Load>(available.map((w) => [w.id, { id: w.id, capacity: Math.max(1, w.capacity), owned: [], perConnector: new Map() }]));

  const placed = new Set<string>();
  let inTransit = 0;
  for (const o of input.current) {
    const key = partitionKey(o);
    if (!desired.has(key)) {
      if (!o.revoking) plan.drop.push(o);
      placed.add(key);
      continue;
    }
    if (!live.has(o.workerId)) continue;
    placed.add(key);
    if (pinned.has(o.workerId)) continue;
    // In transit: lands on the least-loaded worker once acknowledged.
    if (o.revoking) inTransit++;
    else add(loads.get(o.workerId)!, { connector: o.connector, partition: o.partition });
  }
  if (loads.size === 0) return plan;
  const workers = [...loads.values()];
  const totalCapacity = workers.reduce((n, w) => n + w.capacity, 0);
  const total = workers.reduce((n, w) => n + w.owned.length, 0) + inTransit + [...desired.keys()].filter((k) => !placed.has(k)).length;

  // tasks.max: workers that host a capped connector (pinned ones count: they still run it).
  const cap = (connector: string) => input.maxWorkers?.get(connector);
  const pinnedHosts = new Map<string, Set<string>>();
  for (const o of input.current) {
    if (!pinned.has(o.workerId) || !desired.has(partitionKey(o))) continue;
    const set = pinnedHosts.get(o.connector) ?? new Set<string>();
    set.add(o.workerId);
    pinnedHosts.set(o.connector, set);
  }
  /** Workers a balancing move below means to give a capped connector (they count as hosts). */
  const plannedHosts = new Map<string, Set<string>>();
  const hosts = (w: Load, connector: string) => (w.perConnector.get(connector) ?? 0) > 0 || (plannedHosts.get(connector)?.has(w.id) ?? false);
  const hostCount = (connector: string) => workers.filter((w) => hosts(w, connector)).length + (pinnedHosts.get(connector)?.size ?? 0);
  /** May `w` take one more partition of `connector` without exceeding its cap? */
  const mayHost = (w: Load, connector: string) => {
    const max = cap(connector);
    return max === undefined || hosts(w, connector) || hostCount(connector) < max;
  };

  const moved: PlannedPartition[] = [];
  // A connector on more workers than its cap: the hosts holding fewest of its partitions give
  // them all back (they land on the remaining hosts once acknowledged).
  for (const connector of new Set(workers.flatMap((w) => [...w.perConnector.keys()]))) {
    const max = cap(connector);
    if (max === undefined) continue;
    const holding = workers.filter((w) => (w.perConnector.get(connector) ?? 0) > 0).sort((a, b) => (a.perConnector.get(connector)! - b.perConnector.get(connector)!) || (a.id < b.id ? 1 : -1));
    for (const w of holding.slice(0, Math.max(0, hostCount(connector) - max))) {
      for (let p = takeOne(w, (c) => c === connector); p; p = takeOne(w, (c) => c === connector)) moved.push(p);
    }
  }

  // Over their fair share (rounded up): give the excess back. A capped connector's partition
  // only when a worker that may host it has room (else it would come straight back).
  const ceiling = (w: Load) => Math.ceil((total * w.capacity) / totalCapacity);
  for (const w of workers) {
    while (w.owned.length > ceiling(w)) {
      const p = takeOne(w, (c) => cap(c) === undefined || workers.some((o) => o !== w && mayHost(o, c) && o.owned.length < ceiling(o)));
      if (!p) break;
      moved.push(p);
    }
  }

  // Unplaced partitions (new, or their owner died) go to the least-loaded workers that may host
  // their connector now.
  for (const [key, p] of desired) {
    if (placed.has(key)) continue;
    const allowed = workers.filter((w) => mayHost(w, p.connector));
    // Every host of a capped connector is pinned (unavailable): wait for one to come back.
    if (allowed.length === 0) continue;
    const target = leastLoaded(allowed, p.connector);
    add(target, p);
    plan.assign.push({ ...p, workerId: target.id });
  }

  // Still unbalanced (a worker joined): move from the fullest to the emptiest, one at a time,
  // counting the moves in flight as already landed.
  const incoming = new Map<string, number>();
  const landing = (w: Load) => ratio(w, incoming.get(w.id) ?? 0);
  for (let i = 0; i < moved.length + inTransit; i++) {
    const target = workers.reduce((a, b) => (landing(b) < landing(a) ? b : a));
    incoming.set(target.id, (incoming.get(target.id) ?? 0) + 1);
  }
  for (;;) {
    const fullest = workers.reduce((a, b) => (landing(b) > landing(a) ? b : a));
    const emptiest = workers.reduce((a, b) => (landing(b) < landing(a) ? b : a));
    // Moving one partition must make the spread strictly better, else stop.
    const before = landing(fullest) - landing(emptiest);
    const after = Math.abs((fullest.owned.length + (incoming.get(fullest.id) ?? 0) - 1) / fullest.capacity - (emptiest.owned.length + (incoming.get(emptiest.id) ?? 0) + 1) / emptiest.capacity);
    if (fullest === emptiest || fullest.owned.length === 0 || after >= before) break;
    // Only a connector the emptiest may host (capped ones: it hosts it already, or the cap has room).
    const p = takeOne(fullest, (c) => mayHost(emptiest, c));
    if (!p) break;
    moved.push(p);
    if (cap(p.connector) !== undefined) plannedHosts.set(p.connector, (plannedHosts.get(p.connector) ?? new Set<string>()).add(emptiest.id));
    incoming.set(emptiest.id, (incoming.get(emptiest.id) ?? 0) + 1);
  }

  const ownerOf = new Map(input.current.map((o) => [partitionKey(o), o]));
  for (const p of moved) {
    const o = ownerOf.get(partitionKey(p));
    if (o) plan.move.push(o);
  }
  return plan;
}
