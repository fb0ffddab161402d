// User programs for lab images, compiled on the host with gcc (seed 000: an init linked against a
// shared library). `-g` is always kept, so addr2line, objdump -S and gdb work on the host copy of
// what runs in the guest. Outputs are cached, keyed by the sources, the flags and the compiler.
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../../common/errors';
import type { Progress } from '../jobs';
import { runCommand } from '../process';
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
  /** The host copy, with its debug info. */
  file: string;
  path: string;
  /** Host libraries it loads (ldd), the loader included; programs of the same list excluded. */
  libraries: string[];
  cacheHit: boolean;
}

const gccHint = 'apt-get install -y build-essential';

async function compilerId(): Promise<string> {
  const version = await runCommand(['gcc', '--version'], { timeoutMs: 10_000, installHint: gccHint });
  const machine = await runCommand(['gcc', '-dumpmachine'], { timeoutMs: 10_000, installHint: gccHint });
  return `${version.stdout.split('\n')[0]} ${machine.stdout.trim()}`;
}

export class ProgramBuilder {
  constructor(private readonly workspace: Workspace) {}

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
    const compiler = await compilerId().catch(async (error: unknown) => {
      // No gcc here: a lab pack may have brought these programs already built.
      const packed = (await this.#requests())[sourceKey];
      if (packed && (await cache.lookup(packed))) return null;
      throw error;
    });
    const key =
      compiler === null ? (await this.#requests())[sourceKey]! : cacheKey({ gcc: compiler, ...sources });
    let cacheHit = true;
    if (!(await cache.lookup(key))) {
      cacheHit = false;
      await cache.commit(key, { kind: 'programs', names: specs.map((s) => s.name) }, async (dir) => {
        const done: string[] = [];
        for (const [i, spec] of specs.entries()) {
          progress.report({ fraction: i / specs.length, message: `gcc → ${spec.name}` });
          await this.#compile(spec, dir, signal);
          done.push(spec.name);
        }
        return done;
      });
    }
    const dir = cache.entryDir(key);
    const built: BuiltProgram[] = [];
    for (const spec of specs) {
      const file = join(dir, spec.name);
      // The loader's own answer; LD_LIBRARY_PATH lets it find the list's libraries, left out after.
      const ldd = await runCommand(['ldd', file], {
        timeoutMs: 10_000,
        env: { ...process.env, LD_LIBRARY_PATH: dir },
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

  async #compile(spec: ProgramSpec, outDir: string, signal?: AbortSignal): Promise<void> {
    // gcc runs in a scratch folder, so nothing is ever written next to the recipe's sources.
    const work = join(this.workspace.tmpDir, `program-${spec.name}-${process.pid}-${Date.now()}`);
    await mkdir(work, { recursive: true });
    try {
      const includes = [...new Set(spec.sources.map((f) => dirname(f)))].flatMap((d) => ['-I', d]);
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
      const gcc = await runCommand(argv, {
        cwd: work,
        timeoutMs: 120_000,
        installHint: gccHint,
        ...(signal ? { signal } : {}),
      });
      if (gcc.exitCode !== 0) {
        const errors = gcc.stderr.split('\n').filter((l) => /\berror\b/.test(l));
        throw new LabError(
          'BAD_REQUEST',
          `gcc could not build ${spec.name}:\n${(errors.length ? errors : gcc.stderr.split('\n').slice(-8)).join('\n')}`,
          `Fix the sources (${spec.sources.map((s) => basename(s)).join(', ')}).`,
        );
      }
      await copyFile(join(work, spec.name), join(outDir, spec.name));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
