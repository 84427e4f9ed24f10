/**
 * OIDC/JWT bearer tokens verified against a JWKS file (docs/security.md). The worker never
 * fetches keys over the network: the operator (or a sidecar) keeps `admin.jwt.jwks.file`
 * current, and the file is read again when it changed, checked at most every
 * `reloadIntervalMs` when a token arrives, so a rotated key set is used without a restart.
 *
 * Invariant: a token is accepted only if its signature verifies with a key of the current key
 * set under an asymmetric algorithm, its `iss` equals `admin.jwt.issuer`, its `aud` contains
 * `admin.jwt.audience`, and it is within `exp`/`nbf` (with CLOCK_TOLERANCE_S of leeway).
 * Anything else is UNAUTHENTICATED naming the check that failed (never echoing the token).
 */
import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, errors as jose, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '../errors.js';
import { makePrincipal, parseGrant, type Grant, type Principal } from './auth-grants.js';

/** Asymmetric algorithms only: a JWKS file holds public keys, and `oct` (HMAC) keys there would be shared secrets. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Leeway for `exp` and `nbf`: identity providers' and workers' clocks differ a little. */
export const CLOCK_TOLERANCE_S = 30;

export interface JwtSettings {
  /** `admin.jwt.jwks.file`: a JSON Web Key Set (`{"keys": [...]}`) of the issuer's public keys. */
  jwksFile: string;
  /** `admin.jwt.issuer`: the exact `iss` accepted. */
  issuer: string;
  /** `admin.jwt.audience`: the `aud` a token must contain. */
  audience: string;
  /** `admin.jwt.roles.claim`: the claim with the grants (dots descend into objects); default `roles`. */
  rolesClaim?: string;
  /** `admin.jwt.principal.claim`: the claim naming the caller in audit lines; default `sub`. */
  principalClaim?: string;
  /** How often, at most, the JWKS file is checked for changes; default 5000 ms. */
  reloadIntervalMs?: number;
}

export const DEFAULT_ROLES_CLAIM = 'roles';
export const DEFAULT_PRINCIPAL_CLAIM = 'sub';

/** Three base64url segments: the shape of a JWS compact serialisation. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

export class JwtVerifier {
  private keys: KeySet;
  private stamp: string;
  private checkedAt = Date.now();
  private readonly rolesClaim: string;
  private readonly principalClaim: string;
  private readonly reloadIntervalMs: number;

  /** Reads the JWKS file; INVALID_ARGUMENT naming `admin.jwt.jwks.file` when it is unusable. */
  constructor(
    private readonly settings: JwtSettings,
    private readonly logger: Logger,
  ) {
    this.rolesClaim = settings.rolesClaim || DEFAULT_ROLES_CLAIM;
    this.principalClaim = settings.principalClaim || DEFAULT_PRINCIPAL_CLAIM;
    this.reloadIntervalMs = settings.reloadIntervalMs ?? 5_000;
    try {
      this.stamp = this.fileStamp();
      this.keys = this.readKeys();
    } catch (err) {
      throw new InvalidArgumentError('invalid worker settings', [{ key: 'admin.jwt.jwks.file', message: (err as Error).message }]);
    }
  }

  private fileStamp(): string {
    const s = statSync(this.settings.jwksFile);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  }

  private readKeys(): KeySet {
    const path = this.settings.jwksFile;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read JWKS file ${path}: ${(err as Error).message}`);
    }
    const keys = (raw as { keys?: unknown })?.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${path} must hold a JSON Web Key Set {"keys": [...]} with at least one key`);
    keys.forEach((k: { kty?: unknown; d?: unknown }, i) => {
      if (k?.kty === 'oct') throw new Error(`${path} keys[${i}] is a symmetric (oct) key; only public keys (RSA, EC, OKP) are accepted`);
      if (k?.d !== undefined) throw new Error(`${path} keys[${i}] holds a private key ("d"); publish only the public key`);
    });
    return createLocalJWKSet(raw as JSONWebKeySet);
  }

  /** Reads the JWKS file again when it changed; a file that cannot be used keeps the previous keys. */
  private maybeReload(): void {
    const now = Date.now();
    if (now - this.checkedAt < this.reloadIntervalMs) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      stamp = this.fileStamp();
    } catch (err) {
      this.logger.warn({ key: 'admin.jwt.jwks.file', err: (err as Error).message }, 'JWKS file unreadable; keeping the previous keys');
      return;
    }
    if (stamp === this.stamp) return;
    try {
      this.keys = this.readKeys();
      this.stamp = stamp;
      this.logger.info({ key: 'admin.jwt.jwks.file', file: this.settings.jwksFile }, 'JWKS reloaded');
    } catch (err) {
      // Not remembered: a file caught half-written is read again on the next check.
      this.logger.warn({ key: 'admin.jwt.jwks.file', err: (err as Error).message }, 'JWKS file changed but cannot be used; keeping the previous keys');
    }
  }

  /**
   * The principal of a verified token. UNAUTHENTICATED naming the failed check (signature,
   * issuer, audience, expiry, …); PERMISSION_DENIED when it verifies but grants no role.
   */
  async verify(token: string): Promise<Principal> {
    this.maybeReload();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      throw new UnauthenticatedError(this.explain(err), { cause: err });
    }
    const nameClaim = claimAt(payload, this.principalClaim);
    const name = typeof nameClaim === 'string' && nameClaim ? nameClaim : undefined;
    if (!name) throw new UnauthenticatedError(`the bearer token (JWT) has no "${this.principalClaim}" claim naming the caller (admin.jwt.principal.claim)`);
    const { grants, ignored } = this.grantsOf(claimAt(payload, this.rolesClaim));
    if (grants.length === 0) {
      const seen = ignored.length ? `; it holds ${ignored.map((v) => JSON.stringify(v)).join(', ')}, none of them viewer, operator or admin (optionally role:connector-glob)` : ' or it is empty';
      throw new PermissionDeniedError(`principal "${name}" (JWT) has no Tributary role: claim "${this.rolesClaim}" (admin.jwt.roles.claim) is missing${seen}`);
    }
    return makePrincipal(name, grants, 'jwt');
  }

  /**
   * Grants from the roles claim: an array of strings, or one string of space- or
   * comma-separated values (as OAuth `scope` is). Values that are not Tributary grants belong to
   * other applications of the same identity provider and are left out.
   */
  private grantsOf(claim: unknown): { grants: Grant[]; ignored: string[] } {
    const values = Array.isArray(claim) ? claim.filter((v): v is string => typeof v === 'string') : typeof claim === 'string' ? claim.split(/[\s,]+/).filter(Boolean) : [];
    const grants: Grant[] = [];
    const ignored: string[] = [];
    for (const v of values) {
      const g = parseGrant(v);
      if (g) grants.push(g);
      else ignored.push(v);
    }
    return { grants, ignored };
  }

  private explain(err: unknown): string {
    const what = 'the bearer token (JWT)';
    if (err instanceof jose.JWTExpired) return `${what} has expired (exp ${new Date(Number(err.payload.exp) * 1000).toISOString()}); get a new one from your identity provider`;
    if (err instanceof jose.JWTClaimValidationFailed) {
      if (err.claim === 'iss') return `${what} has the wrong issuer ${JSON.stringify(err.payload.iss ?? null)}; this worker accepts only "${this.settings.issuer}" (admin.jwt.issuer)`;
      if (err.claim === 'aud') return `${what} has the wrong audience ${JSON.stringify(err.payload.aud ?? null)}; this worker accepts only "${this.settings.audience}" (admin.jwt.audience)`;
      if (err.claim === 'nbf') return `${what} is not valid yet (nbf ${new Date(Number(err.payload.nbf) * 1000).toISOString()})`;
      return `${what} failed its "${err.claim}" claim check (${err.reason})`;
    }
    if (err instanceof jose.JWSSignatureVerificationFailed) return `${what} has a bad signature: it does not verify with the key of admin.jwt.jwks.file it names`;
    if (err instanceof jose.JWKSNoMatchingKey) return `${what} is signed with a key that is not in admin.jwt.jwks.file (no key matches its kid and alg)`;
    if (err instanceof jose.JWKSMultipleMatchingKeys) return `${what} has no kid and several keys of admin.jwt.jwks.file match it; give every key a kid`;
    if (err instanceof jose.JOSEAlgNotAllowed) return `${what} uses an algorithm this worker does not accept; accepted: ${ALGORITHMS.join(', ')}`;
    if (err instanceof jose.JOSEError) return `${what} is malformed (${err.code})`;
    return `${what} could not be verified`;
  }
}
