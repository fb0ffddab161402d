// User programs for lab images, compiled with gcc where the executor runs: on the host, or in the
// lab toolchain container in Docker mode (seed 000: an init linked against a shared library). `-g`
// is always kept, so addr2line, objdump -S and gdb work on the workspace copy of what runs in the
// guest. Outputs are cached, keyed by the sources, the flags and the compiler (and, in Docker mode,
// the image id: the same gcc version in a container is still another build environment).
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../../common/errors';
import type { Executor } from '../exec/executor';
import { ranWhere } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { Progress } from '../jobs';
import type { Workspace } from '../workspace';
import { cacheKey, isInside, sha256File, writeJsonAtomic } from '../workspace';
import { parseLdd } from './initramfs';

export interface ProgramSpec {
  /** The output file name, e.g. `libkdlab.so` or `init`. */
  name: string;
  kind: 'executable' | 'shared';
  /** Absolute paths of the C sources (headers next to them are found through -I of their folder). */
  sources: string[];
  /** Names of shared programs built earlier in the same list to link against. */
  link: string[];
  /** Extra compiler flags, e.g. -O1 (checked by the caller: no shell is involved). */
  cflags: string[];
  /** Where the program goes in the image, e.g. /usr/lib/libkdlab.so. */
  path: string;
}

export interface BuiltProgram {
  name: string;
  kind: ProgramSpec['kind'];
  /** The copy in the workspace cache, with its debug info. */
  file: string;
  path: string;
  /**
   * Libraries it loads, the loader included, as ldd lists them where it was compiled (the host, or
   * the lab image); programs of the same list excluded.
   */
  libraries: string[];
  cacheHit: boolean;
}

const gccHint = 'apt-get install -y build-essential';

/** gcc's version and target where the executor runs; a missing gcc is the executor's TOOL_MISSING. */
async function compilerId(executor: Executor, signal?: AbortSignal): Promise<string> {
  const opts = { timeoutMs: 60_000, installHint: gccHint, ...(signal ? { signal } : {}) };
  const [version, machine] = await Promise.all([
    executor.run(['gcc', '--version'], opts),
    executor.run(['gcc', '-dumpmachine'], opts),
  ]);
  return `${version.stdout.split('\n')[0]} ${machine.stdout.trim()}`;
}

export class ProgramBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly executor: Executor = hostExecutor,
  ) {}

  /** Maps a compiler-free key of the sources to the cache entry built from them (see build). */
  get requestsFile(): string {
    return join(this.workspace.stateDir, 'program-requests.json');
  }

  async #requests(): Promise<Record<string, string>> {
    return JSON.parse(await readFile(this.requestsFile, 'utf8').catch(() => '{}')) as Record<string, string>;
  }

  /** Records that `sourceKey` was built as cache entry `key` (a lab pack import records its own). */
  async remember(sourceKey: string, key: string): Promise<void> {
    const requests = await this.#requests();
    if (requests[sourceKey] === key) return;
    await writeJsonAtomic(this.requestsFile, { ...requests, [sourceKey]: key });
  }

  async build(specs: ProgramSpec[], progress: Progress, signal?: AbortSignal): Promise<BuiltProgram[]> {
    return (await this.buildEntry(specs, progress, signal)).programs;
  }

  /** Builds (or finds) the programs and says which cache entry holds them. */
  async buildEntry(
    specs: ProgramSpec[],
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<{ programs: BuiltProgram[]; key: string | null; sourceKey: string | null }> {
    if (specs.length === 0) return { programs: [], key: null, sourceKey: null };
    // Keyed by content, not by where the sources are (a lab pack moves them): every source and
    // every header beside them.
    const dirs = [...new Set(specs.flatMap((s) => s.sources.map((f) => dirname(f))))].sort();
    const headers = (
      await Promise.all(
        dirs.map(async (d) => (await readdir(d)).filter((n) => n.endsWith('.h')).map((n) => join(d, n))),
      )
    ).flat();
    const hash = async (f: string) => [basename(f), await sha256File(f)];
    const sources = {
      headers: await Promise.all(headers.map(hash)),
      programs: await Promise.all(
        specs.map(async (s) => ({ ...s, sources: await Promise.all(s.sources.map(hash)) })),
      ),
    };
    const sourceKey = cacheKey(sources);
    const cache = this.workspace.cache('programs');
    const executor = this.executor;
    const compiler = await compilerId(executor, signal).catch(async (error: unknown) => {
      // No gcc where the executor runs: a lab pack may have brought these programs already built.
      const packed = (await this.#requests())[sourceKey];
      if (packed && (await cache.lookup(packed))) return null;
      throw error;
    });
    // Host keys stay as they were (cacheIdentity is null there).
    const where = executor.cacheIdentity ? { executor: executor.cacheIdentity } : {};
    const key =
      compiler === null
        ? (await this.#requests())[sourceKey]!
        : cacheKey({ gcc: compiler, ...sources, ...where });
    let cacheHit = true;
    if (!(await cache.lookup(key))) {
      cacheHit = false;
      progress.log(`Runs on: ${executor.describe()}\n`);
      const inputs = {
        kind: 'programs',
        names: specs.map((s) => s.name),
        compiler,
        executor: executor.describe(),
      };
      await cache.commit(key, inputs, async (dir) => {
        const done: string[] = [];
        for (const [i, spec] of specs.entries()) {
          progress.report({ fraction: i / specs.length, message: `gcc → ${spec.name}` });
          await this.#compile(spec, dir, progress, signal);
          done.push(spec.name);
        }
        return done;
      });
    }
    const dir = cache.entryDir(key);
    const built: BuiltProgram[] = [];
    for (const spec of specs) {
      const file = join(dir, spec.name);
      // The loader's own answer where it was compiled; LD_LIBRARY_PATH lets it find the list's
      // libraries, left out after.
      const ldd = await executor.run(['ldd', file], {
        timeoutMs: 60_000,
        env: { ...process.env, LD_LIBRARY_PATH: dir },
        inputs: [dir],
        ...(signal ? { signal } : {}),
      });
      const libraries = ldd.exitCode === 0 ? parseLdd(ldd.stdout).filter((l) => !isInside(dir, l)) : [];
      built.push({ name: spec.name, kind: spec.kind, file, path: spec.path, libraries, cacheHit });
    }
    await this.remember(sourceKey, key);
    progress.report({
      fraction: 1,
      message: `${cacheHit ? 'Cache hit' : 'Compiled'}: ${specs.map((s) => s.name).join(', ')}`,
    });
    return { programs: built, key, sourceKey };
  }

  async #compile(spec: ProgramSpec, outDir: string, progress: Progress, signal?: AbortSignal): Promise<void> {
    // gcc runs in a scratch folder, so nothing is ever written next to the recipe's sources.
    const work = join(this.workspace.tmpDir, `program-${spec.name}-${process.pid}-${Date.now()}`);
    await mkdir(work, { recursive: true });
    try {
      const sourceDirs = [...new Set(spec.sources.map((f) => dirname(f)))];
      const includes = sourceDirs.flatMap((d) => ['-I', d]);
      const argv = [
        'gcc',
        '-g',
        ...spec.cflags,
        ...includes,
        ...(spec.kind === 'shared' ? ['-fPIC', '-shared', `-Wl,-soname,${spec.name}`] : []),
        '-o',
        join(work, spec.name),
        ...spec.sources,
        ...(spec.link.length ? ['-L', outDir, ...spec.link.map((l) => `-l:${l}`)] : []),
      ];
      progress.log(`$ ${argv.join(' ')}\n`);
      // In a container the sources (outside the workspace) are mounted read-only at their own
      // paths, and the list's libraries linked against are in the cache's staging folder.
      const gcc = await this.executor.run(argv, {
        cwd: work,
        timeoutMs: 120_000,
        installHint: gccHint,
        inputs: [...sourceDirs, work, ...(spec.link.length ? [outDir] : [])],
        outputs: [join(work, spec.name)],
        ...(signal ? { signal } : {}),
      });
      if (gcc.exitCode !== 0) {
        const errors = gcc.stderr.split('\n').filter((l) => /\berror\b/.test(l));
        throw new LabError(
          'BAD_REQUEST',
          `gcc could not build ${spec.name}${ranWhere(this.executor)}:\n${(errors.length ? errors : gcc.stderr.split('\n').slice(-8)).join('\n')}`,
          `Fix the sources (${spec.sources.map((s) => basename(s)).join(', ')}).`,
        );
      }
      await copyFile(join(work, spec.name), join(outDir, spec.name));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
