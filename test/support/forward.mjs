#!/usr/bin/env node
// A TCP forwarder run inside a network namespace (test/support/netns.ts):
//   node forward.mjs <listen host:port> <target host:port>
// Prints "listening" once bound; exits when its stdin's parent kills it.
import { createServer, connect } from 'node:net';

const [listen, target] = process.argv.slice(2).map((a) => {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
});
if (!listen || !target) throw new Error('usage: forward.mjs <listen host:port> <target host:port>');
createServer((client) => {
  const upstream = connect(target.port, target.host);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
}).listen(listen.port, listen.host, () => console.log('listening'));
