// `kdlab run <pipeline>`: build → image → boot → trigger → capture, each step a slice of one job's
// progress, ending with where the vmcore and the logs are.
import { LabError } from '../../common/errors';
import { subProgress } from '../jobs';
import type { Progress } from '../jobs';
import type { KdumpCapture } from '../kdump/kdump-capture';
import type { VmcoreEntry } from '../kdump/vmcore-library';
import type { KernelArtifacts, KernelBuilder, KernelBuildSpec } from '../kernel/kernel-builder';
import { findSources } from '../kernel/sources';
import type { LoadedPipeline } from './pipeline-file';

export interface PipelineDeps {
  kernels: KernelBuilder;
  capture: KdumpCapture;
  /** Builds an out-of-tree module folder against the kernel; returns the .ko paths. */
  buildModule?: (
    kernel: KernelArtifacts,
    sourceDir: string,
    progress: Progress,
    signal: AbortSignal,
  ) => Promise<string[]>;
}

export interface PipelineResult {
  kernel: { key: string; release: string; dir: string; cacheHit: boolean; vmlinux: string };
  modules: string[];
  vmcore: VmcoreEntry;
}

export async function kernelSpecOf(loaded: LoadedPipeline): Promise<KernelBuildSpec> {
  const k = loaded.spec.kernel;
  let source = k.source;
  if (!source) {
    const newest = (await findSources()).filter((s) => s.kind === 'tarball' || s.kind === 'tree').at(-1);
    if (!newest)
      throw new LabError(
        'NOT_FOUND',
        `${loaded.file}: no kernel.source given and no kernel sources found under /usr/src.`,
        'apt-get install -y linux-source-6.1, or set kernel.source in the pipeline file.',
      );
    source = newest.path;
  }
  return {
    source,
    ...(k.sha256 ? { sha256: k.sha256 } : {}),
    base: k.base === 'tinyconfig' || k.base === 'defconfig' ? k.base : { configFile: k.base },
    fragments: k.fragments,
    extra: Object.fromEntries(
      Object.entries(k.set).map(([name, v]) => [
        name.replace(/^CONFIG_/, ''),
        typeof v === 'boolean' ? (v ? 'y' : 'n') : String(v),
      ]),
    ),
    optional: k.optional.map((o) => o.replace(/^CONFIG_/, '')),
    ...(k.jobs ? { jobs: k.jobs } : {}),
  };
}

export async function runPipeline(
  loaded: LoadedPipeline,
  deps: PipelineDeps,
  progress: Progress,
  signal: AbortSignal,
): Promise<PipelineResult> {
  const spec = loaded.spec;
  const kernel = await deps.kernels.build(
    await kernelSpecOf(loaded),
    subProgress(progress, 0, 0.7, 'kernel: '),
    signal,
  );
  progress.log(
    `kernel ${kernel.manifest.kernelRelease} ${kernel.cacheHit ? '(cache hit)' : 'built'}: ${kernel.dir}\n`,
  );

  const modules: string[] = [];
  if (loaded.modules.length > 0) {
    if (!deps.buildModule)
      throw new LabError('UNAVAILABLE', 'This kdlab cannot build modules.', 'Update kdlab.');
    for (const [i, dir] of loaded.modules.entries()) {
      const share = 0.05 / loaded.modules.length;
      modules.push(
        ...(await deps.buildModule(
          kernel,
          dir,
          subProgress(progress, 0.7 + i * share, 0.7 + (i + 1) * share, 'module: '),
          signal,
        )),
      );
    }
  }
  const trigger = loaded.trigger;
  if (trigger.kind === 'module' && !modules.some((m) => m.endsWith(`/${trigger.file}`)))
    throw new LabError(
      'BAD_REQUEST',
      `${loaded.file}: trigger.module is ${trigger.file}, but no module of the pipeline builds it.`,
      'List the module source folder under modules:.',
    );

  const vmcore = await deps.capture.capture(
    {
      kernel,
      trigger,
      memoryMiB: spec.vm.memoryMiB,
      dumpLevel: spec.capture.dumpLevel,
      ...(spec.vm.crashkernelMiB ? { crashkernelMiB: spec.vm.crashkernelMiB } : {}),
      ...(modules.length ? { modules } : {}),
      ...(spec.capture.target !== 'virtio-disk' ? { target: spec.capture.target } : {}),
    },
    subProgress(progress, 0.75, 1, 'capture: '),
    signal,
  );
  return {
    kernel: {
      key: kernel.key,
      release: kernel.manifest.kernelRelease,
      dir: kernel.dir,
      cacheHit: kernel.cacheHit,
      vmlinux: kernel.vmlinux,
    },
    modules,
    vmcore,
  };
}
