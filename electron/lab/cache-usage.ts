// What takes the space in a workspace: every cache entry, build folder, job log, guest run folder,
// temp and inbox file, with its size on disk (hard links counted once), when it was made and last
// used, who refers to it and what protects it. The facts only; prune-policy.ts decides.
import { readFile, readdir, lstat, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { connect } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { openDockerEngine } from './docker/engine';
import { readExecutorSettings } from './exec/executor-settings';
import { inboxDir, inboxKeepMs } from './inbox';
import type { KernelManifest } from './kernel/kernel-builder';
import { VmcoreLibrary } from './kdump/vmcore-library';
import type { BuildFolderInfo, Leftover, UsageArea, UsageEntry } from './prune-policy';
import type { PackManifest } from './recipes/lab-pack';
import type { CacheManifest, Workspace } from './workspace';
import { isInside } from './workspace';

/** The Docker engine as the scan saw it: image ids when it answered, why not otherwise. */
export type DockerView =
  | { reachable: true; endpoint: string; imageIds: string[] }
  | { reachable: false; endpoint: string | null; error: string }
  | { reachable: null; endpoint: null; error: 'not asked' };

export interface WorkspaceUsage {
  root: string;
  scannedAt: string;
  entries: UsageEntry[];
  totalBytes: number;
  /** Whether the filesystem records access times (noatime mounts do not): "last used" then means last changed. */
  atimeTracked: boolean | null;
  docker: DockerView;
}

export interface ScanOptions {
  /** `auto`: ask the engine kdlab is set up for, only when there are Docker build folders; `off`: never. */
  docker?: 'auto' | 'off';
  now?: number;
  signal?: AbortSignal;
}

const hourMs = 60 * 60 * 1000;
const dayMs = 24 * hourMs;
/** Staging folders and temp files of an unknown owner count as abandoned after this long untouched. */
export const leftoverGraceMs = dayMs;

interface TreeStats {
  bytes: number;
  files: number;
  newestMs: number;
  birthMs: number | null;
}

/**
 * Size on disk of a file or folder: allocated blocks, each hard-linked inode once (`seen` is shared by
 * the whole scan). The newest time is over regular files only, since listing a folder sets its atime;
 * metadata JSON files' atimes are skipped, since listings (kdlab kernel list) read them.
 */
async function measure(
  path: string,
  seen: Set<string>,
  atime: boolean,
  signal?: AbortSignal,
): Promise<TreeStats> {
  const out: TreeStats = { bytes: 0, files: 0, newestMs: 0, birthMs: null };
  const top = await lstat(path).catch(() => null);
  if (!top) return out;
  out.birthMs = top.birthtimeMs > 0 ? top.birthtimeMs : null;
  const add = (info: Stats, name: string) => {
    if (info.nlink > 1) {
      const id = `${info.dev}:${info.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
    }
    out.bytes += info.blocks * 512;
    if (info.isFile()) {
      out.files += 1;
      out.newestMs = Math.max(
        out.newestMs,
        info.mtimeMs,
        atime && !name.endsWith('.json') ? info.atimeMs : 0,
      );
    }
  };
  const walk = async (dir: string): Promise<void> => {
    signal?.throwIfAborted();
    const names = await readdir(dir).catch(() => [] as string[]);
    const infos = await Promise.all(
      names.map(async (name) => ({ name, info: await lstat(join(dir, name)).catch(() => null) })),
    );
    for (const { name, info } of infos) if (info) add(info, name);
    for (const { name, info } of infos) if (info?.isDirectory()) await walk(join(dir, name));
  };
  add(top, basename(path));
  if (top.isDirectory()) {
    await walk(path);
    // An empty folder has no file time: its own change time stands in.
    if (out.files === 0) out.newestMs = top.mtimeMs;
  }
  return out;
}

/** Whether the filesystem holding `path` records access times (from /proc/self/mountinfo). */
export async function atimeTrackedAt(path: string): Promise<boolean | null> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => null);
  if (text === null) return null;
  let best: { point: string; options: string } | null = null;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const point = fields[4]?.replace(/\\040/g, ' ');
    const options = fields[5];
    if (!point || options === undefined) continue;
    if (isInside(point, path) && (!best || point.length > best.point.length)) best = { point, options };
  }
  if (!best) return null;
  return !best.options.split(',').includes('noatime');
}

/** The pid a temp name carries (`initramfs-<pid>-<ms>-<n>`, `module-<key>-<pid>`, `.f.<pid>.<hex>.tmp`). */
export function pidInName(name: string): number | null {
  for (const field of name.split(/[-.]/)) {
    if (/^\d{1,7}$/.test(field)) {
      const pid = Number(field);
      return pid > 1 ? pid : null;
    }
  }
  return null;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A guest's QMP socket answers a connection while QEMU runs (also in a container: the path is shared). */
function socketLive(path: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      socket.destroy();
      resolvePromise(live);
    };
    socket.setTimeout(1_000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(!['ECONNREFUSED', 'ENOENT', 'ENOTSOCK'].includes(error.code ?? '')),
    );
  });
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Valid as CacheStore.lookup sees it: the manifest, and every output with its recorded size. */
async function cacheValid(dir: string, manifest: CacheManifest | null): Promise<boolean> {
  if (!manifest || !Array.isArray(manifest.outputs)) return false;
  for (const output of manifest.outputs) {
    const info = await stat(join(dir, output.path)).catch(() => null);
    if (info?.size !== output.size) return false;
  }
  return true;
}

/** Docker build folders end in `-docker-<first 12 hex digits of the image id>` (KernelBuilder.buildDirFor). */
export function parseBuildFolderName(
  name: string,
): Pick<BuildFolderInfo, 'type' | 'sourceHash' | 'base' | 'executor'> & { kernelPrefix: string | null } {
  const kernel = /^kernel-([0-9a-f]{12})-(.+?)(?:-docker-([0-9a-f]{12}))?$/.exec(name);
  if (kernel)
    return {
      type: 'kernel',
      sourceHash: kernel[1]!,
      base: kernel[2]!,
      executor: kernel[3] ? { dockerImage: kernel[3] } : 'host',
      kernelPrefix: null,
    };
  const modules = /^modules-([0-9a-f]{16})$/.exec(name);
  if (modules)
    return { type: 'modules', sourceHash: null, base: null, executor: 'host', kernelPrefix: modules[1]! };
  return { type: 'other', sourceHash: null, base: null, executor: 'host', kernelPrefix: null };
}

async function dockerView(workspace: Workspace): Promise<DockerView> {
  const settings = await readExecutorSettings(workspace);
  try {
    const engine = await openDockerEngine({
      ...(settings.dockerHost ? { host: settings.dockerHost } : {}),
      timeoutMs: 5_000,
    });
    const images = await engine.docker.listImages({ all: true });
    return { reachable: true, endpoint: engine.endpoint, imageIds: images.map((i) => i.Id) };
  } catch (error) {
    return { reachable: false, endpoint: settings.dockerHost, error: (error as Error).message };
  }
}

/** Lists everything in the workspace that takes space, with what refers to it and what protects it. */
export async function scanWorkspace(
  workspace: Workspace,
  options: ScanOptions = {},
): Promise<WorkspaceUsage> {
  const now = options.now ?? Date.now();
  const signal = options.signal;
  const atime = await atimeTrackedAt(workspace.root);
  const seen = new Set<string>();
  const entries: UsageEntry[] = [];
  const add = async (
    area: UsageArea,
    kind: string,
    path: string,
    extra: Partial<UsageEntry> & { createdMs?: number | null } = {},
  ): Promise<UsageEntry> => {
    const tree = await measure(path, seen, atime === true, signal);
    const { createdMs, ...rest } = extra;
    const created = createdMs ?? tree.birthMs;
    // A manifest's createdAt is kdlab's own record of the commit; a birth time is not a use (files
    // unpacked or copied with their times keep them), so only file times count beyond the manifest.
    const newest = Math.max(tree.newestMs, createdMs ?? 0);
    const entry: UsageEntry = {
      area,
      kind,
      key: basename(path),
      path,
      bytes: tree.bytes,
      files: tree.files,
      createdAt: created ? new Date(created).toISOString() : null,
      lastUsedAt: newest > 0 ? new Date(newest).toISOString() : null,
      valid: null,
      referencedBy: [],
      protectedBy: [],
      needs: [],
      leftover: null,
      build: null,
      ...rest,
    };
    entries.push(entry);
    return entry;
  };
  const leftover = (reason: string, name: string, graceMs = leftoverGraceMs): Leftover => {
    const pid = pidInName(name);
    return { reason, ownerPid: pid, ownerAlive: pid === null ? null : processAlive(pid), graceMs };
  };

  // --- cache/<kind>/<key> ---
  const kernelManifests = new Map<string, KernelManifest>();
  for (const kind of await names(workspace.cacheDir)) {
    const kindDir = join(workspace.cacheDir, kind);
    if (!(await stat(kindDir).catch(() => null))?.isDirectory()) continue;
    for (const name of await names(kindDir)) {
      const dir = join(kindDir, name);
      if (name.startsWith('.staging-') || name.includes('.old-')) {
        await add('cache', kind, dir, {
          leftover: leftover(
            name.startsWith('.staging-')
              ? 'staging folder of an unfinished commit'
              : 'replaced entry not yet deleted',
            name,
            name.includes('.old-') ? hourMs : leftoverGraceMs,
          ),
        });
        continue;
      }
      const manifest = await readJson<CacheManifest>(join(dir, 'manifest.json'));
      const valid = await cacheValid(dir, manifest);
      const createdMs = manifest ? Date.parse(manifest.createdAt) : NaN;
      if (kind === 'kernels' && valid) {
        const km = await readJson<KernelManifest>(join(dir, 'kernel.json'));
        if (km) kernelManifests.set(name, km);
      }
      await add('cache', kind, dir, {
        valid,
        ...(Number.isFinite(createdMs) ? { createdMs } : {}),
        leftover: valid
          ? null
          : leftover(
              manifest
                ? 'manifest lists outputs that are missing or changed (CacheStore.lookup rejects it)'
                : 'no manifest (an interrupted or foreign entry)',
              name,
              hourMs,
            ),
      });
    }
  }
  const cacheEntry = (kind: string, key: string) =>
    entries.find((e) => e.area === 'cache' && e.kind === kind && e.key === key);

  // --- build/ ---
  const buildRoot = join(workspace.root, 'build');
  const docker: DockerView =
    options.docker !== 'off' && (await names(buildRoot)).some((n) => /-docker-[0-9a-f]{12}$/.test(n))
      ? await dockerView(workspace)
      : { reachable: null, endpoint: null, error: 'not asked' };
  for (const name of await names(buildRoot)) {
    const dir = join(buildRoot, name);
    const parsed = parseBuildFolderName(name);
    const build: BuildFolderInfo = {
      type: parsed.type,
      sourceHash: parsed.sourceHash,
      base: parsed.base,
      kernelKeys: [],
      releases: [],
      executor: parsed.executor,
      imageExists: null,
    };
    const needs: string[] = [];
    const configs = new Set<string>();
    const addKernel = (key: string, km: KernelManifest) => {
      build.kernelKeys.push(key);
      if (!build.releases.includes(km.kernelRelease)) build.releases.push(km.kernelRelease);
      configs.add(`${km.base}${km.fragments.length ? ` + ${km.fragments.join(',')}` : ''}`);
    };
    if (parsed.type === 'kernel') {
      for (const [key, km] of kernelManifests) {
        const sameDir = km.buildDir
          ? resolve(km.buildDir) === dir
          : parsed.executor === 'host' &&
            km.sourceHash.startsWith(parsed.sourceHash!) &&
            km.base === parsed.base;
        if (sameDir) addKernel(key, km);
      }
      const source = await realpath(join(dir, 'source')).catch(() => null);
      if (source && isInside(workspace.cacheDir, source)) needs.push(source);
    } else if (parsed.type === 'modules') {
      for (const [key, km] of kernelManifests) {
        if (!key.startsWith(parsed.kernelPrefix!)) continue;
        addKernel(key, km);
        needs.push(join(workspace.cacheDir, 'kernels', key));
        if (km.buildDir) {
          needs.push(resolve(km.buildDir));
          // Made with the toolchain that built its kernel: that build folder's name says which.
          const of = parseBuildFolderName(basename(km.buildDir)).executor;
          if (of !== 'host') build.executor = of;
        }
      }
    }
    if (build.executor !== 'host') {
      const prefix = `sha256:${build.executor.dockerImage}`;
      build.imageExists = docker.reachable ? docker.imageIds.some((id) => id.startsWith(prefix)) : 'unknown';
    }
    const entry = await add('build', parsed.type, dir, { build, needs });
    if (configs.size) entry.referencedBy.push(`config ${[...configs].join(' / ')}`);
    for (const key of build.kernelKeys) {
      const kernel = cacheEntry('kernels', key);
      kernel?.referencedBy.push(`build folder ${name}`);
      entry.referencedBy.push(`kernel ${key.slice(0, 12)}`);
    }
  }
  // Kernels ← their sources; modules ← their kernel.
  for (const [key, km] of kernelManifests) {
    cacheEntry('sources', km.sourceHash)?.referencedBy.push(
      `kernel ${key.slice(0, 12)} (${km.kernelRelease})`,
    );
  }
  for (const e of entries.filter((x) => x.area === 'cache' && x.kind === 'modules' && x.valid)) {
    const manifest = await readJson<CacheManifest>(join(e.path, 'manifest.json'));
    const kernel = manifest?.inputs.kernel;
    if (typeof kernel === 'string') e.referencedBy.push(`for kernel ${kernel.slice(0, 12)}`);
  }

  // --- protection: the vmcore library's kernels, lab packs' installs ---
  const protect = (path: string, why: string) => {
    for (const e of entries)
      if (isInside(e.path, path) && !e.protectedBy.includes(why)) e.protectedBy.push(why);
  };
  // One line per kernel however many dumps need it (a classroom machine may keep hundreds).
  const coresByEntry = new Map<UsageEntry, string[]>();
  for (const core of await new VmcoreLibrary(workspace).list()) {
    const needed = [
      ...(core.meta.kernelKey ? [join(workspace.cacheDir, 'kernels', core.meta.kernelKey)] : []),
      ...(core.meta.vmlinux && isInside(workspace.root, core.meta.vmlinux) ? [core.meta.vmlinux] : []),
    ];
    for (const e of entries.filter((x) => needed.some((p) => isInside(x.path, p))))
      coresByEntry.set(e, [...(coresByEntry.get(e) ?? []), core.meta.id]);
  }
  for (const [e, ids] of coresByEntry) {
    const which = ids.length === 1 ? `vmcore ${ids[0]}` : `${ids.length} stored vmcores (newest ${ids[0]})`;
    e.referencedBy.push(which);
    e.protectedBy.push(`${which} need${ids.length === 1 ? 's' : ''} this kernel for analysis`);
  }
  for (const file of await names(join(workspace.stateDir, 'packs'))) {
    const pack = await readJson<PackManifest>(join(workspace.stateDir, 'packs', file));
    if (!pack) continue;
    const why = `installed by lab pack ${file.replace(/\.json$/, '')}`;
    const installed: [string, string][] = [
      ...(pack.kernels ?? []).map((k): [string, string] => ['kernels', k.key]),
      ...(pack.modules ?? []).map((m): [string, string] => ['modules', m]),
      ...(pack.programs ?? []).map((p): [string, string] => ['programs', p.key]),
    ];
    for (const [kind, key] of installed) {
      const e = cacheEntry(kind, key);
      if (!e) continue;
      e.referencedBy.push(why);
      e.protectedBy.push(why);
    }
  }

  // --- run/<id>: a guest still running keeps its folder and every file QEMU was given ---
  const runRoot = join(workspace.root, 'run');
  for (const id of await names(runRoot)) {
    const dir = join(runRoot, id);
    const live =
      (await stat(join(dir, 'qmp.sock')).catch(() => null)) !== null &&
      (await socketLive(join(dir, 'qmp.sock')));
    const entry = await add('run', 'run', dir);
    if (!live) continue;
    const why = `in use by running guest ${id}`;
    entry.protectedBy.push(why);
    const vm = await readJson<{ argv?: string[] }>(join(dir, 'vm.json'));
    for (const arg of vm?.argv ?? [])
      for (const part of arg.split(/[,=]/)) if (part.startsWith('/')) protect(part, why);
  }

  // --- jobs/, tmp/, inbox/, vmcores/ and stray temp files of atomic writes ---
  for (const name of await names(workspace.jobsDir)) await add('jobs', 'jobs', join(workspace.jobsDir, name));
  for (const name of await names(workspace.tmpDir)) {
    const path = join(workspace.tmpDir, name);
    if (name === 'docker-home')
      await add('tmp', 'tmp', path, { protectedBy: ["the Docker executor's HOME (kept between runs)"] });
    else await add('tmp', 'tmp', path, { leftover: leftover('temporary work folder', name) });
  }
  const inbox = inboxDir(workspace);
  for (const name of await names(inbox)) {
    const partial = name.endsWith('.partial');
    await add('inbox', 'inbox', join(inbox, name), {
      leftover: {
        reason: partial ? 'partial upload' : 'upload (consumers copy or move what they keep)',
        ownerPid: null,
        ownerAlive: null,
        graceMs: partial ? hourMs : inboxKeepMs,
      },
    });
  }
  for (const name of await names(workspace.vmcoresDir)) {
    const path = join(workspace.vmcoresDir, name);
    if (name.startsWith('.staging-'))
      // Never a vmcore: VmcoreLibrary counts a folder only once meta.json is renamed in with it.
      await add('tmp', 'vmcore-staging', path, { leftover: leftover('staging folder of a capture', name) });
    else await add('vmcores', 'vmcores', path);
  }
  for (const name of await names(workspace.stateDir)) {
    if (/^\..+\.\d+\.[0-9a-f]+\.tmp$/.test(name))
      await add('tmp', 'tmp', join(workspace.stateDir, name), {
        leftover: leftover(
          'temp file of an atomic write',
          name.replace(/^\..+?\.(\d+)\.[0-9a-f]+\.tmp$/, '$1'),
        ),
      });
  }

  return {
    root: workspace.root,
    scannedAt: new Date(now).toISOString(),
    entries,
    totalBytes: entries.reduce((sum, e) => sum + e.bytes, 0),
    atimeTracked: atime,
    docker,
  };
}
