// A curl-style `--resolve host:port:address` override for WebSocket dials (tests reach `*.apps.sim.localhost` on loopback).
import net from "node:net";
import tls from "node:tls";

/** One override: connections to `host:port` go to `address`. `host` may start with `*.` to match any subdomain. */
export interface ResolveEntry {
  host: string;
  port: number;
  address: string;
}

/** Parses `host:port:address` (IPv6 addresses may be bracketed). Throws a message naming the expected shape. */
export function parseResolve(spec: string): ResolveEntry {
  const m = /^([^:]+):(\d+):\[?([^\]]+)\]?$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535 || net.isIP(m[3]!) === 0) {
    throw new Error(`invalid resolve entry "${spec}": must be host:port:address with a port 1-65535 and an IP address`);
  }
  return { host: m[1]!.toLowerCase(), port, address: m[3]! };
}

/** The address `host:port` should go to, or undefined to use normal DNS. */
export function resolveOverride(entries: readonly ResolveEntry[], host: string, port: number): string | undefined {
  const h = host.toLowerCase();
  for (const e of entries) {
    if (e.port !== port) continue;
    if (e.host === h || (e.host.startsWith("*.") && h.endsWith(e.host.slice(1)))) return e.address;
  }
  return undefined;
}

/** A `createConnection` for `ws`/`http` that applies the overrides (keeping the TLS server name). */
export function overridingConnector(entries: readonly ResolveEntry[], secure: boolean) {
  return (options: net.NetConnectOpts & tls.ConnectionOptions & { host?: string; port?: number | string }): net.Socket => {
    const host = options.host ?? "localhost";
    const port = Number(options.port ?? (secure ? 443 : 80));
    const address = resolveOverride(entries, host, port);
    const opts = address ? { ...options, host: address } : options;
    if (secure) {
      const servername = options.servername ?? (net.isIP(host) ? undefined : host);
      return tls.connect({ ...opts, servername } as tls.ConnectionOptions);
    }
    return net.connect(opts as net.NetConnectOpts);
  };
}
