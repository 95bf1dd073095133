// `scaletest sim` as a real process: listens, writes a 0600 credentials file, never prints the token, stops cleanly on SIGTERM.
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { knobsFromFlags } from "../../src/cli/sim.ts";

describe("scaletest sim", () => {
  it("serves until SIGTERM and writes the credentials file with mode 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-cli-"));
    const creds = join(dir, "credentials.json");
    const child = execa(process.execPath, ["bin/scaletest.js", "sim", "--port", "0", "--credentials-file", creds, "--pending", "10ms", "--http-429-rate", "0"], { reject: false });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("listening on")) resolve();
      });
      child.once("exit", () => reject(new Error(`exited early: ${out}`)));
    });
    const { url, session_token } = JSON.parse(readFileSync(creds, "utf8")) as { url: string; session_token: string };
    expect(statSync(creds).mode & 0o777).toBe(0o600);
    expect(out).toContain(url);
    expect(out).not.toContain(session_token);
    const me = await fetch(`${url}/api/v2/users/me`, { headers: { "Coder-Session-Token": session_token } });
    expect(me.status).toBe(200);
    child.kill("SIGTERM");
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("stopped");
  });

  it("rejects bad knob flags by name before starting (exit 2)", async () => {
    expect(() => knobsFromFlags({ http5xxRate: "1.5" })).toThrow(/--http-5xx-rate: must be a number in \[0, 1\]/);
    expect(() => knobsFromFlags({ pending: "soon" })).toThrow(/--pending: must be a duration/);
    expect(knobsFromFlags({ running: "2s", rateLimit: "512", appHost: "*.apps.example.com" })).toEqual({ runningMs: 2000, rateLimit: 512, appHost: "*.apps.example.com" });
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(["sim", "--port", "70000"])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join("")).toContain("--port");
  });
});
