// Three tiers: unit (pure, loopback only), integration (real code against the
// simulator on port 0), e2e (the scripts end to end, with real sshd/Prometheus/Chromium).
// The integration tier's global setup gets sshd and Prometheus from Debian once (or stops the run at once naming
// the command); both tiers that drive a browser have their Chromium ready before any test starts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default"],
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 10_000 } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/debian-parts.ts", "test/setup/chromium.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], globalSetup: ["test/setup/chromium.ts"], testTimeout: 180_000, hookTimeout: 120_000 } },
    ],
  },
});
