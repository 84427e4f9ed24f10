/**
 * TLS for the worker's gRPC links (docs/security.md): one set of PEM files (certificate, key,
 * CA bundle) serves both sides, the worker's server and its clients (session to the leader,
 * forwarded admin calls, remote plugins). The files are read and checked at start (a bad file
 * is an InvalidArgumentError naming its key) and then polled: a changed file is read again,
 * checked, and handed to grpc-js, so the next TLS handshake uses it without a restart
 * (grpc-js re-creates its secure contexts from a CertificateProvider's updates). A file caught
 * half-written, or a key that does not match its certificate, is logged and ignored: the last
 * good set stays in use, never none.
 *
 * The invariant: the provider only ever publishes a set that `tls.createSecureContext` accepted.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { InvalidArgumentError } from '../errors.js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** `required`: the handshake refuses a client without a certificate of the CA; `requested`: it asks, and services decide. */
export type ClientAuth = 'required' | 'requested';

export interface TlsFilesOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Setting names for error messages (defaults: grpc.tls.cert.file, grpc.tls.key.file, grpc.tls.ca.file). */
  keys?: { cert: string; key: string; ca: string };
  /** How often the files are checked for changes (default 5000 ms). */
  reloadIntervalMs?: number;
  logger?: Logger;
}

interface Material {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

const DEFAULT_KEYS = { cert: 'grpc.tls.cert.file', key: 'grpc.tls.key.file', ca: 'grpc.tls.ca.file' };

/** A certificate, key and CA bundle from PEM files, reloaded on change. */
export class TlsFiles implements grpc.experimental.CertificateProvider {
  private material: Material;
  private stamps: string;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private timer: NodeJS.Timeout | undefined;
  private readonly keys: { cert: string; key: string; ca: string };
  /** How many times a changed set was taken into use (tests and logs). */
  reloads = 0;

  constructor(readonly options: TlsFilesOptions) {
    this.keys = options.keys ?? DEFAULT_KEYS;
    this.stamps = this.stampOf();
    this.material = this.read((key, message) => {
      throw new InvalidArgumentError('invalid TLS settings', [{ key, message }]);
    })!;
  }

  /** Starts polling the files (an unref'ed timer: it never keeps the process alive). Idempotent. */
  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => this.poll(), this.options.reloadIntervalMs ?? 5_000);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Server credentials: this certificate, and client certificates checked against the CA. */
  serverCredentials(clientAuth: ClientAuth): grpc.ServerCredentials {
    // grpc-js passes (ca, identity) in swapped order to the constructor; one provider for both.
    return grpc.experimental.createCertificateProviderServerCredentials(this, this, clientAuth === 'required');
  }

  /** Channel credentials: servers verified against the CA (host name included), this certificate as the client's. */
  channelCredentials(): grpc.ChannelCredentials {
    return grpc.experimental.createCertificateProviderChannelCredentials(this, this);
  }

  /** Checks the files now (the poll does this on its own); true when a new set was taken. */
  poll(): boolean {
    const stamps = this.stampOf();
    if (stamps === this.stamps) return false;
    const next = this.read((key, message) => {
      this.options.logger?.warn({ key, problem: message }, 'TLS files changed but cannot be used; keeping the previous certificate');
      return undefined;
    });
    // Note the stamps even for a bad set, so it is reported once, not every poll.
    this.stamps = stamps;
    if (!next) return false;
    this.material = next;
    this.reloads++;
    this.options.logger?.info({ cert: this.options.certFile, subject: subjectOf(next.cert) }, 'TLS certificate reloaded');
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    return true;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(listener, { caCertificate: this.material.ca });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(listener, { certificate: this.material.cert, privateKey: this.material.key });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private stampOf(): string {
    return [this.options.certFile, this.options.keyFile, this.options.caFile]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }

  private read(problem: (key: string, message: string) => undefined): Material | undefined {
    const file = (path: string, key: string): Buffer | undefined => {
      try {
        return readFileSync(path);
      } catch (err) {
        return problem(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    const cert = file(this.options.certFile, this.keys.cert);
    if (!cert) return undefined;
    const key = file(this.options.keyFile, this.keys.key);
    if (!key) return undefined;
    const ca = file(this.options.caFile, this.keys.ca);
    if (!ca) return undefined;
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) return problem(this.keys.ca, `${this.options.caFile} holds no PEM certificate`);
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) return problem(this.keys.cert, `${this.options.certFile} holds no PEM certificate`);
    try {
      createSecureContext({ cert, key, ca });
    } catch (err) {
      // The messages of OpenSSL name the problem (e.g. "key values mismatch"), never key material.
      return problem(this.keys.key, `${this.options.certFile} and ${this.options.keyFile} cannot be used together: ${(err as Error).message}`);
    }
    return { cert, key, ca };
  }
}

function subjectOf(pem: Buffer): string {
  try {
    return new X509Certificate(pem).subject.replace(/\n/g, ', ');
  } catch {
    return '';
  }
}

/** Channel credentials for a client that holds only a CA bundle (and maybe its own certificate), read once. */
export function staticChannelCredentials(ca: Buffer | null, key?: Buffer | null, cert?: Buffer | null): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(ca, key ?? null, cert ?? null);
}

/** The identity in a verified client certificate: its subject CN and SANs (DNS, URI, IP, email). */
export interface PeerIdentity {
  commonName: string | undefined;
  subjectAltNames: string[];
}

export function peerIdentity(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  if (!cert) return undefined;
  const cn = cert.subject?.CN;
  const sans = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { commonName: Array.isArray(cn) ? cn[0] : cn, subjectAltNames: sans };
}
