// Initramfs images built without root: busybox (static) with its applet links, /dev/console and
// /dev/null nodes, an /init from a template, binaries with the shared libraries ldd lists, modules;
// packed by the kernel's own usr/gen_init_cpio and gzip-compressed, checked before boot.
// The lab's own tools (busybox, kexec, makedumpfile) come from where the executor runs: the host,
// or the lab image in Docker mode, so a host without them can still pack images.
import { copyFile, mkdir, open, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../../common/errors';
import { runCommand } from '../process';
import { readHead } from '../read-head';
import type { Executor } from '../exec/executor';
import type { Progress } from '../jobs';
import { hostExecutor } from '../exec/host-executor';
import { ranWhere } from '../exec/executor';
import type { Workspace } from '../workspace';
import { cacheKey, isInside, sha256File } from '../workspace';
import { checkImage } from './image-checks';
import type { ImageCheck, ImageEntry } from './image-checks';
import { renderInit } from './init-templates';
import type { InitTemplate } from './init-templates';

export interface InitramfsSpec {
  init: InitTemplate;
  /** Leave /init out on purpose (the "forget /init" lab); the pre-boot check then refuses it unless allowBroken. */
  omitInit?: boolean;
  allowBroken?: boolean;
  /** Where the executor runs (default /bin/busybox: the host's, or the lab image's in Docker mode). */
  busybox?: string;
  /**
   * The lab's tools copied at the same path with their shared libraries (e.g. /usr/sbin/kexec),
   * from where the executor runs: the host, or the lab image in Docker mode.
   */
  tools?: string[];
  /** Host files copied at the same path, with their shared libraries (e.g. libraries of host-built programs). */
  binaries?: string[];
  /** Kernel modules, put under /lib/modules. */
  modules?: string[];
  files?: { source: string; path: string; mode?: number }[];
}

export interface InitramfsImage {
  key: string;
  path: string;
  size: number;
  /** source: the host file, or "<path> in <executor>" for a tool taken from the lab image. */
  entries: { path: string; type: ImageEntry['type']; mode: number; target?: string; source?: string }[];
  init: string | null;
  checks: ImageCheck[];
  cacheHit: boolean;
}

interface PlannedEntry extends ImageEntry {
  source?: string;
  /** What the source stands for when it is a staged copy (a tool of the lab image). */
  origin?: string;
  device?: { kind: 'c' | 'b'; major: number; minor: number };
}

/** Libraries a host binary loads, from `ldd` (the loader's own answer, including transitive ones). */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    if (arrow) libs.push(arrow[1]!);
    else {
      const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (bare) libs.push(bare[1]!);
    }
  }
  return [...new Set(libs)];
}

/** The cpio list gen_init_cpio reads (pure; paths with spaces are not supported by its format). */
export function renderCpioList(entries: PlannedEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    const mode = e.mode.toString(8).padStart(4, '0');
    if (/\s/.test(e.path))
      throw new LabError(
        'BAD_REQUEST',
        `Image path "${e.path}" contains white space, which gen_init_cpio cannot store.`,
      );
    if (e.type === 'dir') lines.push(`dir ${e.path} ${mode} 0 0`);
    else if (e.type === 'symlink') lines.push(`slink ${e.path} ${e.target!} ${mode} 0 0`);
    else if (e.type === 'node')
      lines.push(`nod ${e.path} ${mode} 0 0 ${e.device!.kind} ${e.device!.major} ${e.device!.minor}`);
    else lines.push(`file ${e.path} ${e.source!} ${mode} 0 0`);
  }
  return `${lines.join('\n')}\n`;
}

let stagingSerial = 0;

export class ImageBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly executor: Executor = hostExecutor,
  ) {}

  async buildInitramfs(
    spec: InitramfsSpec,
    genInitCpio: string,
    signal?: AbortSignal,
    progress?: Progress,
  ): Promise<InitramfsImage> {
    progress?.report({ fraction: 0.05, message: 'Collecting busybox, tools and libraries' });
    const planned = new Map<string, PlannedEntry>();
    const addDir = (path: string) => {
      const parts = path.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i += 1) {
        const p = `/${parts.slice(0, i).join('/')}`;
        if (!planned.has(p)) planned.set(p, { path: p, type: 'dir', mode: 0o755 });
      }
    };
    const addFile = async (path: string, source: string, mode?: number, origin?: string) => {
      addDir(dirname(path));
      const info = await stat(source).catch(() => null);
      if (!info?.isFile())
        throw new LabError('NOT_FOUND', `${source} (for ${path} in the image) does not exist.`);
      planned.set(path, {
        path,
        type: 'file',
        mode: mode ?? info.mode & 0o7777,
        source,
        ...(origin ? { origin } : {}),
        content: await readHead(source, 32 * 1024 * 1024),
      });
    };
    const addHostFileWithLinks = async (hostPath: string) => {
      // Keep the library's name as a symlink to its real file, as on the host.
      const real = await realpath(hostPath);
      await addFile(real, real);
      if (real !== hostPath) {
        addDir(dirname(hostPath));
        planned.set(hostPath, { path: hostPath, type: 'symlink', mode: 0o777, target: real });
      }
    };

    for (const d of [
      '/bin',
      '/sbin',
      '/dev',
      '/proc',
      '/sys',
      '/mnt',
      '/tmp',
      '/root',
      '/etc',
      '/lib/modules',
    ])
      addDir(d);
    planned.set('/dev/console', {
      path: '/dev/console',
      type: 'node',
      mode: 0o600,
      device: { kind: 'c', major: 5, minor: 1 },
    });
    planned.set('/dev/null', {
      path: '/dev/null',
      type: 'node',
      mode: 0o666,
      device: { kind: 'c', major: 1, minor: 3 },
    });

    const staging = join(this.workspace.tmpDir, `initramfs-${process.pid}-${Date.now()}-${++stagingSerial}`);
    await mkdir(staging, { recursive: true });
    try {
      return await this.#build(
        spec,
        genInitCpio,
        staging,
        planned,
        { addDir, addFile, addHostFileWithLinks },
        signal,
        progress,
      );
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async #build(
    spec: InitramfsSpec,
    genInitCpio: string,
    staging: string,
    planned: Map<string, PlannedEntry>,
    add: {
      addDir: (path: string) => void;
      addFile: (path: string, source: string, mode?: number, origin?: string) => Promise<void>;
      addHostFileWithLinks: (hostPath: string) => Promise<void>;
    },
    signal?: AbortSignal,
    progress?: Progress,
  ): Promise<InitramfsImage> {
    const { addDir, addFile, addHostFileWithLinks } = add;
    const busybox = spec.busybox ?? '/bin/busybox';
    const tools = spec.tools ?? [];
    const listed = this.executor.run([busybox, '--list'], {
      timeoutMs: 30_000,
      installHint: 'apt-get install -y busybox-static',
      ...(signal ? { signal } : {}),
    });
    // Settled either way, so that a failure below does not leave it unhandled.
    listed.catch(() => undefined);
    if (this.executor.kind === 'host') {
      await addFile('/bin/busybox', busybox, 0o755);
      for (const tool of tools) {
        await addHostFileWithLinks(tool);
        const ldd = await runCommand(['ldd', tool], { timeoutMs: 10_000 });
        if (ldd.exitCode === 0) for (const lib of parseLdd(ldd.stdout)) await addHostFileWithLinks(lib);
      }
    } else {
      const staged = await this.#stageTools([busybox, ...tools], join(staging, 'tools'), signal);
      const where = this.executor.describe();
      const stagedFile = (real: string) => `${staging}/tools${real}`;
      await addFile('/bin/busybox', stagedFile(staged.real.get(busybox)!), 0o755, `${busybox} in ${where}`);
      for (const path of [...tools, ...staged.libraries]) {
        const real = staged.real.get(path)!;
        await addFile(real, stagedFile(real), undefined, `${real} in ${where}`);
        if (real !== path) {
          addDir(dirname(path));
          planned.set(path, { path, type: 'symlink', mode: 0o777, target: real });
        }
      }
    }
    const applets = await listed;
    if (applets.exitCode !== 0)
      throw new LabError(
        'IO',
        `${busybox} --list failed${ranWhere(this.executor)}: ${applets.stderr.trim() || `exit ${applets.exitCode}`}`,
      );
    for (const applet of applets.stdout
      .split('\n')
      .map((a) => a.trim())
      .filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox')) {
      planned.set(`/bin/${applet}`, {
        path: `/bin/${applet}`,
        type: 'symlink',
        mode: 0o777,
        target: 'busybox',
      });
    }

    for (const binary of spec.binaries ?? []) {
      await addHostFileWithLinks(binary);
      const ldd = await runCommand(['ldd', binary], { timeoutMs: 10_000 });
      if (ldd.exitCode === 0) for (const lib of parseLdd(ldd.stdout)) await addHostFileWithLinks(lib);
    }
    for (const ko of spec.modules ?? []) await addFile(`/lib/modules/${basename(ko)}`, ko, 0o644);
    for (const file of spec.files ?? []) await addFile(file.path, file.source, file.mode);

    let initText: string | null = null;
    if (!spec.omitInit) {
      initText = renderInit(spec.init);
      const initFile = join(staging, 'init');
      await writeFile(initFile, initText, { mode: 0o755 });
      await addFile('/init', initFile, 0o755);
    }

    const entries = [...planned.values()].sort((a, b) => a.path.localeCompare(b.path));
    progress?.report({ fraction: 0.35, message: `Checking ${entries.length} entries before boot` });
    const checks = checkImage(entries);
    const errors = checks.filter((c) => !c.ok && c.severity === 'error');
    if (errors.length > 0 && !spec.allowBroken) {
      throw new LabError(
        'BAD_REQUEST',
        `The initramfs would not boot: ${errors.map((e) => e.message.en).join('; ')}.`,
        errors
          .map((e) => (e.wouldSee ? `Without this check the kernel would print: ${e.wouldSee}` : ''))
          .filter(Boolean)
          .join(' ') || null,
      );
    }

    const list = renderCpioList(entries);
    const sources = await Promise.all(
      entries.filter((e) => e.source).map(async (e) => [e.path, await sha256File(e.source!)]),
    );
    const key = cacheKey({ list: list.replace(new RegExp(staging, 'g'), '<staging>'), sources, initText });
    const images = this.workspace.cache('initramfs');
    const describe = (cacheHit: boolean, path: string, size: number): InitramfsImage => ({
      key,
      path,
      size,
      cacheHit,
      init: initText,
      checks,
      entries: entries.map((e) => ({
        path: e.path,
        type: e.type,
        mode: e.mode,
        ...(e.target ? { target: e.target } : {}),
        ...(e.source && e.path !== '/init' ? { source: e.origin ?? e.source } : {}),
      })),
    });
    const hit = await images.lookup(key);
    if (hit) return describe(true, join(images.entryDir(key), 'initramfs.cpio.gz'), hit.outputs[0]!.size);
    const manifest = await images.commit(key, { kind: 'initramfs' }, async (dir) => {
      progress?.report({ fraction: 0.5, message: 'Packing with gen_init_cpio' });
      const listFile = join(staging, 'cpio-list');
      await writeFile(listFile, await this.#listForExecutor(entries, list, staging));
      const out = join(staging, 'initramfs.cpio');
      const handle = await open(out, 'w');
      try {
        const cpio = await this.executor.run([genInitCpio, '-t', '0', listFile], {
          stdoutFd: handle.fd,
          inputs: [staging, genInitCpio],
          ...(signal ? { signal } : {}),
        });
        if (cpio.exitCode !== 0) throw new LabError('IO', `gen_init_cpio failed: ${cpio.stderr.trim()}`);
      } finally {
        await handle.close();
      }
      progress?.report({ fraction: 0.75, message: 'Compressing (gzip)' });
      await writeFile(join(dir, 'initramfs.cpio.gz'), gzipSync(await readFile(out), { level: 6 }));
      await writeFile(join(dir, 'cpio-list'), list);
      return ['initramfs.cpio.gz', 'cpio-list'];
    });
    return describe(false, join(images.entryDir(key), 'initramfs.cpio.gz'), manifest.outputs[0]!.size);
  }

  /**
   * Docker mode: the tools and the libraries ldd lists for them, copied out of the lab image into
   * `dir` (in the workspace, so the container writes it as the user) at their real paths. Three
   * short containers, argv only: ldd, realpath -e, cp --parents.
   */
  async #stageTools(
    paths: string[],
    dir: string,
    signal?: AbortSignal,
  ): Promise<{ real: Map<string, string>; libraries: string[] }> {
    const opts = { timeoutMs: 60_000, ...(signal ? { signal } : {}) };
    const where = ranWhere(this.executor);
    // ldd lists every file's libraries (static ones say "not a dynamic executable": exit 1, no list).
    const ldd = await this.executor.run(['ldd', '--', ...paths], opts);
    const libraries = parseLdd(ldd.stdout).filter((lib) => !paths.includes(lib));
    const wanted = [...paths, ...libraries];
    const realpath = await this.executor.run(['realpath', '-e', '--', ...wanted], opts);
    if (realpath.exitCode !== 0)
      throw new LabError(
        'NOT_FOUND',
        `A tool the image needs is missing${where}: ${realpath.stderr.trim()}`,
        'Rebuild the lab image (kdlab images build toolchain), or add the package to lab-images/toolchain/Dockerfile.',
      );
    const reals = realpath.stdout.split('\n').filter(Boolean);
    if (reals.length !== wanted.length)
      throw new LabError('IO', `realpath answered ${reals.length} paths for ${wanted.length}${where}.`);
    const real = new Map(wanted.map((path, i) => [path, reals[i]!]));
    await mkdir(dir, { recursive: true });
    const unique = [...new Set(reals)];
    // No --preserve=mode: with --parents, coreutils 9.1 then fails on a second file in the same folder.
    const cp = await this.executor.run(['cp', '--parents', '--', ...unique, dir], {
      ...opts,
      outputs: [dir],
    });
    if (cp.exitCode !== 0)
      throw new LabError('IO', `Copying the tools out of the lab image failed${where}: ${cp.stderr.trim()}`);
    return { real, libraries };
  }

  /**
   * gen_init_cpio in a container sees the workspace, not the host's /bin or /lib: the host files the
   * image takes along are copied into the staging folder first (the cache key keeps the real list).
   */
  async #listForExecutor(entries: PlannedEntry[], list: string, staging: string): Promise<string> {
    if (this.executor.kind === 'host') return list;
    const copies = join(staging, 'sources');
    await mkdir(copies, { recursive: true });
    const mapped: PlannedEntry[] = [];
    for (const [i, entry] of entries.entries()) {
      if (!entry.source || isInside(this.workspace.root, entry.source)) {
        mapped.push(entry);
        continue;
      }
      const copy = join(copies, String(i));
      await copyFile(entry.source, copy);
      mapped.push({ ...entry, source: copy });
    }
    return renderCpioList(mapped);
  }
}
