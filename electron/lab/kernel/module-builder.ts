// Out-of-tree test modules built against a lab kernel with kbuild itself (`make M=`): the module
// source is copied into the workspace (a user's folder is never written to), built in a build dir
// prepared from exactly that kernel's .config (`olddefconfig modules_prepare` + its Module.symvers),
// checked for the kernel's vermagic, and the .ko files cached.
import { copyFile, cp, mkdir, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { Progress } from '../jobs';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { Workspace } from '../workspace';
import { cacheKey, sha256File } from '../workspace';
import { kernelBuildDir } from './kernel-builder';
import type { KernelArtifacts } from './kernel-builder';
import { labPatches } from './lab-patches';
import { prepareSource } from './sources';

export interface BuiltModule {
  name: string;
  ko: string;
  vermagic: string | null;
  cacheHit: boolean;
}

/** The vermagic string from a .ko's .modinfo section (NUL-separated key=value pairs). */
export function parseVermagic(modinfo: Buffer | string): string | null {
  const text = typeof modinfo === 'string' ? modinfo : modinfo.toString('latin1');
  return /(?:^|\0)vermagic=([^\0]*)/.exec(text)?.[1]?.trim() ?? null;
}

/** Why a module with this vermagic would be refused by a `release` kernel, or null when it fits. */
export function vermagicProblem(vermagic: string | null, release: string): string | null {
  if (vermagic === null) return 'it has no vermagic (not a kbuild module?)';
  // vermagic is "<release> SMP preempt mod_unload …": the release is the first word.
  const built = vermagic.split(' ')[0];
  return built === release ? null : `it was built for "${vermagic}", not for ${release}`;
}

/** The compiler's error lines (file:line:col: error: …) from a failed kbuild run. */
export function compilerErrors(output: string): string[] {
  return output.split('\n').filter((l) => /:\d+:\d+: (fatal )?error: /.test(l));
}

async function listSources(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => null);
  if (!info)
    throw new LabError('NOT_FOUND', `Module source folder ${dir} does not exist.`, 'Check the path.');
  if (!info.isDirectory())
    throw new LabError(
      'BAD_REQUEST',
      `${dir} is a file; a module source is a folder with the .c files and a Kbuild or Makefile.`,
    );
  const names = await readdir(dir);
  if (!names.includes('Kbuild') && !names.includes('Makefile'))
    throw new LabError(
      'BAD_REQUEST',
      `${dir} has no Kbuild or Makefile.`,
      'Add a Kbuild file with a line like: obj-m := mymodule.o',
    );
  return names.filter((n) => /\.(c|h|S)$|^Kbuild$|^Makefile$/.test(n)).sort();
}

export class ModuleBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly executor: Executor = hostExecutor,
  ) {}

  #moduleTree(kernel: KernelArtifacts): string {
    return join(this.workspace.root, 'build', `modules-${kernel.key.slice(0, 16)}`);
  }

  /** The kernel's source tree, unpacked (and lab-patched) again exactly as it was for its build. */
  async #sourceAgain(kernel: KernelArtifacts, progress: Progress, signal?: AbortSignal): Promise<string> {
    const { origin, sourceHash, kernelRelease } = kernel.manifest;
    const gone = (why: string) =>
      new LabError(
        'NOT_FOUND',
        `The source tree of kernel ${kernelRelease} (${kernel.key.slice(0, 12)}) is gone and ${why}: modules cannot be built against it.`,
        `Restore ${origin}, or build the kernel again from a source you have (kdlab kernel build --source …).`,
      );
    progress.report({
      fraction: 0.05,
      message: `Preparing the source tree of ${kernelRelease} again from ${origin}`,
    });
    // The source hash covers the patches asked for; a kernel built with lab patches asked for all.
    const patches = kernel.manifest.patches.length > 0 ? labPatches : [];
    const source = await prepareSource(origin, this.workspace.cache('sources'), {
      patches,
      log: (text) => progress.log(text),
      ...(signal ? { signal } : {}),
    }).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      throw gone(`${origin} cannot be prepared (${(error as Error).message})`);
    });
    if (source.sourceHash !== sourceHash) throw gone(`${origin} has changed since the kernel was built`);
    return source.tree;
  }

  /** A build dir configured exactly like `kernel` (shared kbuild O= dirs may have been reconfigured since). */
  async #preparedTree(kernel: KernelArtifacts, progress: Progress, signal?: AbortSignal): Promise<string> {
    const keptOut =
      kernel.manifest.buildDir ??
      kernelBuildDir(this.workspace, kernel.manifest.sourceHash, kernel.manifest.base);
    // The O= dir links to the unpacked tree. `kdlab cache prune` may have removed it (or the tree)
    // while the kernel itself stays cached: then the tree is prepared again from the kernel's origin.
    const tree =
      (await realpath(join(keptOut, 'source')).catch(() => null)) ??
      (await this.#sourceAgain(kernel, progress, signal));
    const dir = this.#moduleTree(kernel);
    if (!(await stat(join(dir, 'scripts', 'mod', 'modpost')).catch(() => null))) {
      progress.report({ fraction: 0.1, message: 'Preparing a module build tree for this kernel (once)' });
      await mkdir(dir, { recursive: true });
      await copyFile(kernel.config, join(dir, '.config'));
      const prepare = await this.executor
        .run(['make', '-C', tree, `O=${dir}`, 'olddefconfig', 'modules_prepare'], {
          ...(signal ? { signal } : {}),
          onOutput: (c) => progress.log(c.toString('utf8')),
          installHint: 'apt-get install -y build-essential flex bison bc libelf-dev libssl-dev',
        })
        .catch(async (error: unknown) => {
          // Cancelled or killed half-way: a half-prepared tree must not pass for a prepared one.
          await rm(dir, { recursive: true, force: true });
          throw error;
        });
      if (prepare.exitCode !== 0) {
        await rm(dir, { recursive: true, force: true });
        throw new LabError(
          'IO',
          `make modules_prepare failed:\n${prepare.stderr.split('\n').slice(-10).join('\n')}`,
        );
      }
    }
    await copyFile(join(kernel.dir, 'Module.symvers'), join(dir, 'Module.symvers')).catch(() => undefined);
    return dir;
  }

  async build(
    kernel: KernelArtifacts,
    sourceDir: string,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<BuiltModule[]> {
    const files = await listSources(sourceDir);
    const hashes = await Promise.all(files.map(async (f) => [f, await sha256File(join(sourceDir, f))]));
    const where = this.executor.cacheIdentity ? { executor: this.executor.cacheIdentity } : {};
    const key = cacheKey({ kernel: kernel.key, hashes, ...where });
    const cache = this.workspace.cache('modules');
    const describe = async (dir: string, cacheHit: boolean) => {
      const kos = (await readdir(dir)).filter((n) => n.endsWith('.ko')).sort();
      return Promise.all(
        kos.map(async (name) => {
          const ko = join(dir, name);
          // .modinfo is a run of NUL-separated key=value strings; the file is small enough to scan.
          const modinfo = await readFile(ko);
          return { name, ko, vermagic: parseVermagic(modinfo), cacheHit };
        }),
      );
    };
    const refuseMismatch = (modules: BuiltModule[]) => {
      for (const m of modules) {
        const problem = vermagicProblem(m.vermagic, kernel.manifest.kernelRelease);
        if (problem)
          throw new LabError(
            'IO',
            `${m.name}: ${problem} — the kernel would refuse to load it.`,
            `Delete ${this.#moduleTree(kernel)} and build the module again.`,
          );
      }
      return modules;
    };
    if (await cache.lookup(key)) {
      progress.report({ fraction: 1, message: 'Cache hit: the same module source and kernel' });
      return refuseMismatch(await describe(cache.entryDir(key), true));
    }

    const tree = await this.#preparedTree(kernel, progress, signal);
    const work = join(this.workspace.tmpDir, `module-${key}-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      for (const f of files) await cp(join(sourceDir, f), join(work, f));
      progress.report({ fraction: 0.5, message: `make M=… modules (${files.join(', ')})` });
      const make = await this.executor.run(['make', '-C', tree, `M=${work}`, 'modules'], {
        ...(signal ? { signal } : {}),
        onOutput: (c) => progress.log(c.toString('utf8')),
      });
      if (make.exitCode !== 0) {
        const errors = compilerErrors(
          `${make.stdout}\n${make.stderr}`.replaceAll(`${work}/`, `${sourceDir}/`),
        );
        throw new LabError(
          'BAD_REQUEST',
          `The module in ${sourceDir} does not compile against ${kernel.manifest.kernelRelease}:\n${(errors.length ? errors : make.stderr.split('\n').slice(-8)).join('\n')}`,
          'Fix the source; the job log has the whole kbuild output.',
        );
      }
      const built = (await readdir(work)).filter((n) => n.endsWith('.ko'));
      if (built.length === 0)
        throw new LabError('BAD_REQUEST', `kbuild produced no .ko from ${sourceDir}: is obj-m set?`);
      // Checked before caching, so a mismatched .ko never becomes a cache hit.
      refuseMismatch(await describe(work, false));
      await cache.commit(key, { kind: 'module', kernel: kernel.key, hashes }, async (dir) => {
        for (const ko of built) await copyFile(join(work, ko), join(dir, ko));
        return built;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const modules = await describe(cache.entryDir(key), false);
    progress.report({ fraction: 1, message: `Built ${modules.map((m) => m.name).join(', ')}` });
    return modules;
  }
}
