/**
 * A TCP relay between the Sensor and nats-server that can delay what the Sensor sends: its fetches, progress
 * notes and acknowledgements. With a delay longer than it takes to see the Sensor's Job, a SIGKILL lands after
 * the Job exists and before nats-server has the acknowledgement, every time; the relay then drops what it held,
 * as the dead process's socket would have.
 */
import * as net from 'net';

export interface BusRelay {
  readonly port: number;
  /** Delays each chunk the Sensor sends by `ms` from now on; 0 forwards at once. */
  delay(ms: number): void;
  close(): Promise<void>;
}

export function startBusRelay(host: string, upstreamPort: number): Promise<BusRelay> {
  let delayMs = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, host);
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    client.on('data', (chunk) => {
      if (delayMs === 0) upstream.write(chunk);
      // Equal delays fire in order; a socket closed meanwhile drops the chunk.
      else setTimeout(() => upstream.destroyed || client.destroyed || upstream.write(chunk), delayMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        delay: (ms) => {
          delayMs = ms;
        },
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      }),
    );
  });
}
