// Pure parts of the simulator core: search-query parsing, the rate limiter, knob validation, PRNG, password and parameter rules, routing.
import { describe, expect, it } from "vitest";
import { RateLimiter, injectFault } from "../../../src/simulator/faults.ts";
import { Router } from "../../../src/simulator/http.ts";
import { DEFAULT_KNOBS, validateKnobs } from "../../../src/simulator/knobs.ts";
import { seededRandom } from "../../../src/util/random.ts";
import { page, parsePagination, parseSearchQuery } from "../../../src/simulator/routes/query.ts";
import { passwordProblem } from "../../../src/simulator/routes/users.ts";
import { BUILTIN_TEMPLATES, validateParameterValue } from "../../../src/simulator/templates.ts";

describe("parseSearchQuery", () => {
  it("splits key:value terms, quoted or not, and keeps bare words", () => {
    expect(parseSearchQuery('owner:"me" name:"scaletest-" template:kubernetes-minimal  extra')).toEqual([
      { key: "owner", value: "me" },
      { key: "name", value: "scaletest-" },
      { key: "template", value: "kubernetes-minimal" },
      { key: "", value: "extra" },
    ]);
    expect(parseSearchQuery('name:"with space"')).toEqual([{ key: "name", value: "with space" }]);
    expect(parseSearchQuery("")).toEqual([]);
  });

  it("parses pagination and pages lists", () => {
    const url = new URL("http://x/?limit=2&offset=1");
    const p = parsePagination(url);
    expect(p).toEqual({ limit: 2, offset: 1 });
    expect(page([1, 2, 3, 4], { limit: 2, offset: 1 })).toEqual([2, 3]);
    expect(page([1, 2, 3], { limit: 0, offset: 0 })).toEqual([1, 2, 3]);
    expect(parsePagination(new URL("http://x/?limit=-1"))).toEqual({ field: "limit", detail: 'Query param "limit" must be a valid integer (-1).' });
  });
});

describe("RateLimiter and fault injection", () => {
  it("allows `limit` requests per key per minute, then refuses until the window moves", () => {
    const rl = new RateLimiter();
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => rl.allow("ip|/a", 2, t0))).toEqual([true, true, false]);
    expect(rl.allow("ip|/b", 2, t0)).toBe(true);
    expect(rl.allow("ip|/a", 2, t0 + 60_000)).toBe(true);
  });

  it("answers the limiter first, then injected 429, then injected 500", () => {
    const limiter = new RateLimiter();
    const base = { random: () => 0, limiter, ip: "1.2.3.4", method: "GET", path: "/api/v2/users/me" };
    expect(injectFault({ ...base, knobs: { ...DEFAULT_KNOBS, http5xxRate: 1 } })?.status).toBe(500);
    expect(injectFault({ ...base, knobs: { ...DEFAULT_KNOBS, http5xxRate: 1, http429Rate: 1 } })?.status).toBe(429);
    expect(injectFault({ ...base, knobs: DEFAULT_KNOBS })).toBeNull();
    const login = { ...base, method: "POST", path: "/api/v2/users/login", knobs: { ...DEFAULT_KNOBS, loginRateLimit: 1 } };
    expect(injectFault(login)).toBeNull();
    expect(injectFault(login)?.body.message).toBe("You've been rate limited for sending more than 1 requests in 1m0s.");
  });
});

describe("knobs", () => {
  it("names the knob and the range in every problem", () => {
    expect(validateKnobs({ http5xxRate: -0.1, pendingMs: -1, rateLimit: 1.5, seed: 0.5, nope: 1 } as never).map((p) => p.path).sort()).toEqual(["http5xxRate", "nope", "pendingMs", "rateLimit", "seed"]);
    expect(validateKnobs({ ...DEFAULT_KNOBS })).toEqual([]);
  });

  it("seededRandom repeats for the same seed and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(8)()).not.toBe(xs[0]);
  });
});

describe("coderd rules", () => {
  it("rejects low-entropy and over-long passwords", () => {
    expect(passwordProblem("password")).toMatch(/^insecure password/);
    expect(passwordProblem("aaaaaaaaaaaaaaaaaaaaaaaa")).toMatch(/^insecure password/);
    expect(passwordProblem("Str0ng-Password-123")).toBeNull();
    expect(passwordProblem("x".repeat(65))).toBe("password must be no more than 64 characters");
  });

  it("validates rich parameter values by type, range, options and regex", () => {
    const [cpu, image, dotfiles] = BUILTIN_TEMPLATES[0]!.parameters;
    expect(validateParameterValue(cpu!, "4")).toBeNull();
    expect(validateParameterValue(cpu!, "9")).toBe("CPU must be between 1 and 8.");
    expect(validateParameterValue(cpu!, "x")).toMatch(/not a number/);
    expect(validateParameterValue(image!, "debian")).toBeNull();
    expect(validateParameterValue(image!, "arch")).toMatch(/must be one of: ubuntu, debian/);
    expect(validateParameterValue(dotfiles!, "")).toBeNull();
    expect(validateParameterValue(dotfiles!, "ftp://x")).toBe("must be an http(s) URL");
  });

  it("gives kubernetes-minimal agent m with the three subdomain apps", () => {
    const minimal = BUILTIN_TEMPLATES.find((t) => t.name === "kubernetes-minimal")!;
    expect(minimal.agents.map((a) => a.name)).toEqual(["m"]);
    expect(minimal.agents[0]!.apps.map((a) => [a.slug, a.subdomain, a.sharingLevel])).toEqual([
      ["wsec", true, "authenticated"],
      ["wsra", true, "authenticated"],
      ["wsdi", true, "authenticated"],
    ]);
  });
});

describe("Router", () => {
  it("matches {params} on one segment, decodes them, and tells 405 from 404", () => {
    const r = new Router();
    r.add("GET", "/api/v2/users/{user}", () => undefined);
    r.add("GET", "/api/v2/users/{user}/workspace/{workspacename}", () => undefined);
    const m = r.match("GET", "/api/v2/users/a%40b/workspace/ws-1");
    expect(m && "route" in m ? [m.route.pattern, m.params] : null).toEqual(["/api/v2/users/{user}/workspace/{workspacename}", { user: "a@b", workspacename: "ws-1" }]);
    expect(r.match("DELETE", "/api/v2/users/me")).toEqual({ methodNotAllowed: true, pattern: "/api/v2/users/{user}" });
    expect(r.match("GET", "/api/v2/users/me/extra/deep")).toBeNull();
  });
});
