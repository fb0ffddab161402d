// The Settings view in a real browser against `kdlab serve` (a temp workspace): the engine's status
// and kdlab's images from the running dockerd, a bad engine address refused with its reason and not
// saved, Docker chosen and kept across a reload and in state/settings.json, back to the host; a guest
// booted from the VMs view says where it runs. Screenshots saved.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../electron/lab/workspace';
import { launchChromium, openLabPage } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';

const shots = join(appRoot, 'test-output', 'screenshots');
let root: string;
let app: ServedApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

const savedSettings = async () =>
  JSON.parse(await readFile(join(root, 'state', 'settings.json'), 'utf8').catch(() => '{}')) as {
    executor?: string;
    docker?: { image?: string; host?: string | null };
  };

beforeAll(async () => {
  ensureBuilt();
  const { kernel } = await labKernel();
  // A workspace of its own (the setting must not leak into other tests), with the lab kernel
  // hard-linked from the test cache.
  await mkdir(dirname(testWorkspaceRoot), { recursive: true });
  root = await mkdtemp(`${dirname(testWorkspaceRoot)}/settings-e2e-`);
  const entry = (await Workspace.open(root)).cache('kernels').entryDir(kernel.key);
  await mkdir(dirname(entry), { recursive: true });
  execFileSync('cp', ['-al', kernel.dir, entry]);
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: root };
  delete env.DISPLAY;
  delete env.DOCKER_HOST;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  page = await openLabPage(browser, app.url, pageErrors);
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('Settings view', () => {
  it('shows the engine and its images, refuses a bad engine, saves Docker across a reload, and goes back to the host', async () => {
    await page.goto(`${app.origin}/#/settings`);
    await expect
      .poll(() => page.getByTestId('settings-current').textContent())
      .toContain('every step runs on this host');
    expect(await page.getByTestId('executor-host').isChecked()).toBe(true);
    await expect
      .poll(() => page.getByTestId('engine-status').textContent(), { timeout: 20_000 })
      .toMatch(/Answering:\s*unix:\/\/\/var\/run\/docker\.sock · Docker \d+\.\d+/);
    expect(await page.getByTestId('lab-images').textContent()).toContain('toolchain');
    await expect
      .poll(() => page.getByTestId('engine-images').textContent())
      .toContain('kdlab/toolchain:latest');

    // A tcp:// address without a port: refused with the reason, nothing saved.
    await page.getByTestId('executor-docker').check();
    await page.getByTestId('settings-engine').fill('tcp://lab-server');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('has no port');
    expect((await savedSettings()).executor).toBeUndefined();

    await page.getByTestId('settings-engine').fill('');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => page.getByTestId('settings-saved').textContent()).toBe('Saved');
    expect(await page.getByTestId('settings-current').textContent()).toContain(
      'every step runs in kdlab/toolchain:latest on unix:///var/run/docker.sock',
    );
    expect(await savedSettings()).toMatchObject({
      executor: 'docker',
      docker: { image: 'kdlab/toolchain:latest', host: null },
    });
    await page.screenshot({ path: join(shots, 'settings-docker.png'), fullPage: true });

    // Kept across a reload (it is the back end's setting, not the page's).
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.labReady === 'true');
    await expect.poll(() => page.getByTestId('executor-docker').isChecked()).toBe(true);
    expect(await page.getByTestId('settings-image').inputValue()).toBe('kdlab/toolchain:latest');

    // In Chinese too.
    await page.locator('nav select').selectOption('zh-CN');
    await expect.poll(() => page.getByTestId('settings-current').textContent()).toContain('当前');
    // The lab image's description comes from lab-images/manifest.json, in both languages.
    expect(await page.getByTestId('lab-images').textContent()).toContain('内核编译工具链');
    await page.screenshot({ path: join(shots, 'settings-zh-CN.png'), fullPage: true });
    await page.locator('nav select').selectOption('en');

    await page.getByTestId('executor-host').check();
    await page.getByTestId('settings-save').click();
    await expect
      .poll(() => page.getByTestId('settings-current').textContent())
      .toContain('every step runs on this host');
    expect((await savedSettings()).executor).toBe('host');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('the VMs view says where a guest runs', async () => {
    await page.goto(`${app.origin}/#/vms`);
    await page.getByRole('button', { name: 'Boot', exact: true }).click();
    await expect.poll(() => page.getByTestId('vm-executor').textContent(), { timeout: 60_000 }).toBe('host');
    await expect
      .poll(() => page.locator('.xterm-rows').first().textContent(), { timeout: 60_000 })
      .toContain('KDLAB-INIT-READY');
    await page.screenshot({ path: join(shots, 'settings-vm-executor.png'), fullPage: true });
    await page.getByRole('button', { name: 'Power off' }).click();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
