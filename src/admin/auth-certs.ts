/**
 * Admin identities from mTLS client certificates (docs/security.md). A certificate the worker's
 * CA verified names itself by its subject CN (`CN=alice`) and each subjectAltName entry
 * (`DNS:alice.internal`, `URI:spiffe://prod/ci`, `email:alice@example.com`, `IP:10.0.0.7`); the
 * worker-level file `admin.identities.file` maps such identities to grants:
 *
 *   {"identities": [{"identity": "CN=alice", "principal": "alice", "roles": ["admin"]},
 *                   {"identity": "URI:spiffe://prod/ci", "roles": ["operator:team-a-*"]}],
 *    "forwarders": ["CN=worker-*"]}
 *
 * `forwarders` are the workers' own certificates: a non-leader worker forwards a call it
 * received to the leader with its own certificate, so it passes the caller's verified identities
 * along in metadata, and the leader believes that metadata only from a forwarder. A forwarder's
 * certificate never gets a role of its own (so the REST API, which calls the local gRPC API with
 * the worker's certificate, cannot act on the worker's authority).
 *
 * `*` in an identity or forwarder matches any run of characters; everything else is literal.
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import { describeGrant, makePrincipal, parseGrant, ROLES, type Grant, type Principal } from './auth-grants.js';

const KEY = 'admin.identities.file';

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The identities a verified certificate presents: `CN=…` first, then each SAN in order. */
export function certificateIdentities(cert: PeerCertificate): string[] {
  const out: string[] = [];
  const cn = cert.subject?.CN;
  for (const c of Array.isArray(cn) ? cn : cn ? [cn] : []) out.push(`CN=${c}`);
  // Node renders SANs as "DNS:a, IP Address:1.2.3.4, URI:…"; a value with a comma is quoted.
  for (const part of (cert.subjectaltname ?? '').match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const entry = part.trim();
    if (!entry) continue;
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    let type = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (type === 'IP Address') type = 'IP';
    if (value.startsWith('"')) value = JSON.parse(value) as string;
    out.push(`${type}:${value}`);
  }
  return out;
}

interface Mapping {
  identity: string;
  match: RegExp;
  principal: string;
  grants: Grant[];
}

export class CertificateIdentities {
  private constructor(
    private readonly mappings: readonly Mapping[],
    private readonly forwarders: readonly RegExp[],
  ) {}

  /** Reads the mapping file; INVALID_ARGUMENT naming `admin.identities.file` when it is wrong. */
  static fromFile(path: string): CertificateIdentities {
    const bad = (message: string) => new InvalidArgumentError('invalid worker settings', [{ key: KEY, message }]);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw bad(`cannot read identities file ${path}: ${(err as Error).message}`);
    }
    const { identities, forwarders, ...rest } = (raw ?? {}) as { identities?: unknown; forwarders?: unknown };
    const unknown = Object.keys(rest);
    if (unknown.length) throw bad(`${path}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; expected "identities" and "forwarders"`);
    if (!Array.isArray(identities)) throw bad(`${path} must hold {"identities": [{"identity", "principal", "roles"}], "forwarders": [...]}`);
    if (forwarders !== undefined && !(Array.isArray(forwarders) && forwarders.every((f) => typeof f === 'string' && f))) throw bad(`${path}: forwarders must be a list of certificate identities (e.g. "CN=worker-*")`);
    const mappings = identities.map((e: { identity?: unknown; principal?: unknown; roles?: unknown }, i): Mapping => {
      const where = `${path} identities[${i}]`;
      if (typeof e?.identity !== 'string' || !/^[A-Za-z ]+[:=]./.test(e.identity)) throw bad(`${where}: identity must look like "CN=alice", "DNS:alice.internal" or "URI:spiffe://…"`);
      if (e.principal !== undefined && (typeof e.principal !== 'string' || !e.principal)) throw bad(`${where}: principal must be a non-empty string when given`);
      const grants = Array.isArray(e.roles) ? e.roles.map((r) => (typeof r === 'string' ? parseGrant(r) : undefined)) : [];
      if (grants.length === 0 || grants.some((g) => g === undefined)) throw bad(`${where}: roles must be a non-empty list of ${ROLES.join(', ')}, each optionally limited as role:connector-glob`);
      return { identity: e.identity, match: wildcard(e.identity), principal: (e.principal as string | undefined) ?? e.identity, grants: grants as Grant[] };
    });
    const forwarding = ((forwarders as string[] | undefined) ?? []).map(wildcard);
    for (const m of mappings) {
      if (forwarding.some((f) => f.test(m.identity))) throw bad(`${path}: "${m.identity}" is both a forwarder and mapped to ${m.grants.map(describeGrant).join(', ')}; a worker's certificate may not hold a role of its own`);
    }
    return new CertificateIdentities(mappings, forwarding);
  }

  /** Whether a certificate with these identities is a worker that may forward callers' identities. */
  isForwarder(identities: readonly string[]): boolean {
    return identities.some((id) => this.forwarders.some((f) => f.test(id)));
  }

  /**
   * The principal for these identities: every matching mapping's grants together, named after
   * the first one that matched. Undefined when none maps.
   */
  principalOf(identities: readonly string[]): Principal | undefined {
    const matched = this.mappings.filter((m) => identities.some((id) => m.match.test(id)));
    if (matched.length === 0) return undefined;
    return makePrincipal(matched[0]!.principal, matched.flatMap((m) => m.grants), 'certificate');
  }
}
