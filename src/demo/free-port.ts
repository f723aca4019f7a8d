/** A free loopback port for the demo's own servers (the notes services, Prometheus). */

import { createServer } from 'node:net';

/** Asks the OS for a port on 127.0.0.1 and releases it at once, for a server started right after. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
