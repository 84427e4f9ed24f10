/**
 * What the admin commands print: aligned tables for people, JSON for scripts, and errors as
 * one line per problem plus what to do next, with an exit code per kind of failure. Pure
 * functions (strings in, strings out) so they are unit-tested without a cluster.
 */
import { TributaryError, type ErrorCode } from '../errors.js';
import type { ClusterInfo, ConnectorInfo, ConnectorStatus, PartitionOffset, PluginInfo, StatusEvent, ValidationResult, WorkerStatus } from '../admin/index.js';

/** Exit codes of the admin commands (docs/admin.md). */
export const EXIT = {
  OK: 0,
  /** Anything not listed below (e.g. INTERNAL). */
  ERROR: 1,
  /** Invalid input: bad flags or file, INVALID_ARGUMENT, a config that does not validate. */
  INVALID: 2,
  NOT_FOUND: 3,
  /** The request conflicts with the current state: ALREADY_EXISTS, FAILED_PRECONDITION. */
  CONFLICT: 4,
  /** No worker or no leader reachable, or the call timed out: UNAVAILABLE, DEADLINE_EXCEEDED. */
  UNAVAILABLE: 5,
} as const;

const exitByCode: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: EXIT.INVALID,
  NOT_FOUND: EXIT.NOT_FOUND,
  ALREADY_EXISTS: EXIT.CONFLICT,
  FAILED_PRECONDITION: EXIT.CONFLICT,
  UNAVAILABLE: EXIT.UNAVAILABLE,
  DEADLINE_EXCEEDED: EXIT.UNAVAILABLE,
};

/** Columns padded to their widest cell, two spaces apart; no trailing spaces. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** JSON for scripts: bigints as decimal strings, bytes as base64. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2);
}

/** "3/4" running partitions of the total, the shape people scan for. */
function running(status: ConnectorStatus | undefined): string {
  if (!status) return '-';
  return `${status.partitions.filter((p) => p.state === 'RUNNING').length}/${status.partitions.length}`;
}

export function formatConnectorList(rows: ReadonlyArray<{ info: ConnectorInfo; status: ConnectorStatus | undefined }>): string {
  if (rows.length === 0) return 'no connectors; create one with: tributary connectors create -f connector.json';
  return renderTable(
    ['NAME', 'KIND', 'PLUGIN', 'TARGET', 'STATE', 'RUNNING', 'WORKERS'],
    rows.map(({ info, status }) => [info.name, info.kind, info.plugin, info.targetState, status?.state ?? '-', running(status), [...new Set(status?.partitions.map((p) => p.workerId).filter(Boolean))].sort().join(',') || '-']),
  );
}

export function formatConnectorInfo(info: ConnectorInfo): string {
  const keys = Object.keys(info.config).sort();
  return [`name:    ${info.name}`, `plugin:  ${info.plugin} (${info.kind})`, `target:  ${info.targetState}`, '', renderTable(['KEY', 'VALUE'], keys.map((k) => [k, info.config[k]!]))].join('\n');
}

export function formatStatus(status: ConnectorStatus): string {
  const lines = [`connector ${status.name} (${status.kind}): ${status.state}, ${running(status)} partitions running`];
  if (status.error) lines.push(`error: ${status.error}`);
  if (status.partitions.length === 0) {
    lines.push(status.state === 'STOPPED' ? 'no partitions run while STOPPED; resume with: tributary connectors resume ' + status.name : 'no stream partitions discovered yet');
    return lines.join('\n');
  }
  lines.push('', renderTable(['PARTITION', 'STATE', 'WORKER', 'EPOCH', 'ERROR'], status.partitions.map((p) => [p.partition, p.stale ? `${p.state} (stale)` : p.state, p.workerId || '-', String(p.epoch), p.error ?? ''])));
  const failed = status.partitions.filter((p) => p.state === 'FAILED');
  if (failed.length > 0) lines.push('', `restart the failed partitions with: tributary connectors restart ${status.name} --include-tasks --only-failed`);
  return lines.join('\n');
}

/** One line per WatchStatus event, prefixed with the local time. */
export function formatStatusEvent(event: StatusEvent, now = new Date()): string {
  const time = now.toTimeString().slice(0, 8);
  if (event.deleted || !event.status) return `${time}  ${event.connector}  DELETED`;
  const s = event.status;
  const byState = new Map<string, number>();
  for (const p of s.partitions) byState.set(p.state, (byState.get(p.state) ?? 0) + 1);
  const partitions = [...byState].map(([state, n]) => `${n} ${state}`).join(', ') || 'no partitions';
  return `${time}  ${s.name}  ${s.state}  (${partitions})${s.error ? `  error: ${s.error}` : ''}`;
}

/** An offset as people read it: its text, or its bytes in base64 when not printable. */
export function offsetText(o: PartitionOffset): string {
  return o.text ?? `base64:${Buffer.from(o.offset).toString('base64')}`;
}

export function formatOffsets(name: string, offsets: readonly PartitionOffset[]): string {
  if (offsets.length === 0) return `connector ${name} has no committed offsets (its partitions start from the beginning)`;
  return renderTable(['PARTITION', 'OFFSET'], offsets.map((o) => [o.partition, offsetText(o)]));
}

/** `offsets get --json`: readable text, plus base64 for offsets that are not text. */
export function offsetsJson(name: string, offsets: readonly PartitionOffset[]) {
  return { name, offsets: offsets.map((o) => (o.text !== undefined ? { partition: o.partition, offset: o.text } : { partition: o.partition, offset: null, base64: Buffer.from(o.offset).toString('base64') })) };
}

export function formatPlugins(plugins: readonly PluginInfo[]): string {
  if (plugins.length === 0) return 'no plugins installed; add *.plugin.json files to the workers\' --plugin-path';
  return renderTable(['NAME', 'TYPE', 'VERSION', 'SUMMARY'], plugins.map((p) => [p.name, p.type || p.kind, p.version || '-', p.summary]));
}

export function formatValidation(result: ValidationResult): string {
  const warnings = result.warnings.map((w) => `  warning: ${w.key}: ${w.message}`);
  if (result.valid) return [`the config is valid for plugin ${result.plugin}`, ...warnings].join('\n');
  return [`the config is not valid for plugin ${result.plugin || '(none)'}:`, ...result.errors.map((e) => `  ${e.key || '(config)'}: ${e.message}`), ...warnings].join('\n');
}

function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 60 ? `${s.toFixed(1)}s ago` : `${Math.round(s / 60)}m ago`;
}

export function formatWorkers(workers: readonly WorkerStatus[], now = Date.now()): string {
  return renderTable(
    ['ID', 'ADDRESS', 'LEADER', 'CONNECTED', 'HEARTBEAT', 'PARTITIONS'],
    [...workers].sort((a, b) => a.id.localeCompare(b.id)).map((w) => [w.id, w.address || '-', w.leader ? 'yes' : '', w.connected ? 'yes' : 'no', ago(w.lastHeartbeatMs, now), String(w.partitions.length)]),
  );
}

export function formatCluster(info: ClusterInfo, now = Date.now()): string {
  return [`cluster:  ${info.cluster}`, `leader:   ${info.leaderId} (${info.leaderAddress})`, `term:     ${info.term}`, `epoch:    ${info.epoch}`, `version:  ${info.version}`, '', formatWorkers(info.members, now)].join('\n');
}

/** The head of an InvalidArgumentError's message, without the problems it lists again. */
function headOf(err: TributaryError & { problems?: ReadonlyArray<{ key: string; message: string }> }): string {
  const problems = err.problems ?? [];
  const detail = problems.map((p) => (p.key ? `${p.key}: ${p.message}` : p.message)).join('; ');
  return detail && err.message.endsWith(`: ${detail}`) ? err.message.slice(0, -detail.length - 2) : err.message;
}

/** An error as the CLI prints it (to stderr), and the exit code it maps to. */
export function formatError(err: unknown, server: string): { text: string; exitCode: number } {
  if (!(err instanceof TributaryError)) return { text: `error: ${err instanceof Error ? err.message : String(err)}`, exitCode: EXIT.ERROR };
  const exitCode = exitByCode[err.code] ?? EXIT.ERROR;
  const problems = (err as { problems?: ReadonlyArray<{ key: string; message: string }> }).problems ?? [];
  const lines = [`error: ${problems.length > 0 ? headOf(err) : err.message}`];
  for (const p of problems) lines.push(`  ${p.key || '(config)'}: ${p.message}`);
  if (problems.length > 0) {
    lines.push(/config/.test(err.message) ? 'fix the keys above and run the command again (tributary config validate -f <file> checks a config without creating it)' : 'fix the entries above and run the command again');
  }
  if (exitCode === EXIT.UNAVAILABLE) lines.push(`is a worker running at ${server}? point the CLI at one with --server host:port or TRIBUTARY_SERVER`);
  return { text: lines.join('\n'), exitCode };
}
