// Files handed to the UI in a real browser against `kdlab serve`: a .config dropped on the Kernels
// form becomes the build's base, a vmcore dropped anywhere is uploaded, imported with its vmlinux
// (found by build id) and its report opens; wrong files get the back end's error and hint. A lab
// pack made by `kdlab lab pack` is dropped on a fresh workspace, verified and installed, and
// students' reports are graded against it. Screenshots saved.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { VmcoreLibrary } from '../../electron/lab/kdump/vmcore-library';
import type { VmcoreEntry } from '../../electron/lab/kdump/vmcore-library';
import type { Workspace } from '../../electron/lab/workspace';
import { launchChromium, openLabPage } from '../helpers/browser';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { startServed } from '../helpers/serve';
import type { ServedApp } from '../helpers/serve';
import { makeTempDir } from '../helpers/temp';

const shots = join(appRoot, 'test-output', 'screenshots');
let teacher: ServedApp;
let student: ServedApp;
let browser: Browser;
let workspace: Workspace;
let vmcore: VmcoreEntry;
let kernelConfig: string;
let packFile: string;
let packKernelKey: string;
let tmp: string;
const pageErrors: string[] = [];

/** A real drag and drop: the file is put in a DataTransfer (through a file input) and dropped on `target`. */
async function dropFile(page: Page, target: string, file: string): Promise<void> {
  await page.evaluate(() => {
    document.getElementById('e2e-drop-source')?.remove();
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'e2e-drop-source';
    input.style.display = 'none';
    document.body.append(input);
  });
  await page.setInputFiles('#e2e-drop-source', file);
  await page.evaluate((selector) => {
    const input = document.getElementById('e2e-drop-source') as HTMLInputElement;
    const data = new DataTransfer();
    data.items.add(input.files![0]!);
    const el = document.querySelector(selector)!;
    for (const type of ['dragenter', 'dragover', 'drop'])
      el.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }, target);
}

async function open(app: ServedApp): Promise<Page> {
  const page = await openLabPage(browser, app.url, pageErrors);
  return page;
}

beforeAll(async () => {
  ensureBuilt();
  const lab = await labKernel();
  workspace = lab.workspace;
  kernelConfig = lab.kernel.config;
  const library = new VmcoreLibrary(workspace);
  const sysrq = (await library.list()).filter(
    (e) => e.meta.panic === 'sysrq triggered crash' && e.meta.kernelKey === lab.kernel.key,
  );
  vmcore =
    sysrq[0] ??
    (await lab.jobs.withProgress({ title: 'capture', kind: 'capture' }, (p, signal) =>
      new KdumpCapture(workspace).capture({ kernel: lab.kernel, trigger: { kind: 'sysrq' } }, p, signal),
    ));
  tmp = await makeTempDir();
  mkdirSync(shots, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  // The teacher's pack, made by the CLI from the lab kernel (a cache hit: no build).
  packFile = join(tmp, 'kill-init.kdlab-pack');
  const packed = JSON.parse(
    execFileSync('node', ['electron/cli/bin.cjs', 'lab', 'pack', 'kill-init', '-o', packFile, '--json'], {
      cwd: appRoot,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  ) as { kernels: { key: string }[] };
  packKernelKey = packed.kernels[0]!.key;
  teacher = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env);
  student = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], {
    ...env,
    KDLAB_HOME: join(tmp, 'student'),
  });
  browser = await launchChromium();
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await teacher?.stop();
  await student?.stop();
  // Dumps this test imported leave the shared test workspace as they came.
  const library = new VmcoreLibrary(workspace);
  for (const e of await library.list()) if (e.meta.method === 'imported') await library.remove(e.meta.id);
});

describe('dropping files', () => {
  it('takes a .config dropped on the Kernels form as the base config; a log is refused with a hint', async () => {
    const page = await open(teacher);
    await page.goto(`${teacher.origin}/#/kernels`);
    await page.getByTestId('kernel-build-form').waitFor();
    const log = join(tmp, 'boot.log');
    writeFileSync(log, '[    0.000000] Linux version 6.1.0\n[    1.0] Run /init as init process\n');
    await dropFile(page, '[data-testid=kernel-build-form]', log);
    await expect.poll(() => page.getByTestId('drop-error').textContent()).toContain('not a kernel config');
    expect(await page.getByTestId('drop-error').textContent()).toContain('CONFIG_KGDB=y');

    const config = join(tmp, 'lab.config');
    execFileSync('cp', [kernelConfig, config]);
    await dropFile(page, '[data-testid=kernel-build-form]', config);
    await expect
      .poll(() => page.getByTestId('base-config').textContent())
      .toContain('Base config: your lab.config');
    expect(await page.getByTestId('kernel-base').inputValue()).toBe('file');
    expect(await page.getByTestId('drop-error').count()).toBe(0);
    // Which engine built the kernel (the manifest's executor; older builds ran on the host).
    expect(await page.getByTestId('kernel-executor').textContent()).toMatch(
      /^built on (host|the host|docker)/,
    );
    await page.screenshot({ path: join(shots, 'kernels-config-dropped.png'), fullPage: true });
    await page.close();
  }, 120_000);

  it('imports a vmcore dropped anywhere, pairs it with its kernel by build id and opens its report', async () => {
    const page = await open(teacher);
    await page.goto(`${teacher.origin}/#/home`);
    const copy = join(tmp, 'vmcore');
    execFileSync('cp', [vmcore.vmcore, copy]);
    await dropFile(page, 'main', copy);
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/analyzer');
    const report = page.getByTestId('vmcore-report');
    await report.waitFor({ timeout: 120_000 });
    const text = (await report.textContent()) ?? '';
    expect(text).toContain('sysrq triggered crash');
    expect(text).toMatch(/sysrq_handle_crash/);
    // In the library now, as an imported dump with the lab kernel's vmlinux.
    const imported = (await new VmcoreLibrary(workspace).list()).find((e) => e.meta.method === 'imported');
    expect(imported?.meta).toMatchObject({ kernelKey: vmcore.meta.kernelKey, buildId: vmcore.meta.buildId });
    // The report is scrolled into view (the library above it may be long).
    await page.screenshot({ path: join(shots, 'analyzer-vmcore-dropped.png') });

    // vmlinux is not a vmcore: refused on the library's drop target, saying what it is.
    await page.getByTestId('vmcore-drop').scrollIntoViewIfNeeded();
    await dropFile(page, '[data-testid=vmcore-drop]', '/bin/ls');
    await expect
      .poll(() => page.getByTestId('drop-error').textContent())
      .toContain('ls is an ELF file, not a vmcore');
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 240_000);
});

describe('lab packs and grading in the Recipes view', () => {
  it('verifies and installs a dropped lab pack, then grades reports against it', async () => {
    const page = await open(student);
    await page.goto(`${student.origin}/#/home`);
    await dropFile(page, 'main', packFile);
    const dialog = page.getByTestId('pack-import');
    // pack.json is read from the archive before anything is installed.
    await expect.poll(() => dialog.textContent(), { timeout: 60_000 }).toContain(packKernelKey.slice(0, 12));
    expect(await dialog.textContent()).toMatch(/Recipes\s*kill-init/);
    await page.getByRole('button', { name: 'Verify and install' }).click();
    await page.getByTestId('pack-installed').waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(shots, 'recipes-pack-installed.png'), fullPage: true });

    // Reports shaped like the runner's: kill-init's steps, the content hashes of the pack's files.
    const files = (
      JSON.parse(execFileSync('tar', ['-xzOf', packFile, './pack.json'], { encoding: 'utf8' })) as {
        files: Record<string, string>;
      }
    ).files;
    const ok = { check: { console: 'x' }, ok: true, detail: 'ok' };
    const report = (kernel: string, passed: boolean) => ({
      recipeId: 'kill-init',
      startedAt: '2026-11-22T10:00:00Z',
      updatedAt: '2026-11-22T10:09:00Z',
      finished: passed,
      student: { name: passed ? 'Alice' : 'Bob', user: 'student', host: 'lab-1' },
      steps: [
        { id: 'boot', status: 'passed', checks: [ok] },
        { id: 'exit', status: 'passed', checks: [] },
        { id: 'panic', status: 'passed', checks: [ok] },
        { id: 'decode', status: passed ? 'passed' : 'failed', checks: [ok, { ...ok, ok: passed }] },
        ...(passed
          ? [
              {
                id: 'code',
                status: 'passed',
                answer: { given: '0', expected: '0x00000000', ok: true, answeredBy: 'student' },
                checks: [],
              },
            ]
          : []),
      ],
      answerLog: [
        { step: 'code', given: '127', ok: false, answeredBy: 'student', at: '2026-11-22T10:05:00Z' },
      ],
      artifacts: { kernel, image: 'f00dfeed' },
      hashes: {
        recipe: files['recipes/kill-init/recipe.yaml'],
        'kernel/bzImage': files[`cache/kernels/${kernel}/bzImage`] ?? '0'.repeat(64),
        'kernel/vmlinux': files[`cache/kernels/${kernel}/vmlinux`] ?? '0'.repeat(64),
        image: 'f00dfeed',
      },
      facts: {},
    });
    const alice = join(tmp, 'alice.kdlab-report');
    const bob = join(tmp, 'bob.kdlab-report');
    const junk = join(tmp, 'notes.json');
    writeFileSync(alice, JSON.stringify(report(packKernelKey, true)));
    writeFileSync(bob, JSON.stringify(report('0123456789abcdef', false)));
    writeFileSync(junk, '{"todo": "grade"}');
    await page.getByTestId('grading').scrollIntoViewIfNeeded();
    await page.setInputFiles('[data-testid=reports-input]', [alice, bob]);
    await expect.poll(() => page.getByTestId('grading').textContent()).toContain('bob.kdlab-report');
    await page.getByRole('button', { name: 'Grade', exact: true }).click();
    const table = page.getByTestId('grade-table');
    await table.waitFor();
    const rows = table.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const [first, second] = [
      (await rows.nth(0).textContent()) ?? '',
      (await rows.nth(1).textContent()) ?? '',
    ];
    // The step total is the pack recipe's (5), whatever the report holds.
    expect(first).toContain('alice.kdlab-report');
    expect(first).toContain('Alice');
    expect(first).toContain('5/5');
    expect(first).toContain('1 / 0');
    expect(await rows.nth(0).getByTestId('grade-verdict').textContent()).toBe('verified');
    expect(first).toContain('verified (in the pack)');
    expect(second).toContain('Bob');
    expect(second).toContain('3/5');
    expect(await rows.nth(1).getByTestId('grade-verdict').textContent()).toMatch(/^altered: kernel/);
    expect(second).toContain("NOT the pack's");
    expect(await page.getByTestId('grade-packs').textContent()).toContain('(kill-init)');
    // A file that is not a report is refused with what it is.
    await page.setInputFiles('[data-testid=reports-input]', [junk]);
    await expect
      .poll(() => page.getByTestId('drop-error').textContent())
      .toContain('not a recipe progress report');
    await page.getByTestId('grading').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'recipes-grading.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 300_000);
});
