/**
 * Sticky, incremental assignment of stream partitions to workers, as a pure function.
 *
 * Given the partitions that should run, the live workers and who owns what now, it returns the
 * smallest set of changes that leaves the cluster balanced by weight (partition count per unit
 * of capacity): new and orphaned partitions go to the least-loaded workers; an overloaded worker
 * gives up just enough partitions (revoked first, assigned elsewhere only after its
 * acknowledgement); everything else stays where it is (invariant 5: nothing healthy stops).
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

/** Removes the partition of the connector this worker holds most of (keeps connectors spread). */
function takeOne(load: Load): PlannedPartition {
  let connector = '';
  let most = -1;
  for (const [c, n] of load.perConnector) {
    if (n > most || (n === most && c < connector)) {
      connector = c;
      most = n;
    }
  }
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

  // Over their fair share (rounded up): give the excess back.
  const moved: PlannedPartition[] = [];
  for (const w of workers) {
    const ceiling = Math.ceil((total * w.capacity) / totalCapacity);
    while (w.owned.length > ceiling) moved.push(takeOne(w));
  }

  // Unplaced partitions (new, or their owner died) go to the least-loaded workers now.
  for (const [key, p] of desired) {
    if (placed.has(key)) continue;
    const target = leastLoaded(workers, p.connector);
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
    moved.push(takeOne(fullest));
    incoming.set(emptiest.id, (incoming.get(emptiest.id) ?? 0) + 1);
  }

  const ownerOf = new Map(input.current.map((o) => [partitionKey(o), o]));
  for (const p of moved) {
    const o = ownerOf.get(partitionKey(p));
    if (o) plan.move.push(o);
  }
  return plan;
}
