// Builds a debug-ready kernel: sources unpacked once, base config + fragments merged with the tree's
// own merge_config.sh, olddefconfig, every requested option verified, then `make O=… -jN bzImage
// vmlinux modules scripts_gdb` with progress, and the artifacts committed to the kernels cache with a
// manifest. Same inputs → cache hit without running make; a changed config rebuilds incrementally in
// the kept O= folder.
import { copyFile, cp, mkdir, readFile, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { LabError } from '../../common/errors';
import { isLocalText, sameText } from '../../common/local-text';
import type { Progress } from '../jobs';
import type { ExecRunOptions, Executor } from '../exec/executor';
import { ranWhere } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { Workspace } from '../workspace';
import { cacheKey, writeJsonAtomic } from '../workspace';
import { BuildProgressTracker } from './build-progress';
import { formatVerificationFailure, loadBuiltinFragment, parseFragment, verifyConfig } from './config-verify';
import type { ConfigVerification, Fragment } from './config-verify';
import { indexKconfig, parseConfig } from './kconfig';
import { labPatches } from './lab-patches';
import { prepareSource } from './sources';

export type ConfigBase = 'tinyconfig' | 'defconfig' | { configFile: string };

export interface KernelBuildSpec {
  /** A kernel tree, a .tar.xz/.gz/.bz2 tarball (e.g. /usr/src/linux-source-6.1.tar.xz), or an https:// tarball URL. */
  source: string;
  /** Required with a URL source: the tarball's sha256. */
  sha256?: string;
  base: ConfigBase;
  fragments: string[];
  /** Extra options, e.g. { DEBUG_INFO_BTF: 'n' } (names without CONFIG_). */
  extra?: Record<string, string>;
  /** Options that may be dropped without failing the build. */
  optional?: string[];
  jobs?: number;
  /** Apply kdlab's compatibility patches to trees it unpacks (default true). */
  labPatches?: boolean;
}

export interface KernelManifest {
  sourceHash: string;
  origin: string;
  patches: string[];
  base: string;
  fragments: string[];
  extra: Record<string, string>;
  configHash: string;
  makeArgs: string[];
  toolchain: Record<string, string>;
  kernelRelease: string;
  buildId: string | null;
  kbuildSteps: number;
  buildSeconds: number;
  /** Where the wall time went: configuration (kconfig + verification), make, collecting artifacts. */
  phaseSeconds?: { configure: number; make: number; collect: number };
  verification: ConfigVerification;
  /** Where make ran ("host", or the Docker image and engine). */
  executor?: string;
  /** The kept O= folder (module builds need it); absent in manifests made before executors. */
  buildDir?: string;
}

export interface KernelArtifacts {
  key: string;
  dir: string;
  cacheHit: boolean;
  bzImage: string;
  vmlinux: string;
  systemMap: string;
  config: string;
  gdbScript: string;
  genInitCpio: string;
  buildLog: string;
  modules: string[];
  manifest: KernelManifest;
}

const targets = ['bzImage', 'vmlinux', 'modules', 'scripts_gdb'];
/** kbuild steps of a tinyconfig + lab fragments build of 6.1 (measured), used before a first build. */
const defaultExpectedSteps = 1_900;

function baseName(base: ConfigBase): string {
  return typeof base === 'string' ? base : `config-${basename(base.configFile)}`;
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

async function toolVersion(argv: string[], executor: Executor): Promise<string> {
  try {
    const r = await executor.run(argv, { timeoutMs: 10_000 });
    return (r.stdout || r.stderr).split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'missing';
  }
}

/** The GNU build id from the ELF notes, via readelf (binutils is part of the toolchain). */
export async function readBuildId(elf: string, executor: Executor = hostExecutor): Promise<string | null> {
  try {
    const r = await executor.run(['readelf', '-n', elf], { timeoutMs: 30_000 });
    return /Build ID: ([0-9a-f]+)/.exec(r.stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

async function findFiles(dir: string, suffix: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'source' && entry.name !== 'tools') await walk(full);
      } else if (entry.name.endsWith(suffix)) found.push(full);
    }
  };
  await walk(dir);
  return found.sort();
}

/** The kept O= build dir of a kernel (`base` as in its manifest); module builds need its source link. */
export function kernelBuildDir(workspace: Workspace, sourceHash: string, base: string): string {
  return join(workspace.root, 'build', `kernel-${sourceHash.slice(0, 12)}-${base}`);
}

export class KernelBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly fragmentsDir: string,
    private readonly executor: Executor = hostExecutor,
  ) {}

  buildDirFor(sourceHash: string, base: ConfigBase): string {
    const dir = kernelBuildDir(this.workspace, sourceHash, baseName(base));
    // A container build gets its own O= folder: objects of another toolchain are never reused.
    const id = this.executor.cacheIdentity;
    return id ? `${dir}-${id.replace(/^docker:(sha256:)?/, 'docker-').slice(0, 19)}` : dir;
  }

  async build(spec: KernelBuildSpec, progress: Progress, signal: AbortSignal): Promise<KernelArtifacts> {
    const log = (text: string) => progress.log(text);
    const executor = this.executor;
    const run = async (argv: string[], options: ExecRunOptions = {}) => {
      log(`$ ${argv.join(' ')}\n`);
      const result = await executor.run(argv, {
        signal,
        installHint: 'apt-get install -y build-essential flex bison bc libelf-dev libssl-dev dwarves',
        onOutput: (chunk) => log(chunk.toString('utf8')),
        ...options,
      });
      if (result.exitCode !== 0) {
        const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
        throw new LabError(
          'IO',
          `${argv.slice(0, 3).join(' ')} failed${ranWhere(executor)} (exit ${result.exitCode ?? result.signal}):\n${tail}`,
          'The job log has the whole output.',
        );
      }
      return result;
    };

    log(`Runs on: ${executor.describe()}\n`);
    progress.report({ fraction: 0.01, message: 'Preparing the kernel sources' });
    let reportedMiB = -1;
    const source = await prepareSource(spec.source, this.workspace.cache('sources'), {
      signal,
      log,
      onProgress: (received, total) => {
        const mib = Math.floor(received / 1048576);
        if (mib === reportedMiB) return;
        reportedMiB = mib;
        progress.report({
          fraction: 0.01,
          message: `Downloading the kernel tarball: ${mib}${total ? ` of ${Math.round(total / 1048576)}` : ''} MiB`,
        });
      },
      patches: spec.labPatches === false ? [] : labPatches,
      ...(spec.sha256 ? { sha256: spec.sha256 } : {}),
      downloads: this.workspace.cache('downloads'),
    });
    const out = this.buildDirFor(source.sourceHash, spec.base);
    await mkdir(out, { recursive: true });
    const make = (...args: string[]) => ['make', '-C', source.tree, `O=${out}`, ...args];

    const fragments: Fragment[] = [];
    const names = [...spec.fragments];
    if (spec.base === 'tinyconfig' && !names.includes('tiny-x86_64')) names.unshift('tiny-x86_64');
    for (const name of names) fragments.push(await loadBuiltinFragment(this.fragmentsDir, name));
    const extra = spec.extra ?? {};
    if (Object.keys(extra).length > 0 || (spec.optional ?? []).length > 0) {
      const lines = Object.entries(extra).map(([k, v]) =>
        v === 'n' ? `# CONFIG_${k} is not set` : `CONFIG_${k}=${v}`,
      );
      const optional = (spec.optional ?? []).map((k) => `# kdlab:optional CONFIG_${k}`);
      fragments.push(parseFragment('extra', `${[...optional, ...lines].join('\n')}\n`));
    }
    const [gcc, ld, makeVersion] = await Promise.all([
      toolVersion(['gcc', '--version'], executor),
      toolVersion(['ld', '--version'], executor),
      toolVersion(['make', '--version'], executor),
    ]);
    // The same compiler version in a container is still another build environment.
    const where = executor.cacheIdentity ? { executor: executor.cacheIdentity } : {};
    const toolchain = { gcc, ld, make: makeVersion };
    const kernels = this.workspace.cache('kernels');

    // Fast path: the same request (sources, base, fragments, toolchain) already produced a kernel
    // that is still in the cache; no need to regenerate the config to find it.
    const baseContent =
      typeof spec.base === 'string'
        ? spec.base
        : sha256(await readFile(spec.base.configFile).catch(() => Buffer.from('missing')));
    const requestKey = cacheKey({
      sourceHash: source.sourceHash,
      baseContent,
      fragments: fragments.map((f) => f.text),
      targets,
      toolchain,
      ...where,
    });
    const requestsFile = join(this.workspace.stateDir, 'kernel-requests.json');
    const requests = JSON.parse(await readFile(requestsFile, 'utf8').catch(() => '{}')) as Record<
      string,
      string
    >;
    const known = requests[requestKey];
    if (known && (await kernels.lookup(known))) {
      progress.report({
        fraction: 1,
        message: 'Cache hit: same sources, config and toolchain — make not run',
      });
      return this.#artifacts(known, kernels.entryDir(known), true);
    }

    // --- configuration ---
    const configureStarted = Date.now();
    // Indexing Kconfig only reads the tree: overlap it with the kconfig runs instead of after them.
    const indexing = indexKconfig(source.tree);
    indexing.catch(() => undefined);
    progress.report({
      fraction: 0.02,
      message: `Configuring: ${baseName(spec.base)} + ${spec.fragments.join(', ') || 'no fragments'}`,
    });
    if (typeof spec.base === 'string') {
      await run(make(spec.base));
    } else {
      const configFile = spec.base.configFile;
      const userConfig = await readFile(configFile).catch(() => {
        throw new LabError('NOT_FOUND', `Config file ${configFile} does not exist.`);
      });
      await writeFile(join(out, '.config'), userConfig);
    }
    const fragmentDir = join(out, 'kdlab-fragments');
    await mkdir(fragmentDir, { recursive: true });
    const fragmentFiles: string[] = [];
    for (const fragment of fragments) {
      const file = join(fragmentDir, `${fragment.name}.config`);
      await writeFile(file, fragment.text);
      fragmentFiles.push(file);
    }
    if (fragmentFiles.length > 0) {
      await run(
        [
          join(source.tree, 'scripts/kconfig/merge_config.sh'),
          '-m',
          '-O',
          out,
          join(out, '.config'),
          ...fragmentFiles,
        ],
        // merge_config.sh makes its temp files in the current folder: the build folder, never the
        // source tree (which may be read-only: a shared cache mounted read-only, a root-owned /usr/src).
        { cwd: out },
      );
    }
    await run(make('olddefconfig'));
    const configText = await readFile(join(out, '.config'), 'utf8');
    const index = await indexing;
    const verification = verifyConfig(fragments, parseConfig(configText), index);
    await writeJsonAtomic(join(out, 'kdlab-verification.json'), verification);
    for (const check of verification.checks.filter((c) => c.status !== 'ok')) {
      log(
        `${check.optional ? 'optional, dropped' : 'DROPPED'}: CONFIG_${check.option} (${check.fragment}) wanted ${check.wanted}, got ${check.got} — ${check.reason?.en ?? ''}\n`,
      );
    }
    if (!verification.ok) {
      throw new LabError(
        'BAD_REQUEST',
        `${verification.failures.length} requested config option(s) did not survive olddefconfig:\n${formatVerificationFailure(verification)}`,
        'Enable the unmet dependencies too (extra options), or mark the option optional.',
      );
    }

    // --- cache ---
    const jobs = spec.jobs ?? cpus().length;
    const makeArgs = [`-j${jobs}`, ...targets];
    const configHash = sha256(configText);
    const key = cacheKey({ sourceHash: source.sourceHash, configHash, targets, toolchain, ...where });
    const remember = async () => {
      requests[requestKey] = key;
      await writeJsonAtomic(requestsFile, requests);
    };
    const cached = await kernels.lookup(key);
    if (cached) {
      await remember();
      progress.report({
        fraction: 1,
        message: 'Cache hit: same sources, config and toolchain — make not run',
      });
      return this.#artifacts(key, kernels.entryDir(key), true);
    }

    // --- make ---
    const statsFile = join(this.workspace.stateDir, 'kbuild-steps.json');
    const stats = JSON.parse(await readFile(statsFile, 'utf8').catch(() => '{}')) as Record<string, number>;
    const statsKey = `${baseName(spec.base)}+${names.join('+')}`;
    const tracker = new BuildProgressTracker(stats[statsKey] ?? defaultExpectedSteps);
    const started = Date.now();
    const configureSeconds = (started - configureStarted) / 1000;
    const buildLog: string[] = [];
    await run(make(...makeArgs), {
      onOutput: (chunk) => {
        const text = chunk.toString('utf8');
        buildLog.push(text);
        log(text);
        if (tracker.push(text)) progress.report(tracker.snapshot());
      },
    });
    const buildSeconds = (Date.now() - started) / 1000;
    // Remember a full build's step count for the next estimate (an incremental one says little).
    if (tracker.steps > (stats[statsKey] ?? 0) * 0.8) {
      stats[statsKey] = tracker.steps;
      await writeJsonAtomic(statsFile, stats);
    }
    progress.report({ fraction: 0.99, message: 'Collecting artifacts' });
    const collectStarted = Date.now();
    // kbuild wrote the release string while building; reading it saves another make run.
    const kernelRelease = (
      (await readFile(join(out, 'include/config/kernel.release'), 'utf8').catch(() => null)) ??
      (await run(make('-s', 'kernelrelease'), { onOutput: () => undefined })).stdout
    ).trim();
    const buildId = await readBuildId(join(out, 'vmlinux'), executor);

    const manifestInfo: KernelManifest = {
      sourceHash: source.sourceHash,
      origin: source.origin,
      patches: source.patches,
      base: baseName(spec.base),
      fragments: names,
      extra,
      configHash,
      makeArgs,
      toolchain,
      kernelRelease,
      buildId,
      kbuildSteps: tracker.steps,
      buildSeconds,
      verification,
      executor: executor.describe(),
      buildDir: out,
    };
    await kernels.commit(key, { ...manifestInfo, verification: undefined }, async (staging) => {
      const files: string[] = [];
      const put = async (from: string, to: string) => {
        await mkdir(join(staging, to, '..'), { recursive: true });
        await copyFile(from, join(staging, to));
        files.push(to);
      };
      await put(join(out, 'arch/x86/boot/bzImage'), 'bzImage');
      await put(join(out, 'vmlinux'), 'vmlinux');
      await put(join(out, 'System.map'), 'System.map');
      // The kernel's own initramfs packer, built with it (BLK_DEV_INITRD).
      await put(join(out, 'usr/gen_init_cpio'), 'tools/gen_init_cpio');
      await put(join(out, '.config'), 'config');
      await put(await realpath(join(out, 'vmlinux-gdb.py')), 'vmlinux-gdb.py');
      // scripts/gdb/linux: symlinks into the source tree plus the generated constants.py.
      await cp(join(out, 'scripts/gdb/linux'), join(staging, 'scripts/gdb/linux'), {
        recursive: true,
        dereference: true,
      });
      for (const f of await findFiles(join(staging, 'scripts/gdb/linux'), '.py'))
        files.push(relative(staging, f));
      for (const ko of await findFiles(out, '.ko')) await put(ko, join('modules', relative(out, ko)));
      if (await stat(join(out, 'Module.symvers')).catch(() => null))
        await put(join(out, 'Module.symvers'), 'Module.symvers');
      await writeFile(join(staging, 'build.log'), buildLog.join(''));
      files.push('build.log');
      manifestInfo.phaseSeconds = {
        configure: configureSeconds,
        make: buildSeconds,
        // Copying so far; the cache then hashes what was copied (logged below).
        collect: (Date.now() - collectStarted) / 1000,
      };
      await writeJsonAtomic(join(staging, 'kernel.json'), manifestInfo);
      files.push('kernel.json');
      return files;
    });
    await remember();
    log(
      `kdlab: configure ${configureSeconds.toFixed(1)} s, make ${buildSeconds.toFixed(1)} s, collect ${((Date.now() - collectStarted) / 1000).toFixed(1)} s\n`,
    );
    progress.report({ fraction: 1, message: `Built ${kernelRelease} in ${Math.round(buildSeconds)} s` });
    return this.#artifacts(key, kernels.entryDir(key), false);
  }

  /** A kernel in the cache by its key (or a unique prefix of it). */
  async load(keyOrPrefix: string): Promise<KernelArtifacts> {
    const kernels = this.workspace.cache('kernels');
    const all = await this.list();
    const matches = all.filter((k) => k.key.startsWith(keyOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0)
      throw new LabError(
        'NOT_FOUND',
        `No built kernel ${keyOrPrefix} in the cache (${kernels.dir}).`,
        'kdlab kernel list shows the built kernels; kdlab kernel build makes one.',
      );
    throw new LabError(
      'BAD_REQUEST',
      `${keyOrPrefix} matches ${matches.length} kernels; give more of the key.`,
    );
  }

  /** Every complete kernel in the cache, newest first. */
  async list(): Promise<KernelArtifacts[]> {
    const kernels = this.workspace.cache('kernels');
    const names = await readdir(kernels.dir).catch(() => [] as string[]);
    const found: { artifacts: KernelArtifacts; createdAt: string }[] = [];
    for (const name of names) {
      if (name.startsWith('.') || name.includes('.old-')) continue;
      const manifest = await kernels.lookup(name).catch(() => null);
      if (!manifest) continue;
      found.push({
        artifacts: await this.#artifacts(name, kernels.entryDir(name), true),
        createdAt: manifest.createdAt,
      });
    }
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((f) => f.artifacts);
  }

  async #artifacts(key: string, dir: string, cacheHit: boolean): Promise<KernelArtifacts> {
    const manifest = JSON.parse(await readFile(join(dir, 'kernel.json'), 'utf8')) as KernelManifest;
    // Kernels built before the reasons were localized carry plain English.
    for (const check of manifest.verification?.checks ?? [])
      if (check.reason !== null && !isLocalText(check.reason)) check.reason = sameText(String(check.reason));
    const modulesDir = join(dir, 'modules');
    const modules = (await stat(modulesDir).catch(() => null)) ? await findFiles(modulesDir, '.ko') : [];
    return {
      key,
      dir,
      cacheHit,
      bzImage: join(dir, 'bzImage'),
      vmlinux: join(dir, 'vmlinux'),
      systemMap: join(dir, 'System.map'),
      config: join(dir, 'config'),
      gdbScript: join(dir, 'vmlinux-gdb.py'),
      genInitCpio: join(dir, 'tools/gen_init_cpio'),
      buildLog: join(dir, 'build.log'),
      modules,
      manifest,
    };
  }
}
