/**
 * Admin authentication and authorisation (docs/security.md). Off unless the worker is given at
 * least one identity source; then every Admin call must prove who it is:
 *
 * - a bearer token (`authorization: Bearer …` metadata) found in the static token file
 *   (`admin.tokens.file`), or a JWT that verifies against `admin.jwt.jwks.file` (auth-jwt.ts);
 * - without a token, the mTLS client certificate the CA verified, mapped by
 *   `admin.identities.file` (auth-certs.ts). A token, when sent, always decides.
 *
 * Each identity carries grants (auth-grants.ts): a role (`viewer` ⊂ `operator` ⊂ `admin`),
 * optionally limited to a connector name glob. No or bad credentials are UNAUTHENTICATED naming
 * what failed; a known principal without the grant the call needs is PERMISSION_DENIED naming
 * the call, the role, the connector and the principal. Every permitted write logs one audit line
 * (principal, how it authenticated, call, connector), never a credential.
 *
 * A non-leader worker authorises the call itself, then forwards it with the caller's own
 * `authorization` metadata, or, for a certificate identity, the identities it verified in
 * FORWARDED_IDENTITY metadata, which the leader believes only from a certificate listed as a
 * forwarder; so the leader checks the same identity again and a forwarded call never runs with
 * the worker's own authority.
 */
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '../errors.js';
import { CALLS, describeGrant, holds, holdsAnywhere, makePrincipal, parseGrant, ROLES, type Grant, type Principal } from './auth-grants.js';
import { certificateIdentities, type CertificateIdentities } from './auth-certs.js';
import { looksLikeJwt, type JwtVerifier } from './auth-jwt.js';

export { REQUIRED_ROLE, holds, type Grant, type Principal, type Role, type AuthMethod } from './auth-grants.js';

/** Metadata a forwarding worker sets to the JSON list of the caller's verified certificate identities. */
export const FORWARDED_IDENTITY = 'tributary-forwarded-identity';

/**
 * Reads a token file: `{"tokens": [{"token": "…", "principal": "alice", "roles": ["operator"]}]}`;
 * a role may be limited to connectors, `"operator:team-a-*"`.
 */
export function readTokenFile(path: string, key = 'admin.tokens.file'): Map<string, Principal> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError('invalid worker settings', [{ key, message: `cannot read token file ${path}: ${(err as Error).message}` }]);
  }
  const entries = (raw as { tokens?: unknown })?.tokens;
  if (!Array.isArray(entries)) throw new InvalidArgumentError('invalid worker settings', [{ key, message: `${path} must hold {"tokens": [{"token", "principal", "roles"}]}` }]);
  const out = new Map<string, Principal>();
  entries.forEach((e: { token?: unknown; principal?: unknown; roles?: unknown }, i) => {
    const where = `${path} tokens[${i}]`;
    if (typeof e?.token !== 'string' || e.token.length < 16) throw new InvalidArgumentError('invalid worker settings', [{ key, message: `${where}: token must be a string of at least 16 characters` }]);
    if (typeof e.principal !== 'string' || !e.principal) throw new InvalidArgumentError('invalid worker settings', [{ key, message: `${where}: principal is required` }]);
    const grants = Array.isArray(e.roles) ? e.roles.map((r) => (typeof r === 'string' ? parseGrant(r) : undefined)) : [];
    if (grants.length === 0 || grants.some((g) => g === undefined)) {
      throw new InvalidArgumentError('invalid worker settings', [{ key, message: `${where}: roles must be a non-empty list of ${ROLES.join(', ')}, each optionally limited as role:connector-glob` }]);
    }
    out.set(e.token, makePrincipal(e.principal, grants as Grant[], 'token'));
  });
  return out;
}

export interface AdminAuthSources {
  /** Static bearer tokens (admin.tokens.file). */
  tokens?: ReadonlyMap<string, Principal>;
  /** JWT bearer tokens verified with a JWKS file (admin.jwt.*). */
  jwt?: JwtVerifier;
  /** mTLS client certificate identities (admin.identities.file). */
  certificates?: CertificateIdentities;
}

/** What the caller presented: its metadata and, over mTLS, the certificate the CA verified. */
export interface Credentials {
  metadata: grpc.Metadata;
  peerCertificate?: PeerCertificate | undefined;
}

export class AdminAuthenticator {
  private readonly tokens: ReadonlyMap<string, Principal>;

  constructor(
    private readonly sources: AdminAuthSources,
    private readonly logger: Logger,
  ) {
    this.tokens = sources.tokens ?? new Map();
  }

  /** Whether certificate identities are mapped (a forwarded call then carries the caller's). */
  get usesCertificates(): boolean {
    return this.sources.certificates !== undefined;
  }

  /** Whether static tokens are configured (the console's shared view reads with one). */
  get usesTokens(): boolean {
    return this.sources.tokens !== undefined;
  }

  static fromTokenFile(path: string, logger: Logger): AdminAuthenticator {
    return new AdminAuthenticator({ tokens: readTokenFile(path) }, logger);
  }

  /** What a caller may present here, for the message of a call that presented nothing. */
  private accepted(): string {
    const ways: string[] = [];
    if (this.sources.tokens) ways.push('a bearer token: pass --token (or set a context\'s token)');
    if (this.sources.jwt) ways.push('a JWT from your identity provider as the bearer token (--token)');
    if (this.sources.certificates) ways.push('a client certificate mapped in admin.identities.file (--cert and --key)');
    return ways.join(', or ');
  }

  /**
   * The caller's principal. UNAUTHENTICATED when nothing usable was presented or a token does not
   * verify (saying why); PERMISSION_DENIED when a certificate verified but no mapping names it.
   */
  async authenticate(credentials: Credentials): Promise<Principal> {
    const header = credentials.metadata.get('authorization')[0];
    if (header !== undefined) return this.fromBearer(String(header));
    const cert = credentials.peerCertificate;
    const forwarded = credentials.metadata.get(FORWARDED_IDENTITY)[0];
    const certificates = this.sources.certificates;
    if (cert && certificates) {
      const own = certificateIdentities(cert);
      if (certificates.isForwarder(own)) {
        if (forwarded === undefined) throw new UnauthenticatedError(`this worker requires ${this.accepted()}; the call came from worker certificate ${own[0] ?? '(no subject)'}, which has no role of its own`);
        const identities = parseForwarded(String(forwarded));
        const principal = certificates.principalOf(identities);
        if (!principal) throw new PermissionDeniedError(`certificate identity ${identities.join(', ') || '(none)'} has no role: add it to admin.identities.file`);
        return principal;
      }
      if (forwarded !== undefined) throw new PermissionDeniedError(`certificate ${own[0] ?? '(no subject)'} may not forward calls on behalf of others: it is not among the forwarders of admin.identities.file`);
      const principal = certificates.principalOf(own);
      if (!principal) throw new PermissionDeniedError(`certificate identity ${own.join(', ') || '(none)'} has no role: add it to admin.identities.file`);
      return principal;
    }
    throw new UnauthenticatedError(`this worker requires ${this.accepted()}`);
  }

  private async fromBearer(header: string): Promise<Principal> {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnauthenticatedError('the authorization metadata must be "Bearer <token>"');
    const token = m[1]!;
    const known = this.tokens.get(token);
    if (known) return known;
    if (this.sources.jwt && looksLikeJwt(token)) return this.sources.jwt.verify(token);
    if (this.sources.jwt && !this.sources.tokens) throw new UnauthenticatedError('the bearer token is not a JWT; this worker accepts JWTs verified with admin.jwt.jwks.file');
    throw new UnauthenticatedError('the bearer token is not valid on this worker');
  }

  /**
   * Authenticates and authorises one call on `connector` (the request's name; empty or
   * undefined when the call names none). Logs an audit line for a permitted write.
   */
  async authorize(method: string, credentials: Credentials, connector: string | undefined): Promise<Principal> {
    const principal = await this.authenticate(credentials);
    const call = CALLS[method] ?? { role: 'admin', scope: 'cluster' };
    const needed = call.role;
    const target = connector || undefined;
    const scope = call.scope === 'connector' && target === undefined ? (method === 'watchStatus' ? 'filtered' : 'cluster') : call.scope;
    const has = principal.roles.join(', ');
    const limitedTo = () => principal.grants.filter((g) => g.connectors !== undefined).map(describeGrant).join(', ');
    if (!holdsAnywhere(principal, needed)) {
      throw new PermissionDeniedError(`${method} needs the role "${needed}"; principal "${principal.name}" has ${has}`);
    }
    if (scope === 'connector' && !holds(principal, needed, target)) {
      throw new PermissionDeniedError(`${method} on connector "${target}" needs the role "${needed}" for it; principal "${principal.name}" has ${limitedTo()}, which does not cover "${target}"`);
    }
    if (scope === 'cluster' && !holds(principal, needed, undefined)) {
      throw new PermissionDeniedError(`${method} needs the role "${needed}" for every connector; principal "${principal.name}" has it only as ${limitedTo()}`);
    }
    if (needed !== 'viewer') this.logger.info({ audit: true, principal: principal.name, via: principal.via, call: method, connector: connector ?? '' }, 'admin write');
    return principal;
  }
}

function parseForwarded(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
  } catch {
    // fall through: a malformed value identifies nobody
  }
  throw new UnauthenticatedError(`${FORWARDED_IDENTITY} metadata must be a JSON list of certificate identities`);
}

/** The metadata that carries a certificate principal's identities when its call is forwarded. */
export function forwardedIdentityOf(peerCertificate: PeerCertificate | undefined, metadata: grpc.Metadata): string | undefined {
  // Already forwarded to us (we were leader-elect and forward again): pass the same identities on.
  const incoming = metadata.get(FORWARDED_IDENTITY)[0];
  if (incoming !== undefined) return String(incoming);
  return peerCertificate ? JSON.stringify(certificateIdentities(peerCertificate)) : undefined;
}
