import { once } from 'node:events';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/**
 * A loopback port nothing listens on now, for a service that must keep its address across restarts.
 *
 * Drawn at random from below the kernel's ephemeral range: a port from `listen(0)` is ephemeral, and between
 * releasing it and the service binding it an outgoing connection of any test (pg, gRPC, NATS) may take it as its
 * local port — CI saw "port … is in use" exactly so. Outside that range only another test's draw can collide,
 * and never with one this process already handed out.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 10_000;
  const high = Math.min(ephemeralLow, 32_768) - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [lowText, highText] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return [Number(lowText), Number(highText)];
  } catch {
    return [32_768, 60_999]; // Linux's default; elsewhere the draw stays below it all the same
  }
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err; })]);
  } catch {
    return false;
  }
  await new Promise((resolve) => server.close(resolve));
  return true;
}
