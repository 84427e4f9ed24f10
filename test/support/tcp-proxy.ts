/**
 * A TCP proxy the test controls, for network faults without root: `suspend()` stops moving bytes
 * both ways without closing anything (a cut link: the peers see silence, not a reset);
 * `resume()` lets the buffered bytes through again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private suspended = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on `port` (default: any free port) and returns `127.0.0.1:<port>`. */
  async start(port = 0): Promise<string> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.suspended) this.pause(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `127.0.0.1:${this.port}`;
  }

  private pause([a, b]: [Socket, Socket]): void {
    a.pause();
    b.pause();
  }

  suspend(): void {
    this.suspended = true;
    for (const pair of this.pairs) this.pause(pair);
  }

  resume(): void {
    this.suspended = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
