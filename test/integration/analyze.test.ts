// kdlab analyze on vmcores captured here: the structured report, and clear refusals for a vmlinux of
// another kernel, a vmlinux without debug info, and corrupt or truncated dumps.
import { existsSync } from 'node:fs';
import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeVmcore, checkPair, crashConsoleArgv } from '../../electron/lab/analyze/crash/analyzer';
import type { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import type { VmcoreEntry } from '../../electron/lab/kdump/vmcore-library';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { runCommand } from '../../electron/lab/process';
import { main } from '../../electron/cli/main';
import { PtyTerminalSource } from '../../electron/lab/terminals/pty-source';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir, waitFor } from '../helpers/temp';

let kernel: KernelArtifacts;
let workspaceRoot: string;
let jobs: JobManager;
let entry: VmcoreEntry;

beforeAll(async () => {
  const lab = await labKernel();
  ({ kernel, jobs } = lab);
  workspaceRoot = lab.workspace.root;
  entry = await jobs.withProgress({ title: 'capture', kind: 'capture' }, (p, s) =>
    new KdumpCapture(lab.workspace).capture({ kernel, trigger: { kind: 'sysrq' } }, p, s),
  );
}, 1_800_000);

const analyze = (vmcore: string, vmlinux: string) =>
  jobs.withProgress({ title: 'analyze', kind: 'analyze' }, (p, s) =>
    analyzeVmcore({ vmcore, vmlinux }, p, s),
  );

describe('kdlab analyze', () => {
  it('reports the sysrq panic: summary, backtrace with source lines, the active task, the log excerpt', async () => {
    const report = await analyze(entry.vmcore, kernel.vmlinux);
    expect(report.summary).toMatchObject({
      release: kernel.manifest.kernelRelease,
      panic: expect.stringContaining('sysrq triggered crash'),
    });
    const frame = report.backtrace.frames.find((f) => f.function === '__handle_sysrq')!;
    expect(frame.file).toMatch(/drivers\/tty\/sysrq\.c$/);
    expect(report.processes.find((p) => p.active)?.pid).toBe(report.backtrace.pid);
    expect(
      report.log
        .filter((l) => l.panic)
        .map((l) => l.text)
        .join('\n'),
    ).toContain('sysrq triggered crash');
    expect(frame.line).toBeGreaterThan(0);
    expect(report.cpus.map((b) => b.pid)).toContain(report.backtrace.pid);
    // dis -l of panic()'s caller up to the call, with source lines.
    expect(report.disassembly).toMatch(/sysrq\.c: \d+/);
    expect(report.warnings).toEqual([]);
    // Stored beside the vmcore and reused; the vmlinux found from the library's meta.json.
    expect(existsSync(join(entry.dir, 'report.json'))).toBe(true);
    const again = await jobs.withProgress({ title: 'analyze', kind: 'analyze' }, (p, s) =>
      analyzeVmcore({ vmcore: entry.vmcore }, p, s),
    );
    expect(again.createdAt).toBe(report.createdAt);
    expect(again.vmlinux).toBe(entry.meta.vmlinux);
  }, 300_000);

  it('refuses a vmlinux of another kernel at once, naming both build ids', async () => {
    const dir = await makeTempDir();
    const other = join(dir, 'vmlinux');
    // Same kernel image, another build id: what a rebuilt kernel looks like.
    await copyFile(kernel.vmlinux, other);
    const ids = await runCommand(['readelf', '-n', other]);
    const id = /Build ID: ([0-9a-f]+)/.exec(ids.stdout)![1]!;
    const data = await open(other, 'r+');
    const buffer = Buffer.alloc(64 * 1024 * 1024);
    const { bytesRead } = await data.read(buffer, 0, buffer.length, 0);
    const at = buffer.subarray(0, bytesRead).indexOf(Buffer.from(id, 'hex'));
    expect(at).toBeGreaterThan(0);
    await data.write(Buffer.from([buffer[at]! ^ 0xff]), 0, 1, at);
    await data.close();
    await expect(checkPair(other, entry.vmcore)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        new RegExp(`do not belong together: .*build id ${entry.meta.buildId}.*build id [0-9a-f]+`),
      ),
    });
  }, 120_000);

  it('refuses a vmlinux of another release at once, without running crash', async () => {
    const dir = await makeTempDir();
    // A tiny ELF object carrying another kernel's banner, as a wrong vmlinux would.
    await writeFile(
      join(dir, 'banner.c'),
      'const char linux_banner[] = "Linux version 9.9.9-other (x@y) (gcc 12) #1 SMP";\n',
    );
    const compiled = await runCommand(['gcc', '-c', '-o', join(dir, 'vmlinux'), join(dir, 'banner.c')]);
    expect(compiled.exitCode).toBe(0);
    await expect(checkPair(join(dir, 'vmlinux'), entry.vmcore)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        new RegExp(
          `do not belong together: the vmcore was written by ${entry.meta.kernelRelease.replace(/\./g, '\\.')} .*is 9\\.9\\.9-other`,
        ),
      ),
    });
  }, 60_000);

  it('refuses a vmlinux without debug info, and dumps that are truncated or not dumps', async () => {
    const dir = await makeTempDir();
    const stripped = join(dir, 'vmlinux.stripped');
    expect((await runCommand(['objcopy', '--strip-debug', kernel.vmlinux, stripped])).exitCode).toBe(0);
    await expect(checkPair(stripped, entry.vmcore)).rejects.toMatchObject({
      message: expect.stringContaining('has no debug information'),
    });
    const garbage = join(dir, 'vmcore.garbage');
    await writeFile(garbage, Buffer.alloc(1024 * 1024, 0x41));
    await expect(checkPair(kernel.vmlinux, garbage)).rejects.toMatchObject({
      message: expect.stringContaining('is not a vmcore'),
    });
    const tiny = join(dir, 'vmcore.tiny');
    await writeFile(tiny, 'KDUMP   ');
    await expect(checkPair(kernel.vmlinux, tiny)).rejects.toMatchObject({
      message: expect.stringContaining('truncated'),
    });
    // Cut inside the page descriptors, and inside the page data: found from the header, before crash.
    const whole = await readFile(entry.vmcore);
    const cut = join(dir, 'vmcore.cut');
    await writeFile(cut, whole.subarray(0, 256 * 1024));
    await expect(checkPair(kernel.vmlinux, cut)).rejects.toMatchObject({
      message: expect.stringMatching(/vmcore\.cut is truncated: it is 262144 bytes but its header says/),
    });
    const cutData = join(dir, 'vmcore.cutdata');
    await writeFile(cutData, whole.subarray(0, whole.length - 4096));
    await expect(analyze(cutData, kernel.vmlinux)).rejects.toMatchObject({
      message: expect.stringContaining('its pages reach byte'),
    });
    // A header overwritten with garbage after the signature.
    const smashed = join(dir, 'vmcore.smashed');
    const copy = Buffer.from(whole);
    copy.fill(0xff, 8, 464);
    await writeFile(smashed, copy);
    await expect(checkPair(kernel.vmlinux, smashed)).rejects.toMatchObject({
      message: expect.stringContaining('corrupt kdump header'),
    });
  }, 300_000);

  it('kdlab analyze <library-id> --format html -o FILE: the vmlinux from the library, a self-contained page', async () => {
    const dir = await makeTempDir();
    const out = join(dir, 'report.html');
    const sink = new PassThrough();
    sink.resume();
    const code = await main(['analyze', entry.meta.id, '--format', 'html', '-o', out], {
      appRoot: process.cwd(),
      env: { ...process.env, KDLAB_HOME: workspaceRoot },
      stdout: sink as unknown as NodeJS.WriteStream,
      stderr: sink as unknown as NodeJS.WriteStream,
    });
    expect(code).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('Kernel panic - not syncing: sysrq triggered crash');
    expect(html).toContain('__handle_sysrq');
    expect(html).not.toMatch(/<script|<link|src=|href=/);
  }, 300_000);

  it('opens an interactive crash console under a pseudo-terminal', async () => {
    const { argv, cwd } = await crashConsoleArgv(kernel.vmlinux, entry.vmcore);
    const term = new PtyTerminalSource({
      file: argv[0]!,
      args: argv.slice(1),
      cwd,
      env: process.env,
      cols: 120,
      rows: 40,
    });
    let out = '';
    term.onData((c) => (out += typeof c === 'string' ? c : Buffer.from(c).toString()));
    await waitFor(() => out.includes('crash>'), 120_000);
    term.write('sys\r');
    await waitFor(() => /PANIC: "Kernel panic - not syncing: sysrq triggered crash"/.test(out), 30_000);
    let exited = false;
    term.onExit(() => (exited = true));
    term.write('quit\r');
    await waitFor(() => exited, 30_000).finally(() => exited || term.kill('SIGKILL'));
  }, 180_000);
});
