/** A loopback port nobody listens on right now: for servers that need their port in a config file, and "refused" tests. */

import net from 'node:net';

/**
 * Lets the OS pick a free 127.0.0.1 port and releases it. Another process may take it before the caller
 * binds it, so servers started on it retry with another port when the bind fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * `count` distinct free ports. Each `freePort()` call alone may hand back a port an earlier call just released,
 * so a caller wanting several (a host's blue and green slots) holds every probe open until all are picked.
 */
export async function freePorts(count: number): Promise<number[]> {
  const probes: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const probe = net.createServer();
      probes.push(probe);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          probe.once('error', reject);
          probe.listen(0, '127.0.0.1', () => resolve((probe.address() as net.AddressInfo).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(probes.map((p) => new Promise((r) => p.close(r))));
  }
}
