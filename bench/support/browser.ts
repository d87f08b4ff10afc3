/**
 * A real browser for playback tests: Debian's Chromium, headless, driven by playwright-core, with a
 * fresh profile and no background networking (this machine has no internet; Chromium's own calls out
 * would only fail). `close()` removes the profile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 800 },
      // Chromium took more than 30 s to start while the other test lane built Docker images (2 cores).
      timeout: 60_000,
    });
    return {
      context,
      close: async () => {
        await context.close();
        removeProfile(profile);
      },
    };
  } catch (error) {
    removeProfile(profile);
    throw error;
  }
}

/** Chromium's last writes into its profile may land while it is removed: retry, and never hide why a launch failed. */
function removeProfile(profile: string): void {
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (error) {
    process.stderr.write(`could not remove the Chromium profile ${profile}: ${(error as Error).message}\n`);
  }
}
