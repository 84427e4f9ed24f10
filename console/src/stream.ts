// The console's one connection to its worker: server-sent events read with fetch (so a bearer
// token can go in the Authorization header, which EventSource cannot send), reconnected with a
// growing delay when the worker drops it (a restart, a network blip).
import type { ConsoleEvent, ConsoleState } from '../../src/console/types.ts';

export interface Update {
  state: ConsoleState;
  events: ConsoleEvent[];
  reset: boolean;
}

export type Link = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

export function headers(token: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Follows /ui/api/events until the returned function is called. */
export function follow(token: string, onUpdate: (u: Update) => void, onLink: (l: Link) => void): () => void {
  const abort = new AbortController();
  let attempt = 0;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch('/ui/api/events', { headers: headers(token), signal: abort.signal });
        if (res.status === 401) {
          onLink('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            if (/^event: update$/m.test(block) && data) {
              attempt = 0;
              onLink('live');
              onUpdate(JSON.parse(data) as Update);
            }
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onLink('reconnecting');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 500 * 2 ** attempt++)));
    }
  };
  void run();
  return () => abort.abort();
}
