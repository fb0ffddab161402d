// Initramfs images built without root: busybox (static) with its applet links, /dev/console and
// /dev/null nodes, an /init from a template, host binaries with the shared libraries ldd lists,
// modules; packed by the kernel's own usr/gen_init_cpio and gzip-compressed, checked before boot.
import { copyFile, mkdir, open, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../../common/errors';
import { runCommand } from '../process';
import { readHead } from '../read-head';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
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
  busybox?: string;
  /** Host binaries copied at the same path, with their shared libraries (e.g. /usr/sbin/kexec). */
  binaries?: string[];
  /** Kernel modules, put under /lib/modules. */
  modules?: string[];
  files?: { source: string; path: string; mode?: number }[];
}

export interface InitramfsImage {
  key: string;
  path: string;
  size: number;
  entries: { path: string; type: ImageEntry['type']; mode: number; target?: string; source?: string }[];
  init: string | null;
  checks: ImageCheck[];
  cacheHit: boolean;
}

interface PlannedEntry extends ImageEntry {
  source?: string;
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

export class ImageBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly executor: Executor = hostExecutor,
  ) {}

  async buildInitramfs(
    spec: InitramfsSpec,
    genInitCpio: string,
    signal?: AbortSignal,
  ): Promise<InitramfsImage> {
    const planned = new Map<string, PlannedEntry>();
    const addDir = (path: string) => {
      const parts = path.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i += 1) {
        const p = `/${parts.slice(0, i).join('/')}`;
        if (!planned.has(p)) planned.set(p, { path: p, type: 'dir', mode: 0o755 });
      }
    };
    const addFile = async (path: string, source: string, mode?: number) => {
      addDir(dirname(path));
      const info = await stat(source).catch(() => null);
      if (!info?.isFile())
        throw new LabError('NOT_FOUND', `${source} (for ${path} in the image) does not exist.`);
      planned.set(path, {
        path,
        type: 'file',
        mode: mode ?? info.mode & 0o7777,
        source,
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

    const busybox = spec.busybox ?? '/bin/busybox';
    await addFile('/bin/busybox', busybox, 0o755);
    const applets = await runCommand([busybox, '--list'], {
      timeoutMs: 10_000,
      installHint: 'apt-get install -y busybox-static',
    });
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

    const staging = join(this.workspace.tmpDir, `initramfs-${process.pid}-${Date.now()}`);
    await mkdir(staging, { recursive: true });
    let initText: string | null = null;
    if (!spec.omitInit) {
      initText = renderInit(spec.init);
      const initFile = join(staging, 'init');
      await writeFile(initFile, initText, { mode: 0o755 });
      await addFile('/init', initFile, 0o755);
    }

    const entries = [...planned.values()].sort((a, b) => a.path.localeCompare(b.path));
    const checks = checkImage(entries);
    const errors = checks.filter((c) => !c.ok && c.severity === 'error');
    if (errors.length > 0 && !spec.allowBroken) {
      await rm(staging, { recursive: true, force: true });
      throw new LabError(
        'BAD_REQUEST',
        `The initramfs would not boot: ${errors.map((e) => e.message).join('; ')}.`,
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
        ...(e.source && e.path !== '/init' ? { source: e.source } : {}),
      })),
    });
    try {
      const hit = await images.lookup(key);
      if (hit) return describe(true, join(images.entryDir(key), 'initramfs.cpio.gz'), hit.outputs[0]!.size);
      const manifest = await images.commit(key, { kind: 'initramfs' }, async (dir) => {
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
        await writeFile(join(dir, 'initramfs.cpio.gz'), gzipSync(await readFile(out), { level: 6 }));
        await writeFile(join(dir, 'cpio-list'), list);
        return ['initramfs.cpio.gz', 'cpio-list'];
      });
      return describe(false, join(images.entryDir(key), 'initramfs.cpio.gz'), manifest.outputs[0]!.size);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
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
