#!/usr/bin/env node
/**
 * Checks deploy/ without a container engine or a Kubernetes cluster:
 * 1. static: the Dockerfile's shape (multi-stage, non-root, tini, HEALTHCHECK, release only),
 *    the Compose file against the Compose Specification schema, `helm lint` and `helm template`
 *    of the chart, `systemd-analyze verify` of the unit; every environment variable any of them
 *    sets for a worker must be one the worker reads (no setting silently ignored);
 * 2. processes (unless --static): the command lines the manifests start, run here, each
 *    service on a loopback address of its own (127.B.x.y stands in for a container's address;
 *    the service names map to them): Compose's three etcd members, its three workers (image
 *    ENTRYPOINT + command, under tini when installed) and its demo connector commands, until the
 *    sink holds numbered records from every partition; the image HEALTHCHECK command; the
 *    chart's worker (rendered env) with its HTTP readiness and liveness probes; the systemd unit's ExecStart with its
 *    env file. Every worker must then exit 0 on SIGTERM within its manifest's grace period.
 *
 * `tributary` is the compiled release (dist/cli.js, built when older than src/), as the image's
 * installed command runs it. Needs KAFKA_BOOTSTRAP, ETCD_ENDPOINTS and the etcd binary. Without helm
 * the chart is skipped with a message, unless TRIBUTARY_REQUIRE_HELM=1 (CI).
 *   node --import tsx scripts/check-deploy.ts [--static]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Etcd3 } from 'etcd3';
import { WORKER_ENVIRONMENT } from '../src/cli/worker-options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staticOnly = process.argv.includes('--static');
const problems: string[] = [];
const log = (msg: string) => console.log(`[deploy] ${msg}`);
const check = (ok: unknown, what: string) => {
  if (!ok) problems.push(what);
};
/** Variables the worker reads, plus the CLI's TRIBUTARY_SERVER and the manifests' own helpers. */
const knownEnv = new Set([...WORKER_ENVIRONMENT, 'TRIBUTARY_LOG_LEVEL', 'TRIBUTARY_SERVER', 'NODE_ENV', 'POD_NAME']);
const checkEnv = (where: string, names: Iterable<string>) => {
  for (const n of names) check(knownEnv.has(n), `${where}: sets ${n}, which no part of Tributary reads`);
};
const read = (p: string) => readFileSync(join(root, p), 'utf8');
type Json = Record<string, unknown>;

// ---------------------------------------------------------------- Dockerfile
interface Instruction { op: string; args: string }
function dockerfile(): { stages: Instruction[][]; final: Instruction[] } {
  const lines = read('deploy/image/Dockerfile').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const ins = { op: op!.toUpperCase(), args: rest.join(' ') };
    if (ins.op === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push(ins);
  }
  const final = stages[stages.length - 1] ?? [];
  check(stages.length >= 2, 'Dockerfile: must be multi-stage (a build stage, then the release)');
  const user = final.filter((i) => i.op === 'USER').pop()?.args;
  check(user && !/^(root|0)(:|$)/.test(user), `Dockerfile: the final stage must run as a non-root USER, has ${user ?? 'none'}`);
  const entry = final.find((i) => i.op === 'ENTRYPOINT');
  check(entry && /tini/.test(entry.args), 'Dockerfile: ENTRYPOINT must start tini (PID 1 that forwards signals and reaps plugin processes)');
  const health = final.find((i) => i.op === 'HEALTHCHECK');
  check(health && /CMD \["tributary", "health"/.test(health.args), 'Dockerfile: HEALTHCHECK must run `tributary health`');
  for (const i of final.filter((x) => x.op === 'COPY' || x.op === 'ADD')) check(i.op === 'COPY' && i.args.startsWith('--from='), `Dockerfile: the release stage copies only from the build stage, found ${i.op} ${i.args}`);
  for (const i of final.filter((x) => x.op === 'ENV')) checkEnv('Dockerfile ENV', [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1]!));
  check(final.some((i) => i.op === 'RUN' && /npm install --global --omit=dev/.test(i.args)), 'Dockerfile: the release stage installs the packed tarball with --omit=dev');
  return { stages, final };
}

const jsonArray = (args: string): string[] => {
  const start = args.indexOf('[');
  return JSON.parse(args.slice(start)) as string[];
};

// ---------------------------------------------------------------- Compose
function compose(): Json {
  const doc = parseYaml(read('deploy/compose/compose.yaml'), { merge: true }) as Json;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  const validate = ajv.compile(JSON.parse(read('deploy/compose/schema/compose-spec.json')) as Json);
  if (!validate(doc)) for (const e of validate.errors ?? []) problems.push(`compose.yaml ${e.instancePath || '/'}: ${e.message} ${JSON.stringify(e.params)}`);
  const services = doc.services as Record<string, Json>;
  const volumes = Object.keys((doc.volumes as Json | undefined) ?? {});
  for (const [name, s] of Object.entries(services)) {
    for (const dep of Object.keys((s.depends_on as Json | undefined) ?? {})) check(services[dep], `compose.yaml ${name}: depends_on unknown service ${dep}`);
    for (const v of (s.volumes as string[] | undefined) ?? []) {
      const source = v.split(':')[0]!;
      if (!source.startsWith('.') && !source.startsWith('/')) check(volumes.includes(source), `compose.yaml ${name}: volume ${source} is not declared`);
    }
    if (String(s.image).startsWith('tributary')) checkEnv(`compose.yaml ${name}`, Object.keys((s.environment as Json | undefined) ?? {}));
  }
  const etcds = Object.keys(services).filter((n) => /^etcd\d$/.test(n));
  const workers = Object.keys(services).filter((n) => /^worker-\d$/.test(n));
  check(etcds.length === 3, `compose.yaml: 3 etcd members, found ${etcds.length}`);
  check(workers.length === 3, `compose.yaml: 3 workers, found ${workers.length}`);
  check(services.kafka && /KRaft|broker,controller/.test(JSON.stringify(services.kafka.environment)), 'compose.yaml: a KRaft Kafka');
  for (const w of workers) check(parseDuration(String(services[w]!.stop_grace_period)) > 30, `compose.yaml ${w}: stop_grace_period must exceed the 30 s drain`);
  return doc;
}

function parseDuration(text: string): number {
  const m = /^(\d+)(s|m)?$/.exec(text);
  return m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : NaN;
}

// ---------------------------------------------------------------- Helm
function helmBinary(): string | undefined {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  for (const c of [process.env.HELM, join(cache, 'tributary', 'bin', 'helm')]) if (c && existsSync(c)) return c;
  return spawnSync('helm', ['version', '--short'], { encoding: 'utf8' }).status === 0 ? 'helm' : undefined;
}

function helmTemplate(helm: string, sets: string[]): Json[] {
  const r = spawnSync(helm, ['template', 'tributary', join(root, 'deploy/helm/tributary'), '--namespace', 'data', ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  if (r.status !== 0) {
    problems.push(`helm template ${sets.join(' ')}: ${r.stderr}`);
    return [];
  }
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Json).filter(Boolean);
}

function helm(): { helm: string | undefined } {
  const bin = helmBinary();
  if (!bin) {
    const how = 'helm not found (PATH, $HELM or ~/.cache/tributary/bin/helm): GOBIN=~/.cache/tributary/bin go install helm.sh/helm/v3/cmd/helm@v3.22.0 (scripts/ci-deploy-checks.sh build does)';
    if (process.env.TRIBUTARY_REQUIRE_HELM === '1') problems.push(how);
    else log(`SKIP the chart checks: ${how}`);
    return { helm: undefined };
  }
  const lint = spawnSync(bin, ['lint', '--strict', join(root, 'deploy/helm/tributary')], { encoding: 'utf8' });
  check(lint.status === 0, `helm lint --strict: ${lint.stdout}${lint.stderr}`);
  const docs = helmTemplate(bin, []);
  const kinds = docs.map((d) => d.kind);
  for (const k of ['StatefulSet', 'Service', 'ConfigMap', 'PodDisruptionBudget']) check(kinds.includes(k), `helm template: renders no ${k}`);
  check(!kinds.includes('ServiceMonitor'), 'helm template: the ServiceMonitor is off by default');
  const sts = docs.find((d) => d.kind === 'StatefulSet') as { spec: { template: { spec: Json } } } | undefined;
  if (sts) {
    const pod = sts.spec.template.spec;
    const c = (pod.containers as Json[])[0]!;
    const grace = Number(pod.terminationGracePeriodSeconds);
    const preStop = Number(((c.lifecycle as { preStop: { exec: { command: string[] } } }).preStop.exec.command)[1]);
    check(grace > 30 + preStop, `helm: terminationGracePeriodSeconds (${grace}) must exceed preStop (${preStop}) + the 30 s drain`);
    const ports = c.ports as { name: string; containerPort: number }[];
    const httpPort = ports.find((p) => p.name === 'http')?.containerPort;
    const cmData = (docs.find((d) => d.kind === 'ConfigMap') as { data: Record<string, string> } | undefined)?.data ?? {};
    check(httpPort !== undefined && cmData.TRIBUTARY_METRICS_LISTEN === `0.0.0.0:${httpPort}`, `helm: the container's http port (${httpPort}) must be the one TRIBUTARY_METRICS_LISTEN (${cmData.TRIBUTARY_METRICS_LISTEN}) serves`);
    for (const [p, path] of [['readinessProbe', '/health'], ['livenessProbe', '/health/live']] as const) {
      const probe = (c[p] as { httpGet?: { path: string; port: string } } | undefined)?.httpGet;
      check(probe?.path === path && probe.port === 'http', `helm: ${p} must GET ${path} on the http port, has ${JSON.stringify(c[p])}`);
    }
    check((c.resources as { requests?: Json }).requests, 'helm: resource requests');
    checkEnv('helm StatefulSet env', (c.env as { name: string }[]).map((e) => e.name));
  }
  const cm = docs.find((d) => d.kind === 'ConfigMap') as { data: Json } | undefined;
  if (cm) checkEnv('helm ConfigMap', Object.keys(cm.data));
  const withExtras = helmTemplate(bin, ['serviceMonitor.enabled=true', 'secret.data.ca\\.pem=PEM']);
  check(withExtras.some((d) => d.kind === 'ServiceMonitor'), 'helm template --set serviceMonitor.enabled=true: renders no ServiceMonitor');
  check(withExtras.some((d) => d.kind === 'Secret'), 'helm template --set secret.data…: renders no Secret');
  log(`helm lint --strict and helm template: ${kinds.join(', ')}`);
  return { helm: bin };
}

// ---------------------------------------------------------------- systemd
function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read(path).split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function systemd(): { execStart: string[] } {
  const unit = read('deploy/systemd/tributary-worker.service');
  const key = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1];
  check(/^(on-failure|always)$/.test(key('Restart') ?? ''), 'systemd: Restart=on-failure or always');
  check(key('KillSignal') === 'SIGTERM', 'systemd: KillSignal=SIGTERM');
  check(Number(key('TimeoutStopSec')) > 30, 'systemd: TimeoutStopSec must exceed the 30 s drain');
  for (const h of ['NoNewPrivileges', 'ProtectSystem', 'PrivateTmp', 'DynamicUser']) check(key(h), `systemd: hardening option ${h}`);
  checkEnv('systemd tributary.env', Object.keys(envFile('deploy/systemd/tributary.env')));
  if (spawnSync('systemd-analyze', ['--version']).status === 0) {
    const v = spawnSync('systemd-analyze', ['verify', join(root, 'deploy/systemd/tributary-worker.service')], { encoding: 'utf8' });
    check(v.status === 0 && (v.stdout + v.stderr).trim() === '', `systemd-analyze verify: ${v.stdout}${v.stderr}`);
    log('systemd-analyze verify: clean');
  } else {
    problems.push('systemd-analyze not found');
  }
  return { execStart: (key('ExecStart') ?? '').split(/\s+/) };
}

// ---------------------------------------------------------------- processes
const started: ChildProcess[] = [];
const outputs: { name: string; output: string[] }[] = [];
const lastOutput = () => outputs.map((o) => `--- ${o.name}\n${o.output.join('').slice(-600)}`).join('\n');
interface Proc { name: string; child: ChildProcess; output: string[]; exit: Promise<number | null> }
/** This shell's environment without the settings a manifest must give itself. */
const baseEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TRIBUTARY_|ETCD_|KAFKA_)/.test(k)));
function run(name: string, argv: string[], env: Record<string, string>, cwd: string, bin: string): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { ...baseEnv(), PATH: `${bin}:${process.env.PATH}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const output: string[] = [];
  const keep = (c: Buffer) => {
    output.push(c.toString());
    if (output.length > 400) output.splice(0, 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  outputs.push({ name, output });
  return { name, child, output, exit };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${started.length ? `; last output of ${started.length} processes:\n${lastOutput()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopWithin(p: Proc, graceSeconds: number): Promise<void> {
  p.child.kill('SIGTERM');
  const code = await Promise.race([p.exit, new Promise<'late'>((r) => setTimeout(() => r('late'), graceSeconds * 1000))]);
  check(code === 0, `${p.name}: SIGTERM must drain and exit 0 within ${graceSeconds} s, got ${code}:\n${p.output.join('').slice(-1500)}`);
}

function buildIfStale(): void {
  const newest = (dir: string): number => readdirSync(dir, { recursive: true }).map((f) => statSync(join(dir, String(f))).mtimeMs).reduce((a, b) => Math.max(a, b), 0);
  const dist = join(root, 'dist', 'cli.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(root, 'src'))) return;
  log('dist/ is older than src/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

async function processes(doc: Json, final: Instruction[], helmBin: string | undefined, execStart: string[]): Promise<void> {
  const kafka = process.env.KAFKA_BOOTSTRAP;
  const localEtcd = process.env.ETCD_ENDPOINTS;
  if (!kafka || !localEtcd) throw new Error('set KAFKA_BOOTSTRAP and ETCD_ENDPOINTS (deploy/local/up.sh writes them to $TRIBUTARY_LOCAL_DIR/env)');
  buildIfStale();
  const work = mkdtempSync(join(tmpdir(), 'tributary-deploy-'));
  try {
    // `tributary` on PATH is the compiled release, as in the image.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tributary'), `#!/bin/sh\nexec "${process.execPath}" --max-semi-space-size=64 --enable-source-maps "${join(root, 'dist', 'cli.js')}" "$@"\n`);
    chmodSync(join(bin, 'tributary'), 0o755);
    const tini = spawnSync('tini', ['--version']).status === 0 ? 'tini' : undefined;
    if (!tini) log('tini is not installed here: the ENTRYPOINT runs without it (apt-get install tini to include it)');
    const entrypoint = jsonArray(final.find((i) => i.op === 'ENTRYPOINT')!.args).map((a) => (a === '/usr/bin/tini' ? tini : a)).filter((a): a is string => a !== undefined && !(a === '--' && !tini));
    const imageEnv: Record<string, string> = {};
    for (const i of final.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) imageEnv[m[1]!] = m[2]!;
    const healthcheck = jsonArray(final.find((i) => i.op === 'HEALTHCHECK')!.args);

    // Service name -> a loopback address of its own; "0.0.0.0" and "127.0.0.1" inside a service mean its own address.
    const block = 20 + (process.pid % 200);
    const services = doc.services as Record<string, Json>;
    const names = Object.keys(services);
    const addressOf = new Map(names.map((n, i) => [n, `127.${block}.${i + 1}.1`]));
    const map = (text: string, self: string): string => {
      let t = text.replaceAll('0.0.0.0', addressOf.get(self)!).replaceAll('127.0.0.1', addressOf.get(self)!).replace(/\bkafka:9092\b/g, kafka);
      for (const n of [...names].sort((a, b) => b.length - a.length)) t = t.replace(new RegExp(`(?<![\\w.-])${n}(?=:\\d)`, 'g'), addressOf.get(n)!);
      return t;
    };
    const envOf = (name: string, base: Record<string, string> = {}) => Object.fromEntries(Object.entries({ ...base, ...((services[name]!.environment as Record<string, string | number>) ?? {}) }).map(([k, v]) => [k, map(String(v), name)]));

    // etcd: the three members' command lines, each with its data dir in the work dir.
    const etcds = names.filter((n) => /^etcd\d$/.test(n));
    const etcdProcs = etcds.map((n) => {
      const argv = (services[n]!.command as string[]).map((a) => (a === '/etcd-data' ? join(work, n) : map(a, n)));
      return run(n, argv, envOf(n), work, bin);
    });
    const endpoints = etcds.map((n) => `http://${addressOf.get(n)}:2379`);
    await until('the 3 etcd members to form a cluster', 60_000, async () => {
      for (const p of etcdProcs) if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.output.join('').slice(-1500)}`);
      const client = new Etcd3({ hosts: endpoints, defaultCallOptions: () => ({ deadline: Date.now() + 2_000 }) });
      try {
        const members = await client.cluster.memberList({});
        await client.put('/deploy-check').value('ok');
        return members.members.length === 3 ? true : undefined;
      } catch {
        return undefined;
      } finally {
        client.close();
      }
    });
    log(`compose: etcd ${etcds.join(', ')} formed a 3-member cluster from their command lines (${endpoints.join(', ')})`);

    // Workers: image ENTRYPOINT + the service's command, image ENV + the service's environment.
    const shared = join(work, 'sink-data');
    mkdirSync(shared);
    const workerNames = names.filter((n) => /^worker-\d$/.test(n));
    const workers = workerNames.map((n) => {
      const cwd = join(work, n);
      mkdirSync(cwd);
      symlinkSync(shared, join(cwd, 'out'));
      const env = envOf(n, Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, map(v, n)])));
      return { name: n, env, proc: run(n, [...entrypoint, ...(services[n]!.command as string[])], env, cwd, bin) };
    });
    for (const w of workers) {
      await until(`${w.name}'s HEALTHCHECK to pass`, 90_000, () => {
        if (w.proc.child.exitCode !== null) throw new Error(`${w.name} exited: ${w.proc.output.join('').slice(-2000)}`);
        return spawnSync(healthcheck[0]!, healthcheck.slice(1), { env: { ...baseEnv(), PATH: `${bin}:${process.env.PATH}`, ...w.env } }).status === 0 || undefined;
      });
    }
    log(`compose: ${workerNames.join(', ')} started from the image's command line and pass its HEALTHCHECK`);

    // The demo connectors' commands, in depends_on order.
    const composeDir = join(root, 'deploy', 'compose');
    for (const n of ['demo-source', 'demo-sink']) {
      const argv = (services[n]!.command as string[]).map((a) => map(a.replace(/^\/demo\//, `${join(composeDir, 'connectors')}/`), n));
      const r = spawnSync(entrypoint[0]!, [...entrypoint.slice(1), ...argv], { env: { ...baseEnv(), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
      check(r.status === 0, `compose ${n}: ${argv.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
    }
    const sinkFile = join(shared, 'verify-out.jsonl');
    const partitions = Number((JSON.parse(readFileSync(join(composeDir, 'connectors', 'verifiable-source.json'), 'utf8')) as { config: Json }).config.partitions);
    const counts = await until('the demo sink to hold 50 numbered records of every partition', 120_000, () => {
      if (!existsSync(sinkFile)) return undefined;
      const seqs = new Map<string, Set<number>>();
      for (const line of readFileSync(sinkFile, 'utf8').split('\n')) {
        if (!line.startsWith('{"topic"')) continue;
        const r = JSON.parse(line) as { source: string; seq: number };
        if (!seqs.has(r.source)) seqs.set(r.source, new Set());
        seqs.get(r.source)!.add(r.seq);
      }
      return seqs.size === partitions && [...seqs.values()].every((s) => s.size >= 50) ? seqs : undefined;
    });
    for (const [p, s] of counts) {
      const max = Math.max(...s);
      const gaps = max + 1 - s.size;
      check(gaps === 0, `compose demo: partition ${p} has ${gaps} missing seqnos below ${max}`);
    }
    log(`compose demo connectors: ${[...counts].map(([p, s]) => `${p}=${s.size}`).join(' ')} records in the sink, no gaps`);

    // The chart's worker: rendered ConfigMap + container env for pod tributary-0.
    if (helmBin) {
      const docs = helmTemplate(helmBin, [`etcd.endpoints=${localEtcd.replaceAll(',', '\\,')}`, `kafka.bootstrap=${kafka.replaceAll(',', '\\,')}`, `cluster=deploy-check-${process.pid}`]);
      const cm = (docs.find((d) => d.kind === 'ConfigMap') as { data: Record<string, string> }).data;
      const sts = docs.find((d) => d.kind === 'StatefulSet') as { spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: { args: string[]; env: { name: string; value?: string }[] }[] } } } };
      const pod = sts.spec.template.spec;
      const self = `127.${block}.200.1`;
      const env: Record<string, string> = { ...imageEnv, ...cm, POD_NAME: 'tributary-0' };
      for (const e of pod.containers[0]!.env) if (e.value !== undefined) env[e.name] = e.value.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '');
      // The pod's own addresses move to its loopback alias; the local etcd and Kafka stay where they are.
      for (const k of Object.keys(env)) {
        if (env[k] === localEtcd || env[k] === kafka) continue;
        env[k] = env[k]!.replaceAll('0.0.0.0', self).replaceAll('127.0.0.1', self).replace(/^tributary-0\.[\w.-]+\.svc:/, `${self}:`);
      }
      const cwd = join(work, 'helm');
      mkdirSync(cwd);
      const p = run('helm tributary-0', [...entrypoint, ...pod.containers[0]!.args], env, cwd, bin);
      const probes = (pod.containers[0] as unknown as { readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } });
      for (const path of [probes.readinessProbe.httpGet.path, probes.livenessProbe.httpGet.path]) {
        await until(`the chart worker to answer its probe GET ${path}`, 90_000, async () => {
          if (p.child.exitCode !== null) throw new Error(`the chart's worker exited: ${p.output.join('').slice(-2000)}`);
          const res = await fetch(`http://${env.TRIBUTARY_METRICS_LISTEN}${path}`).catch(() => undefined);
          return res?.status === 200 || undefined;
        });
      }
      check(env.TRIBUTARY_WORKER_ID === 'tributary-0', `helm: the worker id is the pod name, got ${env.TRIBUTARY_WORKER_ID}`);
      await stopWithin(p, pod.terminationGracePeriodSeconds);
      log(`helm: the StatefulSet's worker ran as tributary-0 from the rendered env, answered its readiness and liveness probes, drained on SIGTERM within ${pod.terminationGracePeriodSeconds} s`);
    }

    // The systemd unit's ExecStart with its env file (addresses pointed at the local services).
    {
      const self = `127.${block}.201.1`;
      const env = envFile('deploy/systemd/tributary.env');
      Object.assign(env, { ETCD_ENDPOINTS: localEtcd, KAFKA_BOOTSTRAP: kafka, TRIBUTARY_LISTEN: `${self}:8083`, TRIBUTARY_ADVERTISED_ADDRESS: `${self}:8083`, TRIBUTARY_CLUSTER: `deploy-check-systemd-${process.pid}` });
      const cwd = join(work, 'systemd');
      mkdirSync(cwd);
      const p = run('systemd tributary-worker', execStart, env, cwd, bin);
      await until('the systemd worker to serve', 90_000, () => {
        if (p.child.exitCode !== null) throw new Error(`the systemd unit's worker exited: ${p.output.join('').slice(-2000)}`);
        return spawnSync('tributary', ['health', '--server', `${self}:8083`], { env: { ...baseEnv(), PATH: `${bin}:${process.env.PATH}` } }).status === 0 || undefined;
      });
      const unit = read('deploy/systemd/tributary-worker.service');
      await stopWithin(p, Number(/^TimeoutStopSec=(\d+)/m.exec(unit)![1]));
      log(`systemd: ExecStart (${execStart.join(' ')}) with tributary.env served and drained on SIGTERM within TimeoutStopSec`);
    }

    // Compose workers: stop one at a time, as `docker compose stop` would.
    for (const w of workers) await stopWithin(w.proc, parseDuration(String(services[w.name]!.stop_grace_period)));
    log('compose: every worker drained and exited 0 on SIGTERM within stop_grace_period');
  } finally {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  const { final } = dockerfile();
  log('Dockerfile: multi-stage, non-root, tini, HEALTHCHECK, release stage copies only the packed tarball');
  const doc = compose();
  log('compose.yaml: valid against the Compose Specification schema');
  const { helm: helmBin } = helm();
  const { execStart } = systemd();
  if (!staticOnly && problems.length === 0) await processes(doc, final, helmBin, execStart);
} catch (err) {
  problems.push(err instanceof Error ? err.message : String(err));
}
for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
if (problems.length > 0) {
  for (const p of problems) console.error(`[deploy] FAIL ${p}`);
  process.exit(1);
}
log('ok');
process.exit(0);
