// sysrq (or another trigger) → kdump → vmcore on the host, for real: the lab kernel boots with
// crashkernel=, its init loads the same bzImage as capture kernel with `kexec -p`, crashes; the
// capture kernel's init writes `makedumpfile -l -d LEVEL /proc/vmcore` to an ext4 virtio disk and
// powers off; kdlab extracts the dump with debugfs (no mount, no root) into the vmcore library.
import { copyFile, mkdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import { ImageBuilder } from '../image/initramfs';
import type { CrashTrigger } from '../image/init-templates';
import type { KernelArtifacts } from '../kernel/kernel-builder';
import type { Progress } from '../jobs';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import { VmRunner } from '../vm/vm-runner';
import type { Workspace } from '../workspace';
import { adviseCrashkernel, parseCrashKernelRange } from './crashkernel';
import { VmcoreLibrary } from './vmcore-library';
import type { VmcoreEntry, VmcoreMeta } from './vmcore-library';

export interface CaptureSpec {
  kernel: KernelArtifacts;
  trigger: CrashTrigger;
  memoryMiB?: number;
  dumpLevel?: number;
  /** Override the advisor (e.g. the "crashkernel too small" lab). */
  crashkernelMiB?: number;
  modules?: string[];
  /** Set in the crashing kernel before the trigger, e.g. { 'kernel.softlockup_panic': '1' }. */
  sysctl?: Record<string, string>;
  timeoutMs?: number;
  /** Where the capture kernel writes the dump: an ext4 virtio disk (default) or a 9p share of a host folder. */
  target?: 'virtio-disk' | '9p';
}

export type CapturedVmcore = VmcoreEntry;

/** kexec -p could not load the capture kernel: the guest's console (kexec's and the kernel's own words) and the advisor's size come along. */
export class KdumpLoadError extends LabError {
  constructor(
    message: string,
    hint: string,
    readonly consoleText: string,
    readonly advice: { mib: number; reasoning: string },
  ) {
    super('UNAVAILABLE', message, hint);
  }
}

export class KdumpCapture {
  readonly #images: ImageBuilder;
  readonly #vms: VmRunner;
  readonly #library: VmcoreLibrary;
  readonly #executor: Executor;

  constructor(workspace: Workspace, executor: Executor = hostExecutor) {
    this.#executor = executor;
    this.#images = new ImageBuilder(workspace, executor);
    this.#vms = new VmRunner(workspace, executor);
    this.#library = new VmcoreLibrary(workspace);
  }

  async capture(spec: CaptureSpec, progress: Progress, signal: AbortSignal): Promise<CapturedVmcore> {
    const memoryMiB = spec.memoryMiB ?? 1024;
    const dumpLevel = spec.dumpLevel ?? 31;
    const kernel = spec.kernel;

    progress.report({ fraction: 0.05, message: 'Building the capture initramfs (makedumpfile)' });
    const capture = await this.#images.buildInitramfs(
      {
        init: { kind: 'capture', target: spec.target ?? 'virtio-disk', dumpLevel },
        tools: ['/usr/bin/makedumpfile'],
      },
      kernel.genInitCpio,
      signal,
    );
    const advice = adviseCrashkernel(memoryMiB, (await stat(kernel.bzImage)).size, capture.size);
    const crashkernelMiB = spec.crashkernelMiB ?? advice.mib;
    progress.log(`crashkernel=${crashkernelMiB}M (${spec.crashkernelMiB ? 'as asked' : advice.reasoning})\n`);

    progress.report({ fraction: 0.15, message: 'Building the lab initramfs (kexec, capture kernel)' });
    const captureAppend = 'console=ttyS0,115200 irqpoll nr_cpus=1 reset_devices panic=-1 kdlab_capture=1';
    const lab = await this.#images.buildInitramfs(
      {
        init: {
          kind: 'kdump-armed',
          trigger: spec.trigger,
          captureAppend,
          ...(spec.sysctl ? { sysctl: spec.sysctl } : {}),
        },
        tools: ['/usr/sbin/kexec'],
        ...(spec.modules ? { modules: spec.modules } : {}),
        files: [
          { source: kernel.bzImage, path: '/boot/bzImage', mode: 0o644 },
          { source: capture.path, path: '/boot/capture.cpio.gz', mode: 0o644 },
        ],
      },
      kernel.genInitCpio,
      signal,
    );

    // The dump disk: sparse, large enough for an unfiltered dump of the guest's memory.
    const id = this.#library.newId();
    const staging = await this.#library.stage(id);
    try {
      const onShare = spec.target === '9p';
      const disk = join(staging, 'dump-disk.img');
      const share = join(staging, 'share');
      if (onShare) await mkdir(share);
      else {
        await writeFile(disk, '');
        await truncate(disk, (memoryMiB + 64) * 1024 * 1024);
        const mkfs = await this.#executor.run(['mkfs.ext4', '-F', '-q', '-L', 'kdlab-dump', disk], {
          installHint: 'apt-get install -y e2fsprogs',
          signal,
        });
        if (mkfs.exitCode !== 0) throw new LabError('IO', `mkfs.ext4 failed: ${mkfs.stderr.trim()}`);
      }

      progress.report({ fraction: 0.25, message: `Booting with crashkernel=${crashkernelMiB}M` });
      const vm = await this.#vms.boot(
        {
          kernel: kernel.bzImage,
          initrd: lab.path,
          memoryMiB,
          crashkernelMiB,
          ...(onShare
            ? { share: { path: share, tag: 'kdlab-dump' } }
            : { disks: [{ path: disk, format: 'raw' as const }] }),
          markers: [
            { name: 'kdump-loaded', pattern: 'KDLAB-KDUMP-LOADED' },
            { name: 'kdump-load-failed', pattern: 'KDLAB-KDUMP-LOAD-FAILED' },
            { name: 'capture-done', pattern: 'KDLAB-CAPTURE-DONE' },
            { name: 'capture-failed', pattern: 'KDLAB-CAPTURE-FAILED' },
          ],
        },
        signal,
      );
      const started = Date.now();
      const timeout = spec.timeoutMs ?? 120_000;
      const loaded = await vm.waitFor(
        (m) => m.kind === 'marker' && (m.detail === 'kdump-loaded' || m.detail === 'kdump-load-failed'),
        timeout,
      );
      const range = parseCrashKernelRange(vm.consoleText);
      if (loaded.detail === 'kdump-load-failed') {
        vm.stop();
        const reserved = range
          ? `${range.mib} MiB were reserved`
          : 'no "Crash kernel" range is in /proc/iomem';
        throw new KdumpLoadError(
          `kexec -p could not load the capture kernel: ${reserved}, and the capture kernel with its initramfs needs about ${advice.mib} MiB.`,
          `Use crashkernel=${advice.mib}M (${advice.reasoning}).`,
          vm.consoleText,
          advice,
        );
      }
      progress.report({ fraction: 0.4, message: 'Capture kernel loaded; crashing the guest' });
      const panic = await vm.waitFor(
        (m) => m.kind === 'panic' || m.kind === 'oops' || m.kind === 'bug' || m.kind === 'kill-init',
        timeout,
      );
      const panicAt = Date.now();
      progress.report({
        fraction: 0.55,
        message: `Crashed (${panic.detail ?? panic.kind}); capture kernel writing the dump`,
      });
      const done = await vm.waitFor(
        (m) => m.kind === 'marker' && (m.detail === 'capture-done' || m.detail === 'capture-failed'),
        timeout,
      );
      const exit = await vm.exited;
      if (done.detail === 'capture-failed') {
        throw new LabError(
          'IO',
          `The capture kernel could not write the dump: ${done.line}`,
          "The console log in the job shows the capture kernel's messages.",
        );
      }
      void exit;

      const vmcore = join(staging, 'vmcore');
      const dmesgFile = join(staging, 'capture-dmesg.txt');
      if (onShare) {
        // The capture kernel wrote straight into the host folder.
        await rename(join(share, 'vmcore'), vmcore).catch(() => {
          throw new LabError('IO', 'The capture kernel reported success but no vmcore is in the 9p share.');
        });
        await rename(join(share, 'capture-dmesg.txt'), dmesgFile).catch(() => undefined);
        await rm(share, { recursive: true, force: true });
      } else {
        progress.report({ fraction: 0.85, message: 'Extracting the vmcore from the dump disk (debugfs)' });
        const dumped = await this.#executor.run(['debugfs', '-R', `dump /vmcore ${vmcore}`, disk], {
          installHint: 'apt-get install -y e2fsprogs',
          signal,
        });
        if (dumped.exitCode !== 0 || !(await stat(vmcore).catch(() => null))) {
          throw new LabError('IO', `debugfs could not extract the vmcore: ${dumped.stderr.trim()}`);
        }
        await this.#executor.run(['debugfs', '-R', `dump /capture-dmesg.txt ${dmesgFile}`, disk], { signal });
        await rm(disk, { force: true });
      }
      const hostAt = Date.now();
      await copyFile(join(vm.runDir, 'console.log'), join(staging, 'console.log'));

      // With kdump loaded an Oops goes straight to the capture kernel (no "Kernel panic" line):
      // then the first BUG:/Oops line is what crashed the guest.
      const panicMilestone =
        vm.milestones.find((m) => m.kind === 'panic') ??
        vm.milestones.find((m) => m.kind === 'bug' || m.kind === 'oops');
      const meta: VmcoreMeta = {
        id,
        executor: this.#executor.describe(),
        kernelRelease: kernel.manifest.kernelRelease,
        buildId: kernel.manifest.buildId,
        kernelKey: kernel.key,
        vmlinux: kernel.vmlinux,
        createdAt: new Date().toISOString(),
        method: 'kdump',
        format: 'kdump-lzo',
        trigger: spec.trigger,
        dumpLevel,
        size: (await stat(vmcore)).size,
        guestMemoryMiB: memoryMiB,
        crashkernelMiB,
        panic: panicMilestone
          ? panicMilestone.kind === 'panic'
            ? panicMilestone.detail
            : panicMilestone.line.trim()
          : null,
        timings: { bootToPanicMs: panicAt - started, panicToHostMs: hostAt - panicAt },
      };
      const entry = await this.#library.commit(staging, meta);
      progress.report({ fraction: 1, message: `vmcore stored: ${(meta.size / 1024 / 1024).toFixed(1)} MiB` });
      return entry;
    } catch (error) {
      await this.#library.discard(staging);
      throw error;
    }
  }
}
