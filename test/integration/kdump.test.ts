// sysrq → kdump → vmcore on the host → crash reads it, on the real lab kernel under QEMU.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import { adviseCrashkernel, parseCrashKernelRange } from '../../electron/lab/kdump/crashkernel';
import { VmcoreLibrary } from '../../electron/lab/kdump/vmcore-library';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import type { Workspace } from '../../electron/lab/workspace';
import { crashCommands } from '../helpers/crash';
import { labKernel } from '../helpers/lab-kernel';

let workspace: Workspace;
let kernel: KernelArtifacts;
let jobs: JobManager;

beforeAll(async () => {
  ({ workspace, kernel, jobs } = await labKernel());
}, 1_800_000);

describe('kdump capture', () => {
  it('captures a sysrq crash into the vmcore library, and crash reads the panic from it', async () => {
    const captured = await jobs.withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
      new KdumpCapture(workspace).capture({ kernel, trigger: { kind: 'sysrq' } }, progress, signal),
    );
    expect(captured.meta).toMatchObject({
      panic: 'sysrq triggered crash',
      dumpLevel: 31,
      kernelRelease: kernel.manifest.kernelRelease,
    });
    expect(captured.meta.size).toBeGreaterThan(1024 * 1024);
    expect(captured.meta.size).toBeLessThan(captured.meta.guestMemoryMiB * 1024 * 1024);
    const console = readFileSync(captured.consoleLog ?? '', 'utf8');
    expect(parseCrashKernelRange(console)?.mib).toBe(captured.meta.crashkernelMiB);
    expect(console).toContain('KDLAB-CAPTURE-DONE');
    expect(captured.captureDmesg).not.toBeNull();
    const library = new VmcoreLibrary(workspace);
    const listed = (await library.list()).find((e) => e.meta.id === captured.meta.id);
    expect(listed?.meta).toMatchObject({
      method: 'kdump',
      vmlinux: kernel.vmlinux,
      trigger: { kind: 'sysrq' },
    });
    const sys = await crashCommands(kernel.vmlinux, captured.vmcore, ['sys', 'bt']);
    expect(sys).toMatch(/PANIC: "Kernel panic - not syncing: sysrq triggered crash"/);
    expect(sys).toMatch(/__handle_sysrq at .*\n.*write_sysrq_trigger/);
  }, 300_000);

  it('captures to a 9p share of a host folder as well', async () => {
    const captured = await jobs.withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
      new KdumpCapture(workspace).capture(
        { kernel, trigger: { kind: 'sysrq' }, target: '9p' },
        progress,
        signal,
      ),
    );
    expect(captured.meta.panic).toBe('sysrq triggered crash');
    const console = readFileSync(captured.consoleLog ?? '', 'utf8');
    expect(console).toContain('KDLAB-CAPTURE-DONE');
    // No dump disk this time: the capture kernel mounted the share, not /dev/vda.
    expect(console).not.toContain('EXT4-fs (vda)');
    expect(captured.captureDmesg).not.toBeNull();
    const sys = await crashCommands(kernel.vmlinux, captured.vmcore, ['sys']);
    expect(sys).toMatch(/PANIC: "Kernel panic - not syncing: sysrq triggered crash"/);
  }, 300_000);

  it('captures the panic of an init that exits (kill init) as well', async () => {
    const captured = await jobs.withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
      new KdumpCapture(workspace).capture(
        { kernel, trigger: { kind: 'init-exit', code: 0 } },
        progress,
        signal,
      ),
    );
    expect(captured.meta).toMatchObject({
      panic: 'Attempted to kill init! exitcode=0x00000000',
      trigger: { kind: 'init-exit', code: 0 },
    });
    const sys = await crashCommands(kernel.vmlinux, captured.vmcore, ['sys']);
    expect(sys).toMatch(/PANIC: "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000"/);
  }, 300_000);

  it('says what to reserve when crashkernel= is too small for the capture kernel', async () => {
    const error = await jobs
      .withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
        new KdumpCapture(workspace).capture(
          { kernel, trigger: { kind: 'sysrq' }, crashkernelMiB: 8 },
          progress,
          signal,
        ),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('kexec -p could not load the capture kernel'),
      hint: expect.stringMatching(/Use crashkernel=\d+M/),
    });
  }, 300_000);

  it('advises a reservation that grows with the capture kernel and initramfs', () => {
    const small = adviseCrashkernel(1024, 3 * 1024 * 1024, 4 * 1024 * 1024);
    const large = adviseCrashkernel(1024, 12 * 1024 * 1024, 40 * 1024 * 1024);
    expect(small.mib).toBeGreaterThanOrEqual(96);
    expect(large.mib).toBeGreaterThan(small.mib);
    expect(adviseCrashkernel(256, 12 * 1024 * 1024, 40 * 1024 * 1024).reasoning).toMatch(
      /give the guest more memory/,
    );
  });
});
