// The scaletest /metrics HTTP server: serves the registry on every path, as upstream; a listen failure is logged, not fatal.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { getErrorMessage } from "../errors.ts";
import { fastExpositionFor, writeExposition } from "./exposition.ts";

/** A running (or failed-to-start) metrics server. */
export interface MetricsServer {
  /** `http://host:port` it listens on, or undefined when listening failed. */
  readonly url: string | undefined;
  /** Stops listening (idempotent). */
  close(): Promise<void>;
}

/** Splits `host:port` (IPv6 in brackets; empty host means all interfaces). Throws naming the shape. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid address "${address}": must be host:port with a port 0-65535`);
  return { host: m[1] ?? m[2] ?? "", port };
}

/** Starts serving `registry` at `address` (`host:port`, port 0 for any). Never rejects on listen errors: it logs them. */
export async function startMetricsServer(registry: Registry, address: string, log: (line: string) => void = () => {}): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(address);
  const scrapes = new ScrapeQueue(registry);
  const server = http.createServer((req, res) => {
    if (req.method === "HEAD") {
      res.writeHead(200, { "Content-Type": registry.contentType });
      return void res.end();
    }
    scrapes.add(res);
  });
  server.keepAliveTimeout = 5_000;
  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", (err) => {
      log(`error: start prometheus metrics server on ${address}: ${getErrorMessage(err)}`);
      resolve(false);
    });
    server.listen(port, host || undefined, () => resolve(true));
  });
  let url: string | undefined;
  if (listening) {
    const a = server.address() as AddressInfo;
    url = `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
    server.unref();
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closed ??= listening
        ? new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          })
        : Promise.resolve();
      return closed;
    },
  };
}

/**
 * Renders for one batch of scrapes at a time: requests that arrive during a render wait for the next one, which
 * streams to all of them. A busy runner thus never renders several pages at once, however often it is scraped.
 */
class ScrapeQueue {
  private waiting: ServerResponse[] = [];
  private running = false;

  constructor(private readonly registry: Registry) {}

  add(res: ServerResponse): void {
    this.waiting.push(res);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) await this.serve(this.waiting.splice(0));
    } finally {
      this.running = false;
    }
  }

  private async serve(batch: ServerResponse[]): Promise<void> {
    const registry = this.registry;
    const live = () => batch.filter((r) => !r.destroyed);
    const head = (res: ServerResponse) => {
      if (!res.headersSent) res.writeHead(200, { "Content-Type": registry.contentType });
    };
    try {
      if (!fastExpositionFor(registry)) {
        const body = await registry.metrics();
        for (const res of live()) {
          head(res);
          res.end(body);
        }
        return;
      }
      // Streamed as rendered; each chunk is handed on once every client's socket took it (the renderer reuses its
      // memory then), so a slow client slows its render instead of buffering the page.
      await writeExposition(
        registry,
        async (chunk) => {
          await Promise.all(
            live().map((res) => {
              head(res);
              return written(res, chunk);
            }),
          );
        },
        () => live().length === 0,
      );
      for (const res of live()) {
        head(res);
        res.end();
      }
    } catch (err) {
      for (const res of batch) {
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end(getErrorMessage(err));
        }
      }
    }
  }
}

/** Writes `chunk` to `res`; resolves once it was handed to the socket, or the client is gone. */
function written(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("close", done);
      resolve();
    };
    res.on("close", done);
    res.write(chunk, done);
  });
}
