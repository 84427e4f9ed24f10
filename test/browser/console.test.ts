/**
 * The web console in a real browser (Playwright driving Debian's Chromium) against a real
 * three-worker cluster on Kafka and etcd, with admin tokens on and console actions enabled:
 * the partition map and the counts on the page equal what the Admin API says; killing the
 * leader moves its partitions on the page (the page is served by another worker, which keeps
 * its stream across the failover); an operator pauses a connector from the page, after a
 * confirmation, and the state changes; a viewer sees no actions. Screenshots go to
 * test/browser/screenshots/ (ignored by git).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PartitionState } from '../../src/gen/tributary/admin/v1/admin_pb.js';
import { EmbeddedCluster, type ClusterWorker } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

// The few DOM names the page functions below use (they run in the browser; the project's lib has no DOM).
declare const document: { querySelector(selector: string): { textContent: string | null } | null; documentElement: { scrollWidth: number; clientWidth: number }; activeElement: { textContent: string | null } | null };

const CHROMIUM = process.env.TRIBUTARY_CHROMIUM ?? '/usr/bin/chromium';
const shots = fileURLToPath(new URL('./screenshots/', import.meta.url));
const tokens = { admin: 'admin-token-for-the-browser-test', operator: 'operator-token-for-the-browser-test', viewer: 'viewer-token-for-the-browser-test' };

let cluster: EmbeddedCluster;
let browser: Browser;
let dir: string;

/** The HTTP address a worker logged when it bound `127.0.0.1:0`. */
function httpAddress(w: ClusterWorker): string {
  for (const line of w.log) {
    if (!line.includes('HTTP server listening')) continue;
    const address = (JSON.parse(line) as { address?: string }).address;
    if (address) return `http://${address}`;
  }
  throw new Error(`worker ${w.id} logged no HTTP address:\n${w.log.slice(-10).join('\n')}`);
}

/** The partition map as the page draws it: worker id → sorted `connector/partition`. */
async function pageMap(page: Page): Promise<Record<string, string[]>> {
  return page.$$eval('[data-worker]', (sections) =>
    Object.fromEntries(sections.map((s) => [s.getAttribute('data-worker') ?? '', [...s.querySelectorAll('li[data-partition]')].map((li) => li.getAttribute('data-partition') ?? '').sort()]).filter(([, parts]) => parts.length > 0)),
  );
}

/** The same map from the Admin API (the leader's assignments). */
async function adminMap(): Promise<Record<string, string[]>> {
  const { workers } = await cluster.admin().listWorkers({}, { timeoutMs: 15_000 });
  return Object.fromEntries(workers.filter((w) => w.partitions.length > 0).map((w) => [w.id, [...w.partitions].sort()]));
}

async function signIn(page: Page, token: string, principal: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForFunction((p) => document.querySelector('[data-testid=principal]')?.textContent?.startsWith(p), principal, { timeout: 30_000 });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium (apt-get install chromium)`);
  assert.ok(existsSync(fileURLToPath(new URL('../../dist/ui/index.html', import.meta.url))), 'the console is not built: npm run build:ui (scripts/test.mjs runs it before this suite)');
  dir = mkdtempSync(join(tmpdir(), 'tributary-console-'));
  mkdirSync(shots, { recursive: true });
  const file = join(dir, 'tokens.json');
  writeFileSync(
    file,
    JSON.stringify({
      tokens: [
        { token: tokens.admin, principal: 'ada', roles: ['admin'] },
        { token: tokens.operator, principal: 'olga', roles: ['operator'] },
        { token: tokens.viewer, principal: 'victor', roles: ['viewer'] },
      ],
    }),
  );
  cluster = new EmbeddedCluster({ workers: 3, adminMetadata: { authorization: `Bearer ${tokens.admin}` }, startTimeoutMs: 240_000, env: { TRIBUTARY_REST_LISTEN: '127.0.0.1:0', TRIBUTARY_ADMIN_TOKENS_FILE: file, TRIBUTARY_CONSOLE_ACTIONS: 'true' } });
  await cluster.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the console shows the cluster live, follows a leader failover and pauses a connector for an operator', async () => {
  const admin = cluster.admin();
  const topic = `console-${Date.now().toString(36)}`;
  const source = 'numbers';
  const sink = 'numbers-to-file';
  await admin.createConnector({ name: source, config: { 'connector.class': 'verifiable-source', topic, partitions: '6', 'records.per.second': '200', 'topic.creation.default.partitions': '3' } });
  await admin.createConnector({ name: sink, config: { 'connector.class': 'verifiable-sink', topics: topic, 'output.file': join(dir, 'sink.jsonl') } });
  await eventually(
    async () => {
      const { statuses } = await admin.listConnectors({ expandStatus: true }, { timeoutMs: 15_000 });
      // The source runs (its records/s is checked); the sink's 3 partitions are assigned (how fast
      // they reach RUNNING does not matter to the page: it must show whatever state they are in).
      const byName = new Map(statuses.map((s) => [s.name, s.partitions]));
      const running = (byName.get(source) ?? []).filter((p) => p.state === PartitionState.RUNNING).length;
      const assigned = (byName.get(sink) ?? []).filter((p) => p.workerId !== '').length;
      if (running !== 6 || assigned !== 3) throw new Error(`partition states: ${JSON.stringify(statuses.map((s) => [s.name, s.partitions.map((p) => [p.state, p.workerId])]))}`);
      return true;
    },
    { timeoutMs: 180_000, intervalMs: 500, message: '6 source partitions running and 3 sink partitions assigned' },
  );

  // The page comes from a worker that is not the leader: the leader is the one killed below.
  const leader = await cluster.leader();
  const host = cluster.live().find((w) => w !== leader)!;
  const url = `${httpAddress(host)}/ui/`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}#/cluster`);
  await signIn(page, tokens.operator, 'olga');

  // The partition map equals the leader's assignments.
  await eventually(async () => {
    assert.deepEqual(await pageMap(page), await adminMap());
    return true;
  }, { timeoutMs: 60_000, intervalMs: 500, message: 'the page draws the partition map the Admin API reports' });
  // Under load an election may happen meanwhile: the page must follow whoever leads now.
  await eventually(async () => {
    assert.equal(await page.textContent('[data-testid=leader]'), (await admin.getCluster({}, { timeoutMs: 15_000 })).leaderId);
    return true;
  }, { timeoutMs: 30_000, intervalMs: 500, message: 'the page shows the leader the Admin API reports' });
  await page.screenshot({ path: join(shots, 'cluster.png'), fullPage: true });

  // Counts per connector equal the Admin API's; the source's records/s comes through.
  await page.goto(`${url}#/connectors`);
  await eventually(async () => {
    for (const name of [source, sink]) {
      const { status } = await admin.getConnectorStatus({ name }, { timeoutMs: 15_000 });
      const counts = status!.counts!;
      const row = page.locator(`tr[data-connector="${name}"]`);
      assert.equal(await row.locator('[data-count=running]').textContent(), String(counts.running), `${name} running`);
      assert.equal(await row.locator('[data-count=paused]').textContent(), String(counts.paused), `${name} paused`);
      assert.equal(await row.locator('[data-count=failed]').textContent(), String(counts.failed), `${name} failed`);
    }
    const rate = Number((await page.locator(`tr[data-connector="${source}"] [data-testid=rate]`).textContent())?.replace(/,/g, ''));
    assert.ok(rate > 0, `records/s of ${source} on the page: ${rate}`);
    assert.match((await page.locator(`tr[data-connector="${sink}"] [data-testid=lag]`).textContent()) ?? '', /^\d[\d,]*$/);
    return true;
  }, { timeoutMs: 60_000, intervalMs: 500, message: 'connector counts on the page equal the Admin API' });
  await page.screenshot({ path: join(shots, 'connectors.png'), fullPage: true });

  // Kill the leader: its partitions move, and the page (served by another worker) shows it.
  // (Should an election under load have made the page's own worker the leader, another worker goes.)
  await page.goto(`${url}#/cluster`);
  const leaderNow = await cluster.leader();
  const map = await adminMap();
  const victim = leaderNow !== host ? leaderNow : cluster.live().find((w) => w !== host && (map[w.id]?.length ?? 0) > 0)!;
  const moved = map[victim.id] ?? [];
  assert.ok(moved.length > 0, `${victim.id} runs partitions`);
  const killedAt = Date.now();
  await cluster.kill(victim, 'SIGKILL');
  const after = await eventually(async () => {
    const map = await pageMap(page);
    assert.equal(map[victim.id], undefined, `the page still shows partitions on ${victim.id}`);
    const all = Object.values(map).flat().sort();
    assert.equal(all.length, 9, `partitions on live workers: ${JSON.stringify(map)}`);
    assert.deepEqual(map, await adminMap());
    return map;
  }, { timeoutMs: 60_000, intervalMs: 250, message: `the killed leader's partitions move on the page` });
  console.log(`[browser] ${moved.length} partitions of the killed ${victim === leaderNow ? 'leader' : 'worker'} ${victim.id} shown on other workers ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill: ${JSON.stringify(after)}`);
  if (victim === leaderNow) {
    await page.waitForFunction((old) => { const l = document.querySelector('[data-testid=leader]')?.textContent; return !!l && l !== old && l !== 'none'; }, victim.id, { timeout: 30_000 });
  }
  await page.goto(`${url}#/events`);
  if (victim === leaderNow) await page.locator('li[data-kind=leader-changed]').first().waitFor({ timeout: 30_000 });
  await page.locator('li[data-kind=partition-moved]').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'events.png'), fullPage: true });

  // From the keyboard: Enter on Pause opens the confirmation, Escape closes it without acting and
  // gives the focus back to Pause.
  await page.goto(`${url}#/connectors/${source}`);
  const pause = page.getByRole('button', { name: 'Pause', exact: true });
  await pause.focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Pause', 'focus returns to the button that opened the dialog');
  assert.equal(await page.textContent('[data-testid=target]'), 'RUNNING', 'Escape did not act');

  // An operator pauses the source from the page, after confirming.
  await pause.click();
  await page.locator('dialog[open]').waitFor();
  await page.click('[data-testid=confirm]');
  await page.waitForFunction(() => document.querySelector('[data-testid=target]')?.textContent === 'PAUSED', null, { timeout: 30_000 });
  await page.locator('h2 [data-state=PAUSED]').waitFor({ timeout: 30_000 });
  // The page's own worker answers from here on: the client above may be the killed worker's.
  const live = cluster.admin(host);
  const { info } = await live.getConnector({ name: source }, { timeoutMs: 15_000 });
  assert.equal(info!.targetState, 'PAUSED');
  const { status } = await live.getConnectorStatus({ name: source }, { timeoutMs: 15_000 });
  assert.equal(status!.counts!.paused, 6, 'every source partition is paused');
  await page.screenshot({ path: join(shots, 'connector.png'), fullPage: true });
  // Its records/s comes from the workers' counters, which stop growing once every partition is
  // paused: the page shows 0, not the last rate and not "unknown".
  await page.goto(`${url}#/connectors`);
  await eventually(async () => {
    assert.equal(await page.locator(`tr[data-connector="${source}"] [data-testid=rate]`).textContent(), '0.0');
    return true;
  }, { timeoutMs: 30_000, intervalMs: 500, message: `records/s of the paused ${source} falls to 0 on the page` });

  // A viewer gets the same views and no actions; the server refuses its action too.
  const viewer = await context.newPage();
  await viewer.goto(`${url}#/connectors/${source}`);
  await signIn(viewer, tokens.viewer, 'victor');
  await viewer.locator('[data-testid=read-only]').waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Resume', exact: true }).count(), 0);
  const refused = await fetch(`${url}api/connectors/${source}/actions`, { method: 'POST', headers: { authorization: `Bearer ${tokens.viewer}`, 'content-type': 'application/json', 'x-tributary-console': '1' }, body: JSON.stringify({ action: 'resume' }) });
  assert.equal(refused.status, 403);
  // Without a token nothing is served from the API.
  assert.equal((await fetch(`${url}api/events`)).status, 401);
  // The REST API answers as its caller (the token is passed through to the Admin API).
  const rest = await fetch(`${httpAddress(host)}/connectors`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
  assert.equal(rest.status, 200);
  assert.deepEqual(((await rest.json()) as string[]).sort(), [sink, source].sort());
  // KIP-976 scope=cluster: the worker sets every live worker's level with the caller's own token.
  const asAdmin = { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' };
  const level = async (w: ClusterWorker) => ((await (await fetch(`${httpAddress(w)}/admin/loggers/root`, { headers: asAdmin })).json()) as { level: string }).level;
  const initial = await level(host);
  const want = initial === 'WARN' ? 'INFO' : 'WARN';
  const put = (token: string, to: string) => fetch(`${httpAddress(host)}/admin/loggers/root?scope=cluster`, { method: 'PUT', headers: { ...asAdmin, authorization: `Bearer ${token}` }, body: JSON.stringify({ level: to }) });
  assert.equal((await put(tokens.viewer, want)).status, 403, 'a viewer may not set log levels');
  assert.equal((await put(tokens.admin, want)).status, 204);
  for (const w of cluster.live()) assert.equal(await level(w), want, `${w.id}'s level`);
  assert.equal((await put(tokens.admin, initial)).status, 204);

  // Phone width: the same page, one column.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const small = await phone.newPage();
  await small.goto(`${url}#/cluster`);
  await signIn(small, tokens.viewer, 'victor');
  await small.locator('li[data-partition]').first().waitFor();
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the cluster view scrolls sideways by ${overflow}px at 390 px wide`);
  await small.screenshot({ path: join(shots, 'phone-cluster.png'), fullPage: true });
  await phone.close();
  await context.close();
});
