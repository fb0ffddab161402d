// The VMs view in a real browser against `kdlab serve` on the lab kernel: boot, the serial console in
// xterm.js (typed into), crash now, the panic on the boot timeline, power off. Screenshots saved.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openLabPage } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { ModuleBuilder } from '../../electron/lab/kernel/module-builder';
import type { CrashReport } from '../../electron/common/types';
import { VmcoreLibrary } from '../../electron/lab/kdump/vmcore-library';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';

const shots = join(appRoot, 'test-output', 'screenshots');
let app: ServedApp;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  const { workspace, kernel, jobs } = await labKernel();
  // The library views need a sysrq vmcore; on a fresh machine this test may run before any capture.
  if (!(await new VmcoreLibrary(workspace).list()).some((e) => e.meta.panic === 'sysrq triggered crash'))
    await jobs.withProgress({ title: 'capture', kind: 'capture' }, (p, signal) =>
      new KdumpCapture(workspace).capture({ kernel, trigger: { kind: 'sysrq' } }, p, signal),
    );
  // And the report card of a module Oops needs a NULL-dereferencing module's vmcore.
  if (!(await new VmcoreLibrary(workspace).list()).some((e) => e.meta.panic?.startsWith(nullDeref)))
    await jobs.withProgress({ title: 'capture', kind: 'capture' }, async (p, signal) => {
      const [mod] = await new ModuleBuilder(workspace).build(
        kernel,
        join(appRoot, 'lab-images/modules/null-deref'),
        p,
        signal,
      );
      return new KdumpCapture(workspace).capture(
        { kernel, trigger: { kind: 'module', file: 'kdlab_null_deref.ko' }, modules: [mod!.ko] },
        p,
        signal,
      );
    });
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  browser = await launchChromium();
  page = await openLabPage(browser, app.url, consoleErrors);
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

const consoleText = () => page.locator('.xterm-rows').first().textContent();
const nullDeref = 'BUG: kernel NULL pointer dereference';

/** The report the back end stored beside the vmcore the card shows. */
async function shownReport(): Promise<CrashReport> {
  const vmcore = (await page.getByTestId('report-vmcore').textContent()) ?? '';
  return JSON.parse(readFileSync(join(dirname(vmcore), 'report.json'), 'utf8')) as CrashReport;
}

/** Row #0 of the backtrace table, cell by cell, against frame #0 of the stored report. */
async function expectFirstFrame(report: CrashReport) {
  const frame = report.backtrace.frames[0]!;
  const cells = page.getByTestId('report-backtrace').locator('tbody tr').first().locator('td');
  expect(await cells.nth(0).textContent()).toBe('0');
  expect(await cells.nth(1).locator('code').first().textContent()).toBe(frame.function);
  expect(await cells.nth(2).locator('code').textContent()).toBe(frame.address);
  expect(await cells.nth(3).textContent()).toBe(
    `${frame.file!.split('/').slice(-3).join('/')}:${frame.line}`,
  );
}

describe('VMs view', () => {
  it('boots the lab kernel, shows its console, takes typed commands, crashes on request', async () => {
    await page.goto(`${app.origin}/#/vms`);
    await page.getByRole('button', { name: 'Boot', exact: true }).click();
    await expect.poll(consoleText, { timeout: 60_000 }).toContain('KDLAB-INIT-READY');
    await page.locator('.xterm').first().click();
    await page.keyboard.type('echo ui-$((6*7))\r');
    await expect.poll(consoleText, { timeout: 20_000 }).toContain('ui-42');
    await expect
      .poll(() => page.getByTestId('vm-timeline').textContent())
      .toContain('Run /init as init process');
    expect(await page.getByTestId('vm-guest').textContent()).toContain('TCG');
    await page.screenshot({ path: join(shots, 'vms-console.png'), fullPage: true });

    await page.getByRole('button', { name: 'Crash now (sysrq c)' }).click();
    await expect
      .poll(() => page.getByTestId('vm-timeline').textContent(), { timeout: 30_000 })
      .toContain('Kernel panic - not syncing: sysrq triggered crash');
    await expect.poll(() => page.getByRole('tab').first().textContent()).toMatch(/panicked|stopped/);
    await page.screenshot({ path: join(shots, 'vms-panic.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 180_000);

  it('shows the built lab kernel with its artifacts and the option-by-option config verification', async () => {
    await page.goto(`${app.origin}/#/kernels`);
    await expect
      .poll(() => page.getByTestId('kernel-detail').textContent(), { timeout: 20_000 })
      .toContain('vmlinux-gdb.py');
    const verification = (await page.getByTestId('kernel-verification').textContent()) ?? '';
    expect(verification).toContain('CONFIG_KGDB_SERIAL_CONSOLE');
    expect(verification).toContain('CONFIG_CRASH_DUMP');
    expect(await page.getByTestId('kernel-source').inputValue()).toMatch(/linux-source-6\.1/);
    await page.screenshot({ path: join(shots, 'kernels.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('lists the vmcore library, then decodes a pasted console log in the Decoder (its nav entry)', async () => {
    await page.goto(`${app.origin}/#/analyzer`);
    await expect
      .poll(() => page.getByTestId('vmcore-library').textContent(), { timeout: 20_000 })
      .toContain('sysrq triggered crash');
    // Seed 001: systemd's journal with exitcode=0x00007f00.
    const log = readFileSync(
      join(appRoot, 'test/fixtures/panic-logs', 'seed001-systemd-exitcode-7f00.log'),
      'utf8',
    );
    await page.getByRole('navigation').getByRole('link', { name: 'Decoder', exact: true }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/decoder');
    await page.getByTestId('decoder-input').fill(log);
    await page.getByRole('button', { name: 'Decode', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('decoded-report').first().textContent(), { timeout: 20_000 })
      .toContain('0x00007f00');
    const decoded = (await page.getByTestId('decoded-report').first().textContent()) ?? '';
    expect(decoded).toContain('exit(127)');
    expect(decoded).toMatch(/Likely causes[\s\S]*Next steps/);
    await page.screenshot({ path: join(shots, 'analyzer.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('attaches gdb to a guest paused at start and drives it with the quick buttons', async () => {
    await page.goto(`${app.origin}/#/vms`);
    await page.getByLabel('pause at start (-S)').check();
    await page.getByRole('button', { name: 'Boot', exact: true }).click();
    await expect
      .poll(() => page.getByRole('tab').first().textContent(), { timeout: 30_000 })
      .toContain('paused');
    await page.goto(`${app.origin}/#/debugger`);
    await page
      .getByRole('button', { name: /Attach gdb/ })
      .first()
      .click();
    const gdbText = () => page.locator('.xterm-rows').first().textContent();
    await expect.poll(gdbText, { timeout: 30_000 }).toContain('(gdb)');
    await page.getByRole('button', { name: 'hbreak start_kernel' }).click();
    await expect.poll(gdbText, { timeout: 30_000 }).toContain('Hardware assisted breakpoint 1');
    await page.getByRole('button', { name: 'continue' }).click();
    await expect.poll(gdbText, { timeout: 60_000 }).toContain('Breakpoint 1, start_kernel');
    await page.getByRole('button', { name: 'bt', exact: true }).click();
    await expect.poll(gdbText, { timeout: 30_000 }).toMatch(/#0\s+start_kernel/);
    await page.screenshot({ path: join(shots, 'debugger.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 180_000);

  it('packs an initramfs and shows its contents, /init and the pre-boot checks', async () => {
    await page.goto(`${app.origin}/#/images`);
    await page.getByRole('button', { name: 'Pack and check' }).click();
    // The view opens on the newest image packed earlier: wait for this one's /init.
    await expect
      .poll(() => page.getByTestId('image-init').textContent(), { timeout: 30_000 })
      .toContain('KDLAB-INIT-READY');
    const tree = page.getByTestId('image-tree');
    await expect.poll(() => tree.textContent()).toMatch(/▸\s*bin/);
    // Folders start closed: open bin/ to find busybox.
    await tree
      .getByRole('treeitem', { name: /^▸?\s*bin/ })
      .first()
      .click();
    await expect.poll(() => tree.textContent()).toContain('busybox');
    expect(await page.getByTestId('image-checks').textContent()).toContain('✓');
    await page.screenshot({ path: join(shots, 'images.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('runs a recipe step by step: a wrong answer fails against the run, the right one passes on resume', async () => {
    await page.goto(`${app.origin}/#/recipes`);
    await page.getByRole('button', { name: /Init exits with status 127/ }).click();
    await page.getByTestId('answer-status').fill('1');
    await page.getByRole('button', { name: 'Start over' }).click();
    await expect
      .poll(() => page.getByTestId('step-status').textContent(), { timeout: 120_000 })
      .toContain('not what your run shows');
    expect(await page.getByTestId('step-decode').textContent()).toContain('decoded.exitStatus.exited = 127');
    await page.getByTestId('answer-status').fill('127');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('recipe-passed').waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(shots, 'recipes.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('shows the lab at a glance on Home: quick actions and the latest vmcores with their panic lines', async () => {
    await page.goto(`${app.origin}/#/home`);
    await expect
      .poll(() => page.getByTestId('recent-vmcores').textContent(), { timeout: 20_000 })
      // Other tests add vmcores too (QEMU memory dumps have no panic line): any recent capture will do.
      .toMatch(
        /6\.1\.\d+\s+(sysrq triggered crash|BUG: kernel NULL pointer dereference|Attempted to kill init|—)/,
      );
    expect(await page.getByTestId('lab-glance').textContent()).toContain('Crash it and capture');
    await page.screenshot({ path: join(shots, 'home-glance.png') });
  });

  it('analyzes a vmcore from the library into a report, and opens the crash console', async () => {
    await page.goto(`${app.origin}/#/analyzer`);
    const row = page
      .locator('[data-testid="vmcore-library"] tr', { hasText: 'sysrq triggered crash' })
      .first();
    await row.getByRole('button', { name: 'Analyze' }).click();
    await expect
      .poll(() => page.getByTestId('report-panic').textContent(), { timeout: 120_000 })
      .toContain('sysrq triggered crash');
    // A sysrq-c panic with kdump loaded: #0 is machine_kexec (panic → __crash_kexec → machine_kexec),
    // the sysrq handler further down.
    const report = await shownReport();
    expect(report.backtrace.frames.map((f) => f.function).slice(0, 4)).toEqual([
      'machine_kexec',
      '__crash_kexec',
      'panic',
      '__handle_sysrq',
    ]);
    await expectFirstFrame(report);
    expect(await page.getByTestId('report-backtrace').textContent()).toMatch(
      /__handle_sysrq[\s\S]*sysrq\.c:\d+/,
    );
    expect(await page.getByTestId('report-taint').textContent()).toContain('not tainted');
    expect(await page.getByTestId('report-ps').textContent()).toContain('>');
    await page.screenshot({ path: join(shots, 'analyzer-report.png'), fullPage: true });
    await page
      .getByTestId('crash-report')
      .locator('section.card')
      .screenshot({ path: join(shots, 'report-card-sysrq.png') });
    await page.locator('nav select').selectOption('zh-CN');
    expect(await page.getByTestId('report-taint').textContent()).toContain('未被污染');
    await page
      .getByTestId('crash-report')
      .locator('section.card')
      .screenshot({ path: join(shots, 'report-card-sysrq-zh-CN.png') });
    await page.locator('nav select').selectOption('en');
    await row.getByRole('button', { name: 'crash console' }).click();
    await expect
      .poll(() => page.locator('.xterm-rows').first().textContent(), { timeout: 120_000 })
      .toContain('crash>');
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('analyzes a module Oops: the BUG line, Oops line, RIP, fault address and taint on the card', async () => {
    await page.goto(`${app.origin}/#/analyzer`);
    const row = page.locator('[data-testid="vmcore-library"] tr', { hasText: nullDeref }).first();
    await row.getByRole('button', { name: 'Analyze' }).click();
    await expect
      .poll(() => page.getByTestId('report-panic').textContent(), { timeout: 120_000 })
      .toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    const report = await shownReport();
    expect(await page.getByTestId('report-oops').textContent()).toBe(report.summary.oops);
    expect(report.summary.oops).toMatch(/^Oops: 0000 \[#1\]/);
    expect(await page.getByTestId('report-rip').textContent()).toMatch(
      /^kdlab_null_deref_init\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kdlab_null_deref\]$/,
    );
    expect(await page.getByTestId('report-fault-address').textContent()).toBe('0x0000000000000010');
    const taint = page.getByTestId('report-taint');
    expect(await taint.locator('code.flag', { hasText: 'O' }).getAttribute('title')).toBe(
      'an out-of-tree (externally built) module was loaded',
    );
    await expectFirstFrame(report);
    await page
      .getByTestId('crash-report')
      .locator('section.card')
      .screenshot({ path: join(shots, 'report-card-oops.png') });
    await page.locator('nav select').selectOption('zh-CN');
    expect(await taint.locator('code.flag', { hasText: 'O' }).getAttribute('title')).toBe(
      '加载过树外（单独编译）的模块',
    );
    await page
      .getByTestId('crash-report')
      .locator('section.card')
      .screenshot({ path: join(shots, 'report-card-oops-zh-CN.png') });
    await page.locator('nav select').selectOption('en');
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('shows an init that exits as a panic on the boot timeline and on Home', async () => {
    await page.goto(`${app.origin}/#/vms`);
    await page.getByLabel('pause at start (-S)').uncheck();
    await page.locator('form.boot label', { hasText: '/init' }).locator('select').selectOption('exit0');
    await page.getByRole('button', { name: 'Boot', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('vm-timeline').textContent(), { timeout: 60_000 })
      .toContain('Attempted to kill init! exitcode=0x00000000');
    // The guest stopped before its console was on screen: the console still shows all it printed.
    await expect
      .poll(() => page.locator('.xterm-rows').first().textContent(), { timeout: 20_000 })
      .toContain('Attempted to kill init! exitcode=0x00000000');
    await page.screenshot({ path: join(shots, 'vms-kill-init.png'), fullPage: true });
    await page.goto(`${app.origin}/#/home`);
    await expect
      .poll(() => page.getByTestId('recent-panics').textContent(), { timeout: 20_000 })
      .toContain('Attempted to kill init! exitcode=0x00000000');
    expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
  }, 180_000);
});
