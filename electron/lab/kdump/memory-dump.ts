// The fallback when kdump is not set up (or the guest hangs instead of panicking): QEMU writes the
// guest's memory itself over QMP (`dump-guest-memory`), as an ELF core or a kdump-zlib file that crash
// reads, stored in the vmcore library like a kdump capture.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { Progress } from '../jobs';
import type { KernelArtifacts } from '../kernel/kernel-builder';
import type { RunningVm } from '../vm/vm-runner';
import { VmcoreLibrary } from './vmcore-library';
import type { VmcoreEntry } from './vmcore-library';
import type { Workspace } from '../workspace';
import { copyFile } from 'node:fs/promises';

export type QemuDumpFormat = 'elf' | 'kdump-zlib';

export async function dumpGuestMemory(
  workspace: Workspace,
  vm: RunningVm,
  kernel: KernelArtifacts,
  options: { format?: QemuDumpFormat; memoryMiB: number },
  progress: Progress,
  signal?: AbortSignal,
): Promise<VmcoreEntry> {
  const format = options.format ?? 'kdump-zlib';
  const library = new VmcoreLibrary(workspace);
  const id = library.newId();
  const staging = await library.stage(id);
  try {
    const started = Date.now();
    progress.report({ fraction: 0.05, message: `QEMU is writing the guest's memory (${format})` });
    // Detached, so QMP stays responsive and progress can be polled with query-dump.
    await vm.qmp.execute('dump-guest-memory', {
      paging: false,
      protocol: `file:${join(staging, 'vmcore')}`,
      format,
      detach: true,
    });
    for (;;) {
      if (signal?.aborted) throw new LabError('CANCELLED', 'The memory dump was cancelled.');
      const status = (await vm.qmp.execute('query-dump')) as {
        status: string;
        completed: number;
        total: number;
      };
      if (status.status === 'completed') break;
      if (status.status === 'failed')
        throw new LabError(
          'IO',
          'QEMU could not write the memory dump.',
          'Check free disk space in the workspace.',
        );
      if (status.total > 0)
        progress.report({
          fraction: 0.05 + 0.9 * (status.completed / status.total),
          message: 'Writing the dump',
        });
      await new Promise((r) => setTimeout(r, 100));
    }
    await copyFile(join(vm.runDir, 'console.log'), join(staging, 'console.log')).catch(() => undefined);
    const panic = vm.milestones.find((m) => m.kind === 'panic');
    const entry = await library.commit(staging, {
      id,
      kernelRelease: kernel.manifest.kernelRelease,
      buildId: kernel.manifest.buildId,
      kernelKey: kernel.key,
      vmlinux: kernel.vmlinux,
      createdAt: new Date().toISOString(),
      method: 'dump-guest-memory',
      format,
      trigger: { kind: 'manual' },
      dumpLevel: null,
      size: (await stat(join(staging, 'vmcore'))).size,
      guestMemoryMiB: options.memoryMiB,
      crashkernelMiB: null,
      panic: panic?.detail ?? null,
      timings: { bootToPanicMs: panic?.atMs ?? null, panicToHostMs: panic ? Date.now() - started : null },
    });
    progress.report({
      fraction: 1,
      message: `Dump stored: ${(entry.meta.size / 1024 / 1024).toFixed(1)} MiB`,
    });
    return entry;
  } catch (error) {
    await library.discard(staging);
    throw error;
  }
}
