// A coderd that goes away and comes back: the server stops listening and every open connection (HTTP and upgraded
// WebSockets alike) is cut, then it listens again on the same address and port; the simulator's state is untouched.
import type { Server } from "node:http";
import type { Socket } from "node:net";

export interface Outage {
  /** Stops listening and cuts every connection; clients see resets, then refused connections. */
  stopListening(): Promise<void>;
  /** Listens again on `port` of `host`. */
  resumeListening(port: number, host: string): Promise<void>;
}

/** Listens on `port` of `host` and resolves once the server accepts connections. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Tracks `server`'s connections from now on, so an outage can cut them all. */
export function outageControl(server: Server): Outage {
  const connections = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  return {
    async stopListening() {
      if (!server.listening) return;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await stopped;
    },
    async resumeListening(port, host) {
      if (!server.listening) await listen(server, port, host);
    },
  };
}
