// Target selection as upstream's workspace-traffic does it: owner-exec rule, paged name filter, range, agent choice, app URL.
import type { CoderClient } from "../../coder/client.ts";
import type { User, Workspace, WorkspaceAgent, WorkspaceApp } from "../../coder/types.ts";
import { ConfigError, getErrorMessage } from "../../errors.ts";
import { appUrl } from "../../traffic/app.ts";
import { parseTargetRange, selectTargetWorkspaces } from "../targets.ts";
import { assertValid, type WorkspaceTrafficConfig } from "./config.ts";

/** One target: what a job needs of the workspace and its chosen agent (not the REST objects), and (app mode) the app URL. */
export interface TrafficTarget {
  index: number;
  workspace: Pick<Workspace, "id" | "name" | "owner_name">;
  agent: Pick<WorkspaceAgent, "id" | "name">;
  appUrl?: string;
}

/** The selection, before any connection is opened. */
export interface TrafficSelection {
  targets: TrafficTarget[];
  /** Lines upstream prints (ownership skips to stdout, "no agent" warnings to stderr). */
  stdout: string[];
  stderr: string[];
}

/**
 * Target selection exactly as upstream (coder cli exp_scaletest.go, workspace-traffic): validate the template, parse the range, read the app host,
 * list the scaletest workspaces (owner-exec rule, paged `q` filter, prefix filter), check the range, pick agents.
 */
export async function selectTrafficTargets(client: CoderClient, cfg: WorkspaceTrafficConfig, o: { signal?: AbortSignal } = {}): Promise<TrafficSelection> {
  assertValid(cfg);
  if (cfg.template) {
    try {
      await client.resolveTemplate(cfg.template, o);
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new ConfigError([{ path: "--template", message: getErrorMessage(err) }]);
    }
  }
  const range = parseTargetRange(cfg.targetWorkspaces, "workspaces");
  const { host: appHost } = await client.appHost(o);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const workspaces = await listScaletestWorkspaces(client, cfg, stdout, o);
  const targets: TrafficTarget[] = [];
  for (const { index, item: ws } of selectTargetWorkspaces(workspaces, range)) {
    const agent = ws.agent;
    if (!agent) {
      stderr.push(`WARN: skipping workspace ${ws.name}: no agent`);
      continue;
    }
    const t: TrafficTarget = { index, workspace: { id: ws.id, name: ws.name, owner_name: ws.owner_name }, agent: { id: agent.id, name: agent.name } };
    if (cfg.app) {
      const app = agent.app;
      if (!app) throw new Error(`app "${cfg.app}" not found in workspace "${ws.name}"`);
      t.appUrl = appUrl(client.url, appHost, app, ws.owner_name, ws.name, agent.name);
    }
    targets.push(t);
  }
  return { targets, stdout, stderr };
}

/** What selection needs of a listed workspace: its names, and the agent upstream would pick (with the app, in app mode). */
interface ListedWorkspace extends Pick<Workspace, "id" | "name" | "owner_name"> {
  agent?: Pick<WorkspaceAgent, "id" | "name"> & { app?: WorkspaceApp };
}

/** `getScaletestWorkspaces`: skip others' workspaces when owner exec is disabled, page with the `q` filter, keep `scaletest-` names. */
async function listScaletestWorkspaces(client: CoderClient, cfg: WorkspaceTrafficConfig, stdout: string[], o: { signal?: AbortSignal }): Promise<ListedWorkspace[]> {
  const me: User = await client.me(o);
  const dc = await client.deploymentConfig(o);
  const ownerExecDisabled = dc.config["disable_owner_workspace_exec"] === true;
  const terms = [...(cfg.useHostLogin ? ['owner:"me"'] : []), 'name:"scaletest-"', ...(cfg.template ? [`template:"${cfg.template}"`] : [])];
  let skipped = 0;
  const out = await client.allWorkspaces(terms.join(" "), o, (ws): ListedWorkspace | undefined => {
    if (!ws.owner_name.startsWith("scaletest-") && !ws.name.startsWith("scaletest-")) return undefined;
    if (ownerExecDisabled && ws.owner_id !== me.id) {
      skipped++;
      return undefined;
    }
    const agent = chooseAgent(ws);
    return { id: ws.id, name: ws.name, owner_name: ws.owner_name, agent: agent && { id: agent.id, name: agent.name, app: cfg.app ? agent.apps.find((a) => a.slug === cfg.app) : undefined } };
  });
  if (skipped > 0) {
    stdout.push(
      `CODER_DISABLE_OWNER_WORKSPACE_ACCESS is set on the deployment.\n\t${skipped} workspace(s) were skipped due to ownership mismatch.\n\tSet --use-host-login to only target workspaces you own.`,
    );
  }
  return out;
}

/** Upstream's agent choice (a quirk): the first agent of the LAST resource that has agents. */
export function chooseAgent(ws: Workspace): WorkspaceAgent | undefined {
  let agent: WorkspaceAgent | undefined;
  for (const r of ws.latest_build.resources) if (r.agents && r.agents.length > 0) agent = r.agents[0];
  return agent;
}
