// The "Recent scale tests" row as data and as Markdown: its columns, the row, its cells (no dependencies, so the summary text can render it).

/** Coder's column headings (the published table's order). */
export const ROW_COLUMNS = [
  "Environment",
  "Coder CPU",
  "Coder RAM",
  "Coder Replicas",
  "Database",
  "Users",
  "Concurrent builds",
  "Concurrent connections",
  "Coder Version",
  "Last tested",
] as const;

export const UNKNOWN = "unknown";

/** One row; every cell is text as it is shown, numbers kept beside where the run measured them. */
export interface ScaleTestRow {
  environment: string;
  coderCpu: string;
  coderRam: string;
  replicas: string;
  database: string;
  /** Scaletest users whose workspace got running. */
  users: number;
  /** Most workspace builds in flight at once. */
  concurrentBuilds: number;
  /** Most connections open at once, by kind (SSH, terminal, app, dashboard). */
  concurrentConnections: Record<string, number>;
  coderVersion: string;
  /** Date of the run, as Coder's table writes it (Feb 28, 2024). */
  date: string;
}


/** "4 SSH, 4 terminal, 2 dashboard", or "none". */
export function connectionsText(c: Readonly<Record<string, number>>): string {
  const parts = Object.entries(c).map(([kind, n]) => `${n} ${kind}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** The row's cells in ROW_COLUMNS order. */
export function rowCells(r: ScaleTestRow): string[] {
  return [r.environment, r.coderCpu, r.coderRam, r.replicas, r.database, String(r.users), String(r.concurrentBuilds), connectionsText(r.concurrentConnections), r.coderVersion, r.date];
}

/** The row as a Markdown table (heading and row), ready to paste next to Coder's. */
export function rowMarkdown(r: ScaleTestRow): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(ROW_COLUMNS), line(ROW_COLUMNS.map(() => "---")), line(rowCells(r))].join("\n");
}
