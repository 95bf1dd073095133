// Dashboard metrics: per-action duration histogram and error counter, on a registry passed in (upstream names).
import { Counter, Histogram, type Registry } from "../../metrics/prom.ts";
import { DASHBOARD, DEFAULT_BUCKETS, LABELS } from "../../metrics/names.ts";
import { getOrCreate } from "../../metrics/registry.ts";
import { DASHBOARD_ACTIONS } from "./actions.ts";

/** The narrow interface the per-user loop bumps. */
export interface DashboardMetrics {
  observe(action: string, seconds: number, failed: boolean): void;
}

/** Registers (or reuses, when already on `registry`) the two families; every action starts at zero. */
export function dashboardMetrics(registry: Registry): DashboardMetrics {
  const duration = getOrCreate(registry, DASHBOARD.duration, () =>
    new Histogram({
      name: DASHBOARD.duration,
      help: "Time taken to perform a dashboard action: click, then wait for the page element that ends it.",
      labelNames: [LABELS.action],
      buckets: DEFAULT_BUCKETS,
      registers: [registry],
    }),
  );
  const errors = getOrCreate(registry, DASHBOARD.errors, () =>
    new Counter({
      name: DASHBOARD.errors,
      help: "Total number of dashboard actions that failed.",
      labelNames: [LABELS.action],
      registers: [registry],
    }),
  );
  for (const a of DASHBOARD_ACTIONS) {
    duration.zero({ [LABELS.action]: a.label });
    errors.inc({ [LABELS.action]: a.label }, 0);
  }
  return {
    observe(action, seconds, failed) {
      duration.observe({ [LABELS.action]: action }, seconds);
      if (failed) errors.inc({ [LABELS.action]: action });
    },
  };
}
