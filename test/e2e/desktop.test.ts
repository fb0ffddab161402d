// Desktop integration in the web mode, in a real Chromium against `kdlab serve` on the lab kernel:
// "Save console log" and "Save log" are browser downloads with the right text; the VMs view's serial
// console comes back (replayed) after visiting another view; a long job ending while the tab is
// hidden shows a notification in the UI's language. The browser's Notification object is replaced by
// a recorder (that is the browser's API, not what is tested) and document.hidden is driven by the test.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';

const shots = join(appRoot, 'test-output', 'screenshots');
let app: ServedApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

interface Recorded {
  title: string;
  body: string;
}
declare global {
  interface Window {
    kdlabTest: { hidden: boolean; notes: Recorded[]; requests: number };
  }
}

/** Runs in the page before kdlab: records notifications, lets the test say whether the tab is hidden. */
function instrument(): void {
  window.kdlabTest = { hidden: false, notes: [], requests: 0 };
  let permission: NotificationPermission = 'default';
  class RecordingNotification {
    static get permission(): NotificationPermission {
      return permission;
    }
    static requestPermission(): Promise<NotificationPermission> {
      window.kdlabTest.requests += 1;
      permission = 'granted';
      return Promise.resolve(permission);
    }
    onclick: (() => void) | null = null;
    constructor(title: string, options: { body?: string } = {}) {
      window.kdlabTest.notes.push({ title, body: options.body ?? '' });
    }
    close(): void {}
  }
  Object.defineProperty(window, 'Notification', { value: RecordingNotification, configurable: true });
  Object.defineProperty(document, 'hidden', { get: () => window.kdlabTest.hidden, configurable: true });
  // The download path is the one under test here (headless Chromium has a save picker too).
  Reflect.deleteProperty(window, 'showSaveFilePicker');
}

beforeAll(async () => {
  ensureBuilt();
  await labKernel();
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1360, height: 1000 },
    locale: 'en-US',
    acceptDownloads: true,
  });
  await context.addInitScript(instrument);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(app.url);
  await page.waitForFunction(() => document.documentElement.dataset.labReady === 'true');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

const consoleText = () => page.locator('.xterm-rows').first().textContent();

async function download(click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [saved] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await saved.path();
  return { name: saved.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

describe('desktop integration in the browser', () => {
  it('saves a guest console log, and brings the console back after another view', async () => {
    await page.goto(`${app.origin}/#/vms`);
    await page.getByRole('button', { name: 'Boot', exact: true }).click();
    await expect.poll(consoleText, { timeout: 60_000 }).toContain('KDLAB-INIT-READY');
    await page.locator('.xterm').first().click();
    await page.keyboard.type('echo before-$((6*7))\r');
    await expect.poll(consoleText, { timeout: 20_000 }).toContain('before-42');
    const guestTab = (await page.getByRole('tab', { selected: true }).textContent()) ?? '';

    const saved = await download(() => page.getByTestId('save-console').click());
    expect(saved.name).toMatch(/^kdlab-[\w-]+-console\.log$/);
    expect(saved.text).toContain('Run /init as init process');
    expect(saved.text).toContain('before-42');

    // Away and back: the same guest is selected and its console is there again, replayed and live.
    await page.goto(`${app.origin}/#/home`);
    await expect.poll(() => page.locator('.xterm').count()).toBe(0);
    await page.goto(`${app.origin}/#/vms`);
    await expect.poll(consoleText, { timeout: 20_000 }).toContain('before-42');
    expect(await page.getByRole('tab', { selected: true }).textContent()).toBe(guestTab);
    await page.locator('.xterm').first().click();
    await page.keyboard.type('echo after-$((6*7))\r');
    await expect.poll(consoleText, { timeout: 20_000 }).toContain('after-42');
    await page.screenshot({ path: join(shots, 'vms-console-reattached.png'), fullPage: true });
    await page.getByRole('button', { name: 'Power off' }).click();
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('asks for permission from a click, then notifies in Chinese when a capture ends while hidden', async () => {
    await page.goto(`${app.origin}/#/settings`);
    await page.locator('nav select').selectOption('zh-CN');
    const settings = page.getByTestId('notify-settings');
    await expect.poll(() => settings.textContent()).toContain('未开启');
    expect(await page.evaluate(() => window.kdlabTest.requests)).toBe(0);
    await page.getByTestId('notify-enable').click();
    await expect.poll(() => page.getByTestId('notify-state').textContent()).toContain('已开启');
    await settings.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'settings-notifications-zh.png'), fullPage: true });

    await page.goto(`${app.origin}/#/vms`);
    await page.evaluate(() => (window.kdlabTest.hidden = true));
    await page.getByRole('button', { name: '触发崩溃并抓取（kdump）' }).click();
    await expect
      .poll(() => page.evaluate(() => window.kdlabTest.notes), { timeout: 240_000 })
      .toEqual([
        // The job's own title is in Chinese too.
        {
          title: expect.stringMatching(/^触发崩溃并抓取（kdump）.* — 已完成$/),
          body: expect.stringMatching(/^用时 /),
        },
      ]);
    await page.evaluate(() => (window.kdlabTest.hidden = false));
    await page.locator('nav select').selectOption('en');
    expect(pageErrors).toEqual([]);
  }, 300_000);

  it("saves the capture job's log from the Jobs view", async () => {
    await page.goto(`${app.origin}/#/jobs`);
    const boot = page.locator('li.job', { hasText: 'Crash and capture (kdump)' }).first();
    await expect.poll(() => boot.count(), { timeout: 20_000 }).toBe(1);
    const saved = await download(() => boot.locator('[data-testid^="save-log-"]').click());
    expect(saved.name).toMatch(/^kdlab-capture-[\w-]+\.log$/);
    expect(saved.text).toMatch(/^crashkernel=\d+M/);
    await page.screenshot({ path: join(shots, 'jobs-save-log.png'), fullPage: true });
  });
});
