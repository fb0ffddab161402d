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
] as const;

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
});
