// The dashboard actions (label, element to click, element to wait for) and the seeded choice among them.

/** One thing a dashboard user does: click a `click` match, then wait until `waitFor` is in the page. */
export interface DashboardAction {
  /** Value of the `action` metric label (upstream's names). */
  label: string;
  /** CSS selector of the elements that start the action. */
  click: string;
  /** CSS selector of the element whose presence ends it. */
  waitFor: string;
}

/**
 * Upstream's target list (scaletest/dashboard/chromedp.go in coder/coder), in its order, with one fix: upstream's `template_files` clicks
 * the docs link and then waits for `.monaco-editor`, which the docs page never shows, so it can only time out.
 * Ours clicks the template's Source Code tab (`/templates/<name>/files`), the page that has the editor.
 */
export const DASHBOARD_ACTIONS: readonly DashboardAction[] = [
  { label: "workspace_list", click: 'nav a[href="/workspaces"]:not(.active)', waitFor: 'tr[role="button"][data-testid^="workspace-"]' },
  { label: "starter_templates", click: 'a[href="/starter-templates"]', waitFor: 'a[href^="/starter-templates/"]' },
  { label: "workspace_details", click: 'tr[role="button"][data-testid^="workspace-"]', waitFor: 'tr[role="button"][data-testid^="build-"]' },
  { label: "workspace_build_details", click: 'tr[role="button"][data-testid^="build-"]', waitFor: '*[aria-label="Build details"]' },
  { label: "template_list", click: 'nav a[href="/templates"]:not(.active)', waitFor: 'tr[role="button"][data-testid^="template-"]' },
  { label: "template_docs", click: 'a[href^="/templates/"][href$="/docs"]:not([aria-current])', waitFor: "#readme" },
  { label: "template_files", click: 'a[href^="/templates/"][href$="/files"]:not([aria-current])', waitFor: ".monaco-editor" },
  { label: "template_versions", click: 'a[href^="/templates/"][href$="/versions"]:not([aria-current])', waitFor: 'tr[role="button"][data-testid^="version-"]' },
  { label: "template_version_details", click: 'tr[role="button"][data-testid^="version-"]', waitFor: ".monaco-editor" },
  { label: "user_list", click: 'nav a[href^="/users"]:not(.active)', waitFor: 'tr[data-testid^="user-"]' },
];

/** The element the run waits for after opening the deployment root (the workspaces table). */
export const ROOT_READY_SELECTOR = "tbody.MuiTableBody-root";

/** A chosen action and which of its `click` matches to click. */
export interface Choice {
  action: DashboardAction;
  /** 0-based index among the `click` matches, in document order. */
  index: number;
}

/**
 * Upstream's choice: for every action (in table order) with matches, draw one of its matches; then draw one
 * of those actions. `counts[i]` is the number of `click` matches of `actions[i]`; `rand` returns [0, 1).
 * Undefined when nothing matched.
 */
export function chooseAction(counts: readonly number[], rand: () => number, actions: readonly DashboardAction[] = DASHBOARD_ACTIONS): Choice | undefined {
  const candidates: Choice[] = [];
  actions.forEach((action, i) => {
    const n = counts[i] ?? 0;
    if (n > 0) candidates.push({ action, index: Math.floor(rand() * n) });
  });
  if (candidates.length === 0) return undefined;
  return candidates[Math.floor(rand() * candidates.length)];
}

/** The wait before the next action: uniform in [interval - jitter, interval + jitter), as upstream. */
export function nextWaitMs(intervalMs: number, jitterMs: number, rand: () => number): number {
  return intervalMs - jitterMs + rand() * 2 * jitterMs;
}
