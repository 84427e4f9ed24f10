#!/usr/bin/env node
// Checks that every installed package's `engines.node` holds for the Node versions Tributary
// says it runs on:
// - runtime packages (everything `npm i tributary` installs): their range must contain the whole
//   of package.json's `engines.node` (semver subset), so no user on a supported Node meets an
//   EBADENGINE warning or a missing API;
// - development packages (tests, lint, codegen): their range must contain this Node and every
//   version given with --node (CI runs on Node 22 and passes the Node 24 binary it also runs the
//   unit tests on).
// Known exceptions are listed below with the reason; one that no longer applies fails the check
// too, so the list cannot go stale.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const declared = pkg.engines?.node;
if (!declared || !semver.validRange(declared)) throw new Error(`package.json engines.node must be a semver range, got ${JSON.stringify(declared)}`);

const devNodes = [process.version];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] !== '--node' || !semver.valid(process.argv[i + 1])) throw new Error(`usage: check-engines.mjs [--node <version>]…, got ${process.argv.slice(2).join(' ')}`);
  devNodes.push(process.argv[++i]);
}
for (const v of devNodes) if (!semver.satisfies(v, declared)) throw new Error(`Node ${v} is outside package.json engines.node ${declared}`);

/** name → why its declared engines are wider than the truth, and what proves it runs */
const exceptions = {};

const problems = [];
const used = new Set();
let checked = 0;
for (const [path, meta] of Object.entries(lock.packages ?? {})) {
  if (path === '' || !path.includes('node_modules/')) continue;
  const range = meta.engines?.node;
  if (typeof range !== 'string') continue;
  checked++;
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const where = `${name}@${meta.version} (${path}) engines.node "${range}"`;
  let ok;
  if (!semver.validRange(range)) ok = false;
  else if (meta.dev) ok = devNodes.every((v) => semver.satisfies(v, range));
  else ok = semver.subset(declared, range);
  if (ok) continue;
  if (exceptions[name]) {
    used.add(name);
    console.log(`exception: ${where}: ${exceptions[name]}`);
    continue;
  }
  problems.push(meta.dev ? `${where} excludes one of the Node versions development runs on: ${devNodes.join(', ')}` : `${where} does not cover package.json engines.node "${declared}"`);
}
for (const name of Object.keys(exceptions)) if (!used.has(name)) problems.push(`the exception for ${name} no longer applies: remove it from scripts/check-engines.mjs`);
if (problems.length > 0) {
  for (const p of problems) console.error(`engines: ${p}`);
  process.exit(1);
}
console.log(`engines: ${checked} packages declare engines.node; runtime ones cover "${declared}", development ones cover ${devNodes.join(', ')}`);
