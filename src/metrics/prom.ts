// The four prom-client classes the runner uses, loaded from their own files. prom-client's index also loads its
// default process metrics and, through them, @opentelemetry/api: 80 more modules for every runner process to
// read and compile (0.05-0.1 CPU-s of a 1-connection run), for metrics the runner never registers. Same classes
// as the index's (one module cache), so they mix freely with code that imports "prom-client" itself (the
// simulator).
import { createRequire } from "node:module";
import type * as Prom from "prom-client";

const load = createRequire(import.meta.url);

export const Registry: typeof Prom.Registry = load("prom-client/lib/registry");
export const Counter: typeof Prom.Counter = load("prom-client/lib/counter");
export const Gauge: typeof Prom.Gauge = load("prom-client/lib/gauge");
export const Histogram: typeof Prom.Histogram = load("prom-client/lib/histogram");
export type Registry = Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
