// vitest globalSetup of the tiers that drive a browser: the Chromium they will use is ready before any test starts.
// With no system Chromium that is the one npm ci brought, unpacked here once rather than by test files racing.
import { findChromium, prepareChromium } from "../../src/browser/chromium.ts";

export default async function setup(): Promise<void> {
  await prepareChromium(findChromium());
}
