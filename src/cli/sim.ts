// `scaletest sim`: runs the built-in Coder simulator until SIGINT/SIGTERM and writes its URL and owner token to a 0600 file.
import { Option, type Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { ConfigError, registerSecret, type ConfigProblem } from "../errors.ts";
import { writeSecretFile } from "../util/secret-file.ts";
import { startSimulator } from "../simulator/index.ts";
import { validateKnobs, type Knobs } from "../simulator/knobs.ts";
import { parseDuration } from "../util/duration.ts";

/** Knob flags: flag name → knob and how its value is parsed. */
const KNOB_FLAGS: Array<{ flag: string; knob: keyof Knobs; kind: "duration" | "rate" | "int" | "string"; help: string }> = [
  { flag: "pending", knob: "pendingMs", kind: "duration", help: "time a provisioner job stays pending (e.g. 50ms, 2s)" },
  { flag: "running", knob: "runningMs", kind: "duration", help: "time a provisioner job runs" },
  { flag: "jitter", knob: "jitterMs", kind: "duration", help: "random extra delay added to pending and running" },
  { flag: "build-failure-rate", knob: "buildFailureRate", kind: "rate", help: "chance (0..1) that a start build fails" },
  { flag: "agent-connect-delay", knob: "agentConnectDelayMs", kind: "duration", help: "time from build success to agent connected" },
  { flag: "http-5xx-rate", knob: "http5xxRate", kind: "rate", help: "chance (0..1) of an injected 500 per API request" },
  { flag: "http-429-rate", knob: "http429Rate", kind: "rate", help: "chance (0..1) of an injected 429 per API request" },
  { flag: "slow-response", knob: "slowResponseMs", kind: "duration", help: "delay added before every API response" },
  { flag: "rate-limit", knob: "rateLimit", kind: "int", help: "requests per minute per (client IP, path); 0 = off" },
  { flag: "login-rate-limit", knob: "loginRateLimit", kind: "int", help: "logins per minute per client IP; 0 = off" },
  { flag: "drop-sockets-rate", knob: "dropSocketsRate", kind: "rate", help: "chance (0..1) that a traffic WebSocket is dropped" },
  { flag: "app-host", knob: "appHost", kind: "string", help: "wildcard app host, e.g. *.apps.example.com:8080 (default *.apps.localhost:<port>)" },
  { flag: "seed", knob: "seed", kind: "int", help: "seed of the fault-injection PRNG" },
];

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Turns flag values into knobs; every problem names the flag and the allowed range. */
export function knobsFromFlags(opts: Record<string, string | undefined>): Partial<Knobs> {
  const problems: ConfigProblem[] = [];
  const knobs: Record<string, unknown> = {};
  for (const f of KNOB_FLAGS) {
    const raw = opts[camel(f.flag)];
    if (raw === undefined) continue;
    if (f.kind === "duration") {
      try {
        knobs[f.knob] = parseDuration(raw);
      } catch {
        problems.push({ path: `--${f.flag}`, message: `must be a duration like 150ms or 2s, got "${raw}"` });
      }
    } else if (f.kind === "string") knobs[f.knob] = raw;
    else knobs[f.knob] = raw.trim() === "" ? NaN : Number(raw);
  }
  for (const p of validateKnobs(knobs as Partial<Knobs>)) {
    const flag = KNOB_FLAGS.find((f) => f.knob === p.path)?.flag ?? p.path;
    problems.push({ path: `--${flag}`, message: p.message.replace(/milliseconds in \[0, 3600000\]/, "a duration between 0s and 1h") });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return knobs as Partial<Knobs>;
}

export function register(program: Command): void {
  const cmd = program
    .command("sim")
    .description(DESCRIPTIONS.sim)
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "0")
    .option("--credentials-file <path>", 'write {"url","session_token"} here (mode 0600) once listening');
  for (const f of KNOB_FLAGS) cmd.addOption(new Option(`--${f.flag} <value>`, f.help));
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError([{ path: "--port", message: `must be an integer in [0, 65535], got "${opts.port}"` }]);
    const knobs = knobsFromFlags(opts);
    const sim = await startSimulator({ host: opts.host, port, knobs });
    registerSecret(sim.sessionToken);
    if (opts.credentialsFile) {
      writeSecretFile(opts.credentialsFile, `${JSON.stringify({ url: sim.url, session_token: sim.sessionToken })}\n`);
    }
    process.stdout.write(`Coder simulator listening on ${sim.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await sim.close();
    process.stdout.write("Coder simulator stopped\n");
  });
}
