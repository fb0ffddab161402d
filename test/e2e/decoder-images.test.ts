// The Decoder and Images views in a real browser against `kdlab serve` on the lab kernel's workspace:
// the Decoder opened from its nav entry decodes a seed log (exit status, explanation, next steps)
// and, with the lab kernel chosen as vmlinux, a sysrq panic the lab kernel printed gets file:line;
// a log dropped on another view opens the Decoder with it; the input survives leaving the view.
// The Images view lists images packed earlier, packs an ext4 rootfs as a job with a progress bar,
// and shows its contents as a tree. Screenshots in English and Chinese.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPackedImages } from '../../electron/lab/image/image-listing';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { VmcoreLibrary } from '../../electron/lab/kdump/vmcore-library';
import type { Workspace } from '../../electron/lab/workspace';
import { launchChromium, openLabPage } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';
import { makeTempDir } from '../helpers/temp';

const shots = join(appRoot, 'test-output', 'screenshots');
let app: ServedApp;
let browser: Browser;
let page: Page;
let workspace: Workspace;
let kernelBuildId: string;
let sysrqLog: string;
let rootfsBefore: Set<string>;
const pageErrors: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  const lab = await labKernel();
  workspace = lab.workspace;
  kernelBuildId = lab.kernel.manifest.buildId ?? '';
  const library = new VmcoreLibrary(workspace);
  // A console log the lab kernel printed when it panicked (sysrq): its symbols are in its vmlinux.
  let entry = (await library.list()).find((e) => e.meta.panic === 'sysrq triggered crash' && e.consoleLog);
  if (!entry) {
    await lab.jobs.withProgress({ title: 'capture', kind: 'capture' }, (p, signal) =>
      new KdumpCapture(workspace).capture({ kernel: lab.kernel, trigger: { kind: 'sysrq' } }, p, signal),
    );
    entry = (await library.list()).find((e) => e.meta.panic === 'sysrq triggered crash' && e.consoleLog);
  }
  sysrqLog = readFileSync(entry!.consoleLog!, 'utf8');
  rootfsBefore = new Set(
    (await listPackedImages(workspace)).filter((i) => i.kind === 'rootfs').map((i) => i.key),
  );
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  page = await openLabPage(browser, app.url, pageErrors);
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  // The rootfs this test packed (a fresh size each run, so that it really packs) leaves the shared workspace.
  if (!workspace) return;
  for (const image of await listPackedImages(workspace))
    if (image.kind === 'rootfs' && !rootfsBefore.has(image.key))
      await rm(join(workspace.cacheDir, 'rootfs', image.key), { recursive: true, force: true });
});

const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });

describe('Decoder view', () => {
  it('decodes a seed log opened from its nav entry: exit status, explanation, next steps', async () => {
    await page.goto(`${app.origin}/#/home`);
    await nav('Decoder').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/decoder');
    expect(await nav('Decoder').getAttribute('aria-current')).toBe('page');
    const log = readFileSync(
      join(appRoot, 'test/fixtures/panic-logs/seed001-systemd-exitcode-7f00.log'),
      'utf8',
    );
    await page.getByTestId('decoder-input').fill(log);
    await page.getByRole('button', { name: 'Decode', exact: true }).click();
    const card = page.getByTestId('decoded-report').first();
    await expect
      .poll(() => card.getByTestId('decoded-exit').textContent(), { timeout: 20_000 })
      .toMatch(/0x00007f00\s*→\s*exit\(127\)/);
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('exited with status 127');
    expect(text).toMatch(/Likely causes[\s\S]*Next steps/);
    await page.screenshot({ path: join(shots, 'decoder.png'), fullPage: true });

    // Away and back: the log and the reports are still there.
    await nav('Images').click();
    await page.getByRole('heading', { name: 'Images', level: 1 }).waitFor();
    await nav('Decoder').click();
    expect(await page.getByTestId('decoder-input').inputValue()).toContain('0x00007f00');
    expect(await page.getByTestId('decoded-report').first().textContent()).toContain('exit(127)');

    await page.locator('nav select').selectOption('zh-CN');
    await expect.poll(() => page.getByTestId('decoded-report').first().textContent()).toContain('可能原因');
    // The back end's explanation follows the language too (LocalText), without decoding again.
    expect(await page.getByTestId('decoded-report').first().textContent()).toContain(
      'PID 1（systemd）以退出状态 127 退出',
    );
    await page.screenshot({ path: join(shots, 'decoder-zh.png'), fullPage: true });
    await page.locator('nav select').selectOption('en');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("symbolizes the lab kernel's own sysrq panic with the lab kernel chosen as vmlinux", async () => {
    await page.goto(`${app.origin}/#/decoder`);
    const select = page.getByTestId('decoder-vmlinux');
    const option = select.locator('option', { hasText: `build id ${kernelBuildId.slice(0, 12)}` }).first();
    await expect.poll(() => option.count(), { timeout: 20_000 }).toBe(1);
    expect(await option.textContent()).toMatch(/^6\.1\.\d+ · build id [0-9a-f]{12} · built on /);
    await select.selectOption({ value: (await option.getAttribute('value'))! });
    await page.getByTestId('decoder-input').fill(sysrqLog);
    await page.getByRole('button', { name: 'Decode', exact: true }).click();
    const card = page.getByTestId('decoded-report').first();
    await expect.poll(() => card.textContent(), { timeout: 60_000 }).toContain('sysrq_handle_crash');
    // file:line from the chosen vmlinux's DWARF.
    expect(await card.textContent()).toMatch(/drivers\/tty\/sysrq\.c:\d+/);
    await page.screenshot({ path: join(shots, 'decoder-vmlinux.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('opens the Decoder with a log dropped on another view (decoded with the vmlinux chosen before)', async () => {
    await page.goto(`${app.origin}/#/kernels`);
    const file = join(await makeTempDir(), 'console.log');
    writeFileSync(
      file,
      readFileSync(join(appRoot, 'test/fixtures/panic-logs/seed001-systemd-exitcode-7f00.log'), 'utf8'),
    );
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'e2e-drop-source';
      input.style.display = 'none';
      document.body.append(input);
    });
    await page.setInputFiles('#e2e-drop-source', file);
    await page.evaluate(() => {
      const input = document.getElementById('e2e-drop-source') as HTMLInputElement;
      const data = new DataTransfer();
      data.items.add(input.files![0]!);
      for (const type of ['dragenter', 'dragover', 'drop'])
        document
          .querySelector('main')!
          .dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      input.remove();
    });
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/decoder');
    await expect
      .poll(() => page.getByTestId('decoded-report').first().textContent(), { timeout: 20_000 })
      .toContain('exit(127)');
    expect(await page.getByText('From console.log').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

describe('Images view', () => {
  it('lists images packed earlier, packs an ext4 rootfs as a job with progress, shows it as a tree', async () => {
    await page.goto(`${app.origin}/#/home`);
    await nav('Images').click();
    // Not empty on start: the packed images of this workspace, the newest shown.
    await expect
      .poll(() => page.getByTestId('image-list').locator('tbody tr').count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await page.getByTestId('image-tree').waitFor();

    // A size never packed before, so mkfs.ext4 really runs (the entry is removed afterwards).
    const extra = 16 + Math.floor(Math.random() * 100);
    await page.getByTestId('image-format').selectOption('rootfs');
    await page.getByLabel('Free space (MiB)').fill(String(extra));
    await page.evaluate(() => {
      const seen = window as unknown as { seenProgress: string[] };
      seen.seenProgress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid=image-progress]');
        if (bar) seen.seenProgress.push(bar.textContent ?? '');
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const before = await page.getByTestId('image-summary').textContent();
    await page.getByRole('button', { name: 'Pack and check' }).click();
    // The newest image was shown on start: wait for the new one.
    await expect
      .poll(() => page.getByTestId('image-summary').textContent(), { timeout: 120_000 })
      .not.toBe(before);
    expect(await page.getByTestId('image-summary').textContent()).toContain('rootfs.ext4');
    const progress = await page.evaluate(
      () => (window as unknown as { seenProgress: string[] }).seenProgress,
    );
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.join('\n')).toMatch(/busybox|gen_init_cpio|mkfs\.ext4|cpio|Packing/);
    expect(await page.getByTestId('image-summary').textContent()).not.toContain('cache hit');
    expect(await page.getByRole('heading', { level: 2, name: /ext4 rootfs/ }).count()).toBe(1);
    // In the list now, and its tree: /dev opens to show the device nodes as such.
    expect(await page.getByTestId('image-list').textContent()).toContain('ext4 rootfs');
    const tree = page.getByTestId('image-tree');
    await tree
      .getByRole('treeitem', { name: /^▸?\s*dev/ })
      .first()
      .click();
    await expect.poll(() => tree.textContent()).toContain('character device 5:1');
    await tree
      .getByRole('treeitem')
      .filter({ hasText: /^▸\s*bin/ })
      .first()
      .focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => tree.textContent()).toContain('busybox');
    expect(await page.getByTestId('image-checks').textContent()).toContain(
      '/init is present, executable and can run',
    );
    await page.screenshot({ path: join(shots, 'images-rootfs.png'), fullPage: true });
    await page.locator('nav select').selectOption('zh-CN');
    await expect.poll(() => tree.textContent()).toContain('字符设备 5:1');
    await page.screenshot({ path: join(shots, 'images-rootfs-zh.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(shots, 'images-rootfs-zh-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('nav select').selectOption('en');
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
