// chromium.mjs - what every browser test shares: Debian's chromium, headless,
// driven by playwright-core, and a way to wait for the page to catch up.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// A fresh profile in profileDir; options go to launchPersistentContext,
// args added to chromium's own.
export function launch(profileDir, { args = [], ...options } = {}) {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
    locale: 'en-US', // the page formats in the browser's locale; the expectations are in English
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    ...options,
  });
}

// Retries fn until it stops throwing, then returns its value; after
// `timeout` ms the last failure is the test's failure.
export async function eventually(fn, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
