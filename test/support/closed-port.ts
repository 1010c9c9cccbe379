import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

/** A loopback port that nothing listens on: bound once, then closed, so a connection to it is refused. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready));
  const { port } = probe.address() as AddressInfo;
  await new Promise((closed) => probe.close(closed));
  return port;
}
