// The subcommands' names and one-line descriptions: `scaletest --help` lists them without loading any subcommand module.
// Imports nothing, so every subcommand module can take its description from here.
/** One-line description of each subcommand, in help order; each subcommand module takes its own from here. */
export const DESCRIPTIONS = {
  "create-workspaces": "Create users and workspaces, wait for builds and agents, then clean up (as coder exp scaletest create-workspaces).",
  cleanup: "Delete scaletest workspaces, then scaletest users (as coder exp scaletest cleanup).",
  "workspace-traffic": "Generate traffic to scaletest workspaces through coderd (as coder exp scaletest workspace-traffic).",
  dashboard: "Generate traffic to the HTTP API to simulate use of the dashboard (as coder exp scaletest dashboard).",
  run: "Run the staged scale test (create workspaces, baseline, load scenarios, cleanup) as the runner template does.",
  sim: "Run the built-in Coder simulator (REST, build logs, metrics) until interrupted.",
  report: "Write report.html for a run directory; evaluate thresholds on it.",
  compare: "Compare two runs; exit 1 when B regressed against A.",
} as const;

export type SubcommandName = keyof typeof DESCRIPTIONS;

export function isSubcommandName(name: string | undefined): name is SubcommandName {
  return name !== undefined && Object.hasOwn(DESCRIPTIONS, name);
}
