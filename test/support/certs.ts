/**
 * Test certificates made with the machine's `openssl` (no keys are committed): a CA, and
 * certificates it signs for workers and clients, with loopback SANs so host-name checks pass.
 * openssl rather than an npm library because it is what docs/security.md tells operators to
 * use, so the tests exercise the same commands.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestCa {
  readonly cert: string;
  readonly key: string;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.cert = join(dir, `${name}.crt`);
    this.key = join(dir, `${name}.key`);
  }

  /** A new self-signed CA in `dir` (a fresh temp dir by default). */
  static create(name = 'ca', dir = mkdtempSync(join(tmpdir(), 'tributary-certs-'))): TestCa {
    mkdirSync(dir, { recursive: true });
    const ca = new TestCa(dir, name);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=${name}`], dir);
    return ca;
  }

  /**
   * A key and a certificate for `cn` signed by this CA, valid for server and client use, with
   * SANs 127.0.0.1 and localhost (plus `extraSans`, e.g. `URI:spiffe://…`). Written to
   * `<name>.crt`/`<name>.key` atomically (a temp file renamed), as an operator's rotation should.
   */
  issue(name: string, cn = name, extraSans: string[] = []): CertFiles {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    const tmp = join(this.dir, `.${name}-${process.pid}-${Date.now()}`);
    const ext = `${tmp}.ext`;
    writeFileSync(ext, `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...extraSans].join(',')}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`, '-subj', `/CN=${cn}`], this.dir);
    openssl(['x509', '-req', '-in', `${tmp}.csr`, '-CA', this.cert, '-CAkey', this.key, '-CAcreateserial', '-out', `${tmp}.crt`, '-days', '2', '-extfile', ext], this.dir);
    // Key first: a poll that sees the new certificate then finds the key that matches it.
    renameSync(`${tmp}.key`, key);
    renameSync(`${tmp}.crt`, cert);
    rmSync(`${tmp}.csr`, { force: true });
    rmSync(ext, { force: true });
    return { cert, key };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
