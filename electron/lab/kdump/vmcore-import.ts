// A vmcore made elsewhere (dropped on the window, opened from the menu) taken into the library with
// the vmlinux it needs: found among the built kernels by VMCOREINFO's build id (or release), or named
// by the user. The pair is checked (checkPair) before anything is copied.
import { copyFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import { checkPair, readVmcoreInfo } from '../analyze/crash/analyzer';
import { requireKind } from '../inbox';
import type { Progress } from '../jobs';
import type { KernelArtifacts, KernelBuilder } from '../kernel/kernel-builder';
import type { VmcoreEntry, VmcoreFormat, VmcoreLibrary } from './vmcore-library';

export interface VmcoreInspection {
  path: string;
  size: number;
  format: string;
  release: string | null;
  buildId: string | null;
  /** Built kernels this dump belongs to (same build id, or the same release when the dump has none). */
  matches: { key: string; release: string; buildId: string | null }[];
}

export interface VmcoreImportRequest {
  path: string;
  /** A built kernel to pair it with (else the single match is used). */
  kernelKey?: string;
  /** Or any vmlinux on this host. */
  vmlinux?: string;
  /** Move instead of copy (files uploaded into the inbox). */
  move?: boolean;
}

function matchingKernels(
  all: KernelArtifacts[],
  info: { release: string | null; buildId: string | null },
): KernelArtifacts[] {
  if (info.buildId) return all.filter((k) => k.manifest.buildId === info.buildId);
  if (info.release) return all.filter((k) => k.manifest.kernelRelease === info.release);
  return [];
}

export async function inspectVmcore(
  path: string,
  kernels: Pick<KernelBuilder, 'list'>,
): Promise<VmcoreInspection> {
  const identity = await requireKind(path, 'vmcore');
  const info = await readVmcoreInfo(path);
  const matches = matchingKernels(await kernels.list(), info).map((k) => ({
    key: k.key,
    release: k.manifest.kernelRelease,
    buildId: k.manifest.buildId,
  }));
  return { path, size: identity.size, ...info, matches };
}

const formats: Record<string, VmcoreFormat> = {
  'kdump-compressed': 'kdump-compressed',
  flattened: 'flattened',
  elf: 'elf',
};

export async function importVmcore(
  request: VmcoreImportRequest,
  deps: { library: VmcoreLibrary; kernels: Pick<KernelBuilder, 'list' | 'load'> },
  progress: Progress,
  signal: AbortSignal,
): Promise<VmcoreEntry> {
  progress.report({ fraction: null, message: 'Reading VMCOREINFO' });
  const inspection = await inspectVmcore(request.path, deps.kernels);
  let kernel: KernelArtifacts | null = null;
  let vmlinux = request.vmlinux ?? null;
  if (!vmlinux) {
    if (request.kernelKey) kernel = await deps.kernels.load(request.kernelKey);
    else {
      const all = await deps.kernels.list();
      const found = matchingKernels(all, inspection);
      if (found.length !== 1)
        throw new LabError(
          'NOT_FOUND',
          found.length === 0
            ? `No built kernel matches this vmcore (release ${inspection.release ?? 'unknown'}, build id ${inspection.buildId ?? 'unknown'}).`
            : `${found.length} built kernels have release ${inspection.release ?? '?'}; the vmcore has no build id to tell them apart.`,
          'Choose its vmlinux: one of the built kernels, or the path of the vmlinux of the kernel that crashed (with debug info).',
        );
      kernel = found[0]!;
    }
    vmlinux = kernel.vmlinux;
  }
  progress.report({ fraction: 0.2, message: 'Checking the vmlinux and the vmcore belong together' });
  await checkPair(vmlinux, request.path);
  signal.throwIfAborted();

  const id = deps.library.newId();
  const staging = await deps.library.stage(id);
  let moved = false;
  try {
    progress.report({ fraction: 0.4, message: `Taking the vmcore into the library (${id})` });
    const target = join(staging, 'vmcore');
    if (request.move) {
      await rename(request.path, target);
      moved = true;
    } else await copyFile(request.path, target);
    signal.throwIfAborted();
    const entry = await deps.library.commit(staging, {
      id,
      kernelRelease: inspection.release ?? kernel?.manifest.kernelRelease ?? 'unknown',
      buildId: inspection.buildId,
      kernelKey: kernel?.key ?? '',
      vmlinux,
      createdAt: new Date().toISOString(),
      method: 'imported',
      format: formats[inspection.format] ?? 'elf',
      trigger: { kind: 'unknown' },
      dumpLevel: null,
      size: (await stat(target)).size,
      guestMemoryMiB: 0,
      crashkernelMiB: null,
      panic: null,
      timings: { bootToPanicMs: null, panicToHostMs: null },
    });
    progress.report({ fraction: 1, message: `Imported as ${id}` });
    return entry;
  } catch (error) {
    // A moved upload goes back where it was, so the user can retry with another vmlinux.
    if (moved) await rename(join(staging, 'vmcore'), request.path).catch(() => undefined);
    await deps.library.discard(staging);
    throw error;
  }
}
