import { describe, expect, it } from "vitest";
import { childEnv } from "../../../src/util/child-env.ts";

describe("child environment", () => {
  it("keeps the allow-list, drops everything else, and adds the extras", () => {
    const env = childEnv(
      { CODER_URL: "http://127.0.0.1:1", CODER_SESSION_TOKEN: "tok", CODER_HEADER: "X=1", HOME: undefined },
      {
        PATH: "/bin",
        HOME: "/root",
        LANG: "C.UTF-8",
        LC_ALL: "C",
        HTTPS_PROXY: "http://127.0.0.1:3128",
        TMPDIR: "/tmp",
        CODER_SSH_DISABLE_AUTOSTART: "true",
        GRAFANA_API_TOKEN: "g",
        SLACK_WEBHOOK_URL: "https://hooks.example/x",
        AWS_SECRET_ACCESS_KEY: "a",
        SCALETEST_PARAM_NUM_WORKSPACES: "5",
        NODE_OPTIONS: "--inspect",
      },
    );
    expect(env).toEqual({
      PATH: "/bin",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      HTTPS_PROXY: "http://127.0.0.1:3128",
      TMPDIR: "/tmp",
      CODER_SSH_DISABLE_AUTOSTART: "true",
      CODER_URL: "http://127.0.0.1:1",
      CODER_SESSION_TOKEN: "tok",
      CODER_HEADER: "X=1",
    });
  });
});
