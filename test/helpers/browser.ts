// Debian's Chromium driven by playwright-core (never `playwright install`: no downloads here).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const chromiumPath = process.env.KDLAB_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: run scripts/setup.sh (it installs Debian's chromium)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page on the served app, ready (data-lab-ready), with uncaught page errors collected in `errors`. */
export async function openLabPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.labReady === 'true');
  return page;
}
