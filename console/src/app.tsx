// The console: cluster (partition map), connectors, one connector, events. State arrives pushed
// by the worker (stream.ts); actions go to /ui/api as the signed-in caller, after a confirmation.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleAction, ConsoleConnector, ConsoleEvent, ConsolePartition, ConsoleSession, ConsoleState } from '../../src/console/types.ts';
import { follow, headers, type Link } from './stream.ts';

/** Every state has a word and a symbol, never colour alone. */
const STATE_ICON: Record<string, string> = { RUNNING: '●', PAUSED: '‖', FAILED: '✖', UNASSIGNED: '○', STARTING: '◔', STOPPING: '◕', STOPPED: '■', DEGRADED: '▲', UNKNOWN: '?' };

function StateBadge({ state, stale }: { state: string; stale?: boolean }) {
  return (
    <span class={`badge s-${state.toLowerCase()}`} data-state={state}>
      <span aria-hidden="true">{STATE_ICON[state] ?? '?'}</span> {state.toLowerCase()}
      {stale ? ' (stale)' : ''}
    </span>
  );
}

function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return <span class="muted">–</span>;
  const w = 96;
  const h = 24;
  const max = Math.max(...values, 1);
  const points = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/cluster');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/cluster');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const rate = (r: number | null) => (r === null ? '–' : r >= 100 ? Math.round(r).toLocaleString('en') : r.toFixed(1));

interface Pending {
  connector: string;
  action: ConsoleAction;
  partition?: string;
}

export function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem('tributary.token') ?? '');
  const [session, setSession] = useState<ConsoleSession | undefined>();
  const [state, setState] = useState<ConsoleState | undefined>();
  const [events, setEvents] = useState<ConsoleEvent[]>([]);
  const [link, setLink] = useState<Link>('connecting');
  const [notice, setNotice] = useState('');
  const [pending, setPending] = useState<Pending | undefined>();
  const hash = useHash();

  useEffect(() => {
    void fetch('/ui/api/session', { headers: headers(token) })
      .then(async (r) => (r.ok ? setSession((await r.json()) as ConsoleSession) : setSession(undefined)))
      .catch(() => setSession(undefined));
    setLink('connecting');
    return follow(
      token,
      (u) => {
        setState(u.state);
        setEvents((prev) => (u.reset ? u.events : [...prev, ...u.events]).slice(-500));
      },
      setLink,
    );
  }, [token]);

  const act = async (p: Pending) => {
    setPending(undefined);
    const what = p.partition ? `${p.action} ${p.connector}/${p.partition}` : `${p.action} ${p.connector}`;
    setNotice(`${what}: sending…`);
    const res = await fetch(`/ui/api/connectors/${encodeURIComponent(p.connector)}/actions`, {
      method: 'POST',
      headers: { ...headers(token), 'content-type': 'application/json', 'x-tributary-console': '1' },
      body: JSON.stringify(p.partition ? { action: p.action, partition: p.partition } : { action: p.action }),
    }).catch((err: Error) => err);
    if (res instanceof Error) setNotice(`${what} failed: ${res.message}`);
    else if (!res.ok) setNotice(`${what} refused: ${((await res.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${res.status}`}`);
    else setNotice(`${what}: accepted`);
  };

  const route = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = route[0] || 'cluster';
  const connector = view === 'connectors' && route[1] ? state?.connectors.find((c) => c.name === route[1]) : undefined;

  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <h1>Tributary</h1>
        <nav aria-label="Views">
          {(['cluster', 'connectors', 'events'] as const).map((v) => (
            <a href={`#/${v}`} aria-current={view === v ? 'page' : undefined}>
              {v[0]!.toUpperCase() + v.slice(1)}
            </a>
          ))}
        </nav>
        <span class={`link l-${link}`} role="status" data-link={link}>
          <span aria-hidden="true">{link === 'live' ? '●' : '○'}</span> {link}
        </span>
        <TokenForm token={token} session={session} onToken={(t) => (sessionStorage.setItem('tributary.token', t), setToken(t))} />
      </header>
      <main id="main" tabIndex={-1}>
        {state?.problem ? (
          <p class="problem" role="alert">
            <span aria-hidden="true">▲</span> {state.problem}
          </p>
        ) : null}
        <p class="notice" aria-live="polite" data-testid="notice">
          {notice}
        </p>
        {!state ? (
          <p>{link === 'unauthorized' ? 'This worker needs a bearer token: enter one above.' : 'Connecting to the worker…'}</p>
        ) : view === 'cluster' ? (
          <ClusterView state={state} />
        ) : view === 'events' ? (
          <EventsView events={events} />
        ) : route[1] ? (
          connector ? (
            <ConnectorView c={connector} session={session} onAction={setPending} />
          ) : (
            <p>No connector named “{route[1]}”.</p>
          )
        ) : (
          <ConnectorsView state={state} />
        )}
      </main>
      <footer class="foot">
        {state ? (
          <>
            Served by <strong>{state.servedBy}</strong> · cluster {state.cluster} · {session?.actionsEnabled ? (session.canAct ? 'actions enabled' : 'actions need an operator token') : 'read-only'}
          </>
        ) : null}
      </footer>
      <Confirm pending={pending} onConfirm={act} onCancel={() => setPending(undefined)} />
    </>
  );
}

function TokenForm({ token, session, onToken }: { token: string; session: ConsoleSession | undefined; onToken: (t: string) => void }) {
  const [value, setValue] = useState(token);
  if (session && !session.authRequired) return null;
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        onToken(value.trim());
      }}
    >
      <label for="token">Token</label>
      <input id="token" type="password" autoComplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
      <span class="who" data-testid="principal">
        {session?.principal ? `${session.principal} (${session.roles.join(', ')})` : 'not signed in'}
      </span>
    </form>
  );
}

function ClusterView({ state }: { state: ConsoleState }) {
  // Where each partition runs, from the pushed statuses (WatchStatus), so the map redraws as assignments change.
  const byWorker = new Map<string, Array<{ c: ConsoleConnector; p: ConsolePartition }>>();
  for (const c of state.connectors) for (const p of c.partitions) byWorker.set(p.workerId, [...(byWorker.get(p.workerId) ?? []), { c, p }]);
  const unassigned = byWorker.get('') ?? [];
  const ids = [...new Set([...state.workers.map((w) => w.id), ...[...byWorker.keys()].filter(Boolean)])].sort();
  return (
    <section aria-labelledby="cluster-h">
      <h2 id="cluster-h">Cluster {state.cluster}</h2>
      <dl class="facts">
        <div>
          <dt>Leader</dt>
          <dd data-testid="leader">{state.leaderId || 'none'}</dd>
        </div>
        <div>
          <dt>Term</dt>
          <dd data-testid="term">{state.term}</dd>
        </div>
        <div>
          <dt>Epoch</dt>
          <dd>{state.epoch}</dd>
        </div>
        <div>
          <dt>Workers</dt>
          <dd>{state.workers.filter((w) => w.connected || w.leader).length}</dd>
        </div>
      </dl>
      <h3>Partition map</h3>
      <div class="map">
        {ids.map((id) => {
          const w = state.workers.find((x) => x.id === id);
          const parts = (byWorker.get(id) ?? []).sort((a, b) => `${a.c.name}/${a.p.partition}`.localeCompare(`${b.c.name}/${b.p.partition}`));
          const up = w ? w.connected || w.leader : false;
          return (
            <section class={`worker ${up ? '' : 'down'}`} data-worker={id} aria-labelledby={`w-${id}`}>
              <h4 id={`w-${id}`}>
                {id} {w?.leader ? <span class="tag">★ leader</span> : null} {up ? null : <span class="tag warn">✖ gone</span>}
              </h4>
              <p class="muted small">{w?.address ?? ''} · {parts.length} partitions</p>
              <ul class="chips">
                {parts.map(({ c, p }) => (
                  <li data-partition={`${c.name}/${p.partition}`} data-state={p.state}>
                    <a href={`#/connectors/${encodeURIComponent(c.name)}`}>
                      <span class={`dot s-${p.state.toLowerCase()}`} aria-hidden="true">
                        {STATE_ICON[p.state] ?? '?'}
                      </span>
                      {c.name}/{p.partition} <span class="sr">{p.state.toLowerCase()}</span>
                    </a>
                  </li>
                ))}
              </ul>
            </section>
          );
        })}
        {unassigned.length ? (
          <section class="worker down" data-worker="" aria-labelledby="w-none">
            <h4 id="w-none">Unassigned</h4>
            <ul class="chips">
              {unassigned.map(({ c, p }) => (
                <li data-partition={`${c.name}/${p.partition}`} data-state={p.state}>
                  {c.name}/{p.partition}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </section>
  );
}

function ConnectorsView({ state }: { state: ConsoleState }) {
  return (
    <section aria-labelledby="conn-h">
      <h2 id="conn-h">Connectors</h2>
      {state.connectors.length === 0 ? <p>No connectors yet.</p> : null}
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Running</th>
              <th scope="col">Paused</th>
              <th scope="col">Failed</th>
              <th scope="col">Records/s</th>
              <th scope="col">Trend</th>
              <th scope="col">Lag</th>
            </tr>
          </thead>
          <tbody>
            {state.connectors.map((c) => (
              <tr data-connector={c.name}>
                <th scope="row">
                  <a href={`#/connectors/${encodeURIComponent(c.name)}`}>{c.name}</a>
                </th>
                <td>{c.kind}</td>
                <td>
                  <StateBadge state={c.state} />
                </td>
                <td data-count="running">{c.counts.running}</td>
                <td data-count="paused">{c.counts.paused}</td>
                <td data-count="failed">{c.counts.failed}</td>
                <td data-testid="rate">{rate(c.recordsPerSecond)}</td>
                <td>
                  <Sparkline values={c.history} label={`records per second of ${c.name}, last ${c.history.length} samples`} />
                </td>
                <td data-testid="lag">{c.kind === 'sink' ? c.lag.reduce((n, l) => n + l.lag, 0).toLocaleString('en') : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ConnectorView({ c, session, onAction }: { c: ConsoleConnector; session: ConsoleSession | undefined; onAction: (p: Pending) => void }) {
  const can = session?.canAct ?? false;
  return (
    <section aria-labelledby="one-h" data-connector={c.name}>
      <h2 id="one-h">
        {c.name} <StateBadge state={c.state} />
      </h2>
      <p class="muted">
        {c.kind} · plugin {c.plugin} · desired <span data-testid="target">{c.targetState}</span> · {rate(c.recordsPerSecond)} records/s
      </p>
      {c.error ? <p class="problem">{c.error}</p> : null}
      {can ? (
        <div class="actions" role="group" aria-label={`Actions on ${c.name}`}>
          {(['pause', 'resume', 'stop', 'restart'] as const).map((a) => (
            <button type="button" onClick={() => onAction({ connector: c.name, action: a })}>
              {a[0]!.toUpperCase() + a.slice(1)}
            </button>
          ))}
        </div>
      ) : (
        <p class="muted small" data-testid="read-only">
          Read-only{session?.actionsEnabled ? ': actions need an operator token' : ': actions are disabled on this worker (console.actions)'}.
        </p>
      )}
      <h3>Partitions</h3>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Partition</th>
              <th scope="col">State</th>
              <th scope="col">Worker</th>
              <th scope="col">Epoch</th>
              <th scope="col">Offset</th>
              <th scope="col">Last error</th>
              {can ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {c.partitions.map((p) => (
              <tr data-partition={p.partition}>
                <th scope="row">{p.partition}</th>
                <td>
                  <StateBadge state={p.state} stale={p.stale} />
                </td>
                <td>{p.workerId || '–'}</td>
                <td>{p.epoch}</td>
                <td class="mono">{p.offset ?? '–'}</td>
                <td>
                  {p.error ? (
                    <details>
                      <summary>{p.error}</summary>
                      <pre>{p.trace ?? 'no stack trace reported'}</pre>
                    </details>
                  ) : (
                    '–'
                  )}
                </td>
                {can ? (
                  <td>
                    <button type="button" onClick={() => onAction({ connector: c.name, action: 'restart', partition: p.partition })}>
                      Restart<span class="sr"> {p.partition}</span>
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {c.kind === 'sink' ? (
        <>
          <h3>Lag of connect-{c.name}</h3>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Topic-partition</th>
                  <th scope="col">Committed</th>
                  <th scope="col">End</th>
                  <th scope="col">Lag</th>
                </tr>
              </thead>
              <tbody>
                {c.lag.map((l) => (
                  <tr>
                    <th scope="row">
                      {l.topic}-{l.partition}
                    </th>
                    <td>{l.committed ?? '–'}</td>
                    <td>{l.end}</td>
                    <td>{l.lag}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      <h3>Topics</h3>
      <ul>{c.topics.length ? c.topics.map((t) => <li class="mono">{t}</li>) : <li>none known</li>}</ul>
      <h3>Config</h3>
      <p class="muted small">Secret values are masked by the worker (********).</p>
      <div class="scroll">
        <table class="config">
          <tbody>
            {Object.entries(c.config)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => (
                <tr>
                  <th scope="row" class="mono">
                    {k}
                  </th>
                  <td class="mono">{v}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

const EVENT_ICON: Record<string, string> = { 'leader-changed': '★', 'worker-joined': '+', 'worker-left': '−', 'partition-moved': '→', 'partition-failed': '✖', 'partition-restarted': '↻', 'partition-state': '•', 'connector-created': '+', 'connector-deleted': '−', 'connector-state': '•' };

function EventsView({ events }: { events: ConsoleEvent[] }) {
  return (
    <section aria-labelledby="ev-h">
      <h2 id="ev-h">Events</h2>
      {events.length === 0 ? <p>No changes since this worker's console started.</p> : null}
      <ol class="events" aria-live="polite">
        {[...events].reverse().map((e) => (
          <li data-kind={e.kind}>
            <time dateTime={new Date(e.at).toISOString()}>{new Date(e.at).toLocaleTimeString()}</time> <span aria-hidden="true">{EVENT_ICON[e.kind] ?? '•'}</span> <span class="kind">{e.kind}</span> {e.message}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Confirm({ pending, onConfirm, onCancel }: { pending: Pending | undefined; onConfirm: (p: Pending) => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (pending && !d.open) d.showModal();
    if (!pending && d.open) d.close();
  }, [pending]);
  const target = pending ? (pending.partition ? `partition ${pending.partition} of ${pending.connector}` : `connector ${pending.connector}`) : '';
  return (
    <dialog ref={ref} aria-labelledby="confirm-h" onClose={onCancel}>
      <h2 id="confirm-h">Confirm</h2>
      <p>
        {pending?.action} {target}?
      </p>
      <div class="actions">
        <button type="button" data-testid="confirm" onClick={() => pending && onConfirm(pending)}>
          Yes, {pending?.action}
        </button>
        <button type="button" autoFocus onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
