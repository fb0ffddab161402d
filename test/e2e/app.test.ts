// The app in a real browser against the real back end (`kdlab serve`): doctor results of this
// very host, a working host shell, refusals without the token, and a screenshot of every view.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot, ensureBuilt } from '../helpers/build';
import { launchChromium } from '../helpers/browser';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';
import { makeTempDir } from '../helpers/temp';

const shots = join(appRoot, 'test-output', 'screenshots');
const views = [
  'home',
  'recipes',
  'kernels',
  'images',
  'vms',
  'debugger',
  'analyzer',
  'decoder',
  'jobs',
  'terminal',
  'settings',
] as const;

/** The page is no wider than the window (a wide table or a long word makes it scroll sideways). */
const noSidewaysScroll = (p: Page) =>
  p.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));

let app: ServedApp;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: join(await makeTempDir(), 'ws') };
  delete env.DISPLAY;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, locale: 'en-US' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('kdlab in a browser', () => {
  it('refuses a visitor without the token', async () => {
    const context = await browser.newContext();
    const stranger = await context.newPage();
    const response = await stranger.goto(`${app.origin}/`);
    expect(response?.status()).toBe(401);
    expect(await stranger.textContent('body')).toContain('needs its access token');
    await context.close();
  });

  it('opens with the token and shows the doctor results of this host', async () => {
    await page.goto(app.url);
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    await page.goto(`${app.origin}/#/home`);
    await page.getByRole('button', { name: /run checks/i }).click();
    const qemu = page.locator('[data-testid="doctor-check-qemu"]');
    await qemu.waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="doctor-check-kvm"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="doctor-running"]'), null, {
      timeout: 60_000,
    });
    const version = /QEMU emulator version (\S+)/.exec(
      execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }),
    )?.[1];
    expect(await qemu.getAttribute('data-status')).toBe('ok');
    expect(await qemu.textContent()).toContain(version);
    const kvmText = (await page.locator('[data-testid="doctor-check-kvm"]').textContent()) ?? '';
    expect(kvmText).toMatch(/KVM/);
    await page.screenshot({ path: join(shots, 'home-doctor.png'), fullPage: true });
    const en = await noSidewaysScroll(page);
    expect(en.scrollWidth, 'English Home scrolls sideways').toBeLessThanOrEqual(en.clientWidth);
    // The same report in Chinese (the language is remembered: set it back afterwards).
    await page.locator('nav select').selectOption('zh-CN');
    await page.locator('[data-testid="doctor-check-qemu"]').waitFor();
    const zh = await noSidewaysScroll(page);
    await page.screenshot({ path: join(shots, 'home-doctor-zh-CN.png'), fullPage: true });
    await page.locator('nav select').selectOption('en');
    expect(zh.scrollWidth, 'Chinese Home scrolls sideways').toBeLessThanOrEqual(zh.clientWidth);
    // Another host's report may hold long unbroken words (paths, versions, URLs in a fix): they
    // wrap in their cells. (Put into this report's cells; the page is reloaded afterwards.)
    await page.evaluate(() => {
      const cells = document.querySelectorAll('[data-testid="doctor-check-qemu"] td');
      cells[2]!.textContent = '7.2.22+dfsg-7+deb12u18~bpo11+1-a-long-distribution-version';
      cells[3]!.textContent = `/opt/${'a-long-folder-name/'.repeat(12)}qemu-system-x86_64`;
    });
    const long = await noSidewaysScroll(page);
    expect(long.scrollWidth, 'long words widen Home').toBeLessThanOrEqual(long.clientWidth);
    await page.reload();
  });

  it('opens a host shell and runs a command in it', async () => {
    await page.goto(`${app.origin}/#/terminal`);
    await page.getByRole('button', { name: /open host shell/i }).click();
    const terminal = page.locator('[data-testid="terminal"]').first();
    await terminal.waitFor();
    await page.waitForFunction(
      () =>
        (document.querySelector('.xterm-rows')?.textContent ?? '').includes('$') ||
        (document.querySelector('.xterm-rows')?.textContent ?? '').includes('#'),
      null,
      { timeout: 20_000 },
    );
    await terminal.click();
    await page.keyboard.type('echo kdlab-ok');
    await page.keyboard.press('Enter');
    // The shell's answer is a row of its own, not just the echoed keystrokes.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('.xterm-rows > div')].some(
          (row) => row.textContent?.trim() === 'kdlab-ok',
        ),
      null,
      { timeout: 20_000 },
    );
    await page.screenshot({ path: join(shots, 'terminal.png') });

    // The terminal's colours follow a system light/dark change while it is open.
    const termBackground = () =>
      page.evaluate(
        () => getComputedStyle(document.querySelector('.xterm-scrollable-element')!).backgroundColor,
      );
    expect(await termBackground()).toBe('rgb(251, 252, 253)');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(termBackground).toBe('rgb(17, 20, 24)');
    await page.screenshot({ path: join(shots, 'terminal-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(termBackground).toBe('rgb(251, 252, 253)');
    await terminal.click();

    // Tab belongs to the shell; Esc then Tab leaves the terminal for the next control.
    const inTerminal = () =>
      page.evaluate(() => Boolean(document.activeElement?.closest('[data-testid="terminal"]')));
    expect(await inTerminal()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await inTerminal()).toBe(true);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await inTerminal()).toBe(false);

    // A second shell: the tabs switch with the arrow keys and Home/End (WAI-ARIA tabs pattern).
    await page.getByRole('button', { name: /open host shell/i }).click();
    const tabs = page.getByRole('tab');
    await expect.poll(() => tabs.count()).toBe(2);
    // The new shell took the keyboard (it was opened with the button); the first one did not.
    expect(await inTerminal()).toBe(true);
    await tabs.nth(1).focus();
    await page.keyboard.press('ArrowLeft');
    expect(await tabs.nth(0).getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('tab');
    await page.keyboard.press('ArrowLeft'); // wraps to the last
    expect(await tabs.nth(1).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Home');
    expect(await tabs.nth(0).getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('.panel:not([hidden]) [data-testid="terminal"]').count()).toBe(1);
    await page.keyboard.press('End');
    expect(await tabs.nth(1).getAttribute('aria-selected')).toBe('true');
    // Only the selected tab is in the Tab order: Tab goes on to the next control, not the other tab.
    expect(await tabs.nth(0).getAttribute('tabindex')).toBe('-1');
  });

  it('shows every view without errors', async () => {
    for (const view of views) {
      await page.goto(`${app.origin}/#/${view}`);
      await page.waitForTimeout(300);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main.trim().length, view).toBeGreaterThan(20);
      await page.screenshot({ path: join(shots, `view-${view}.png`) });
    }
    expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
  });

  it('shows every view in Chinese with a dark system theme', async () => {
    const context = await browser.newContext({
      viewport: { width: 1360, height: 860 },
      locale: 'zh-CN',
      colorScheme: 'dark',
    });
    const dark = await context.newPage();
    const errors: string[] = [];
    dark.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    dark.on('pageerror', (e) => errors.push(e.message));
    await dark.goto(app.url);
    for (const view of views) {
      await dark.goto(`${app.origin}/#/${view}`);
      await dark.waitForTimeout(300);
      const main = (await dark.locator('main').textContent()) ?? '';
      expect(main.trim().length, view).toBeGreaterThan(20);
      await dark.screenshot({ path: join(shots, `view-${view}-dark-zh-CN.png`) });
    }
    expect(await dark.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    // Dark for real: the page background is the dark theme's, not the browser's white.
    const background = await dark.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(21, 25, 30)');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  });
});
