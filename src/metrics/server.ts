// The scaletest /metrics HTTP server: serves the registry on every path, as upstream; a listen failure is logged, not fatal.
import http from "node:http";
import type { AddressInfo } from "node:net";
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
  const server = http.createServer((req, res) => {
    const ok = () => res.writeHead(200, { "Content-Type": registry.contentType });
    const fail = (err: unknown) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(getErrorMessage(err));
    };
    if (req.method === "HEAD") {
      ok();
      return void res.end();
    }
    if (!fastExpositionFor(registry)) {
      return void registry.metrics().then((body) => {
        ok();
        res.end(body);
      }, fail);
    }
    // Streamed in slices that yield to the event loop, waiting for the socket when it is full: a scrape of a
    // multi-megabyte page neither holds the tick loop nor buffers the whole page.
    const sink = (chunk: Buffer): Promise<void> | void => {
      if (!res.headersSent) ok();
      if (res.write(chunk)) return;
      return new Promise((resolve) => {
        const done = () => {
          res.off("drain", done).off("close", done);
          resolve();
        };
        res.on("drain", done).on("close", done);
      });
    };
    writeExposition(registry, sink, () => res.destroyed).then(() => res.end(), fail);
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
