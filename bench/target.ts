// Bench target: the Coder simulator in its own process with one running workspace; writes {url, session_token} to
// the 0600 file named in argv[2], then prints {url, agentId} (never the token) as one JSON line.
import { CoderClient } from "../src/coder/client.ts";
import { waitForAgents, waitForBuild } from "../src/coder/builds.ts";
import { chooseAgent } from "../src/scenarios/workspace-traffic/select.ts";
import { writeSecretFile } from "../src/util/secret-file.ts";
import { startSimulator } from "../src/simulator/index.ts";

const credentialsFile = process.argv[2];
if (!credentialsFile) throw new Error("usage: target.ts <credentials-file>");

const sim = await startSimulator({ host: "127.0.0.1", port: 0, knobs: { pendingMs: 0, runningMs: 0, agentConnectDelayMs: 0, rateLimit: 0 } });
const client = new CoderClient({ url: sim.url, token: sim.sessionToken });
const ws = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: "scaletest-bench-0" });
await waitForBuild(client, ws.latest_build.id);
await waitForAgents(client, ws.id);
const agent = chooseAgent(await client.workspace(ws.id));
if (!agent) throw new Error("bench workspace has no agent");
writeSecretFile(credentialsFile, `${JSON.stringify({ url: sim.url, session_token: sim.sessionToken })}\n`);
process.stdout.write(`${JSON.stringify({ url: sim.url, agentId: agent.id })}\n`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop); // the parent went away
process.stdin.resume();
