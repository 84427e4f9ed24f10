/**
 * CPU and memory of processes, read from Linux /proc, for the benchmarks: a process's CPU time
 * (user + system, its own threads only), its peak resident set (VmHWM), the broker's pid from
 * deploy/local, and the busy time of the whole machine so "everything else" can be reported.
 * Off Linux every figure is null rather than a guess.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localStateDir } from '../support/services.js';

/** Clock ticks per second of /proc's CPU fields (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** The local broker's pid (deploy/local), or undefined when it is not ours. */
export function brokerPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(localStateDir(), 'kafka.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds; undefined when it is gone or /proc is missing. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set of a live process, in MiB (VmHWM). */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine (all cores), in seconds. */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
    return (user + nice + system + irq + softirq + steal) / TICKS;
  } catch {
    return undefined;
  }
}

export interface CpuSplit {
  wallSeconds: number;
  /** CPU seconds of each watched process over the window (null: unknown). */
  processes: Record<string, number | null>;
  /** CPU seconds every other process on the machine used meanwhile (null off Linux). */
  otherSeconds: number | null;
}

/** CPU of named processes and of everything else over a window of wall time. */
export class CpuWindow {
  readonly #pids: Record<string, number | undefined>;
  #start: Record<string, number | undefined> = {};
  #machine: number | undefined;
  #at = 0n;

  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids;
    this.reset();
  }

  reset(): void {
    this.#start = Object.fromEntries(Object.entries(this.#pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    this.#machine = machineBusySeconds();
    this.#at = process.hrtime.bigint();
  }

  read(): CpuSplit {
    const wallSeconds = Number(process.hrtime.bigint() - this.#at) / 1e9;
    const processes: Record<string, number | null> = {};
    let known = 0;
    for (const [k, pid] of Object.entries(this.#pids)) {
      const now = processCpuSeconds(pid);
      const before = this.#start[k];
      processes[k] = now === undefined || before === undefined ? null : now - before;
      known += processes[k] ?? 0;
    }
    const machine = machineBusySeconds();
    const otherSeconds = machine === undefined || this.#machine === undefined ? null : Math.max(0, machine - this.#machine - known);
    return { wallSeconds, processes, otherSeconds };
  }
}
