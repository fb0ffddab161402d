// QEMU's dump-guest-memory as the kdump fallback: both formats stored in the library and read by crash.
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import type { JobManager } from '../../electron/lab/jobs';
import { dumpGuestMemory } from '../../electron/lab/kdump/memory-dump';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { crashCommands } from '../helpers/crash';
import { labKernel } from '../helpers/lab-kernel';

let workspace: Workspace;
let kernel: KernelArtifacts;
let jobs: JobManager;

beforeAll(async () => {
  ({ workspace, kernel, jobs } = await labKernel());
}, 1_800_000);

describe('dump-guest-memory', () => {
  it('dumps a running guest as ELF and as kdump-zlib, and crash reads both', async () => {
    const image = await new ImageBuilder(workspace).buildInitramfs(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
    );
    const vm = await new VmRunner(workspace).boot({
      kernel: kernel.bzImage,
      initrd: image.path,
      memoryMiB: 256,
      appendExtra: ['nokaslr'],
      markers: [{ name: 'ready', pattern: 'KDLAB-INIT-READY' }],
    });
    try {
      await vm.waitFor((m) => m.kind === 'marker', 60_000);
      const sizes: Record<string, number> = {};
      for (const format of ['elf', 'kdump-zlib'] as const) {
        const entry = await jobs.withProgress({ title: 'dump', kind: 'dump' }, (progress, signal) =>
          dumpGuestMemory(workspace, vm, kernel, { format, memoryMiB: 256 }, progress, signal),
        );
        expect(entry.meta).toMatchObject({ method: 'dump-guest-memory', format, dumpLevel: null });
        sizes[format] = entry.meta.size;
        const out = await crashCommands(kernel.vmlinux, entry.vmcore, ['sys', 'ps']);
        expect(out, out).toMatch(/RELEASE: 6\.1\.\d+/);
        expect(out).toMatch(/\s1\s+0\s+0\s+\S+\s+\S+\s+[\d.]+\s+\d+\s+\d+\s+(init|sh)/);
      }
      expect(sizes.elf).toBeGreaterThan(200 * 1024 * 1024);
      expect(sizes['kdump-zlib']).toBeLessThan(sizes.elf! / 2);
    } finally {
      vm.stop();
      await vm.exited;
    }
  }, 300_000);
});
