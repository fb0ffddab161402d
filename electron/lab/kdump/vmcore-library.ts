// The vmcore library: one folder per captured dump under <workspace>/vmcores/<id>, holding the dump,
// the console log of the crashed run, the capture kernel's dmesg when there is one, and meta.json.
// A folder counts only once meta.json is in it; captures are staged in a dot-folder and renamed in.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { CrashTrigger } from '../image/init-templates';
import type { Workspace } from '../workspace';
import { writeJsonAtomic } from '../workspace';

/** `imported`: a dump made elsewhere and dropped on (or opened in) kdlab. */
export type VmcoreMethod = 'kdump' | 'dump-guest-memory' | 'imported';
/** makedumpfile's flattened/compressed kdump format, or QEMU's ELF and kdump-zlib dumps (imported
 * dumps are named by their header only: kdump-compressed or flattened). */
export type VmcoreFormat = 'kdump-lzo' | 'elf' | 'kdump-zlib' | 'kdump-compressed' | 'flattened';

export interface VmcoreMeta {
  id: string;
  kernelRelease: string;
  buildId: string | null;
  kernelKey: string;
  /** The vmlinux that matches this dump (in the kernels cache). */
  vmlinux: string;
  createdAt: string;
  method: VmcoreMethod;
  format: VmcoreFormat;
  trigger: CrashTrigger | { kind: 'manual' } | { kind: 'unknown' };
  /** makedumpfile -d level; null for QEMU dumps (not filtered). */
  dumpLevel: number | null;
  size: number;
  guestMemoryMiB: number;
  crashkernelMiB: number | null;
  panic: string | null;
  /** Wall-clock milliseconds from QEMU start to the panic, and from the panic to the vmcore on the host. */
  timings: { bootToPanicMs: number | null; panicToHostMs: number | null };
  /** Where QEMU and the dump tools ran ("host", or the Docker image and engine); absent in older entries. */
  executor?: string;
}

export interface VmcoreEntry {
  dir: string;
  vmcore: string;
  consoleLog: string | null;
  captureDmesg: string | null;
  meta: VmcoreMeta;
}

const idPattern = /^[\w.-]+$/;

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

export class VmcoreLibrary {
  constructor(private readonly workspace: Workspace) {}

  get root(): string {
    return this.workspace.vmcoresDir;
  }

  newId(): string {
    return `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 6)}`;
  }

  /** A fresh staging folder for a capture; commit() moves it into the library. */
  async stage(id: string): Promise<string> {
    const dir = join(this.root, `.staging-${id}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async discard(staging: string): Promise<void> {
    await rm(staging, { recursive: true, force: true });
  }

  /** Writes meta.json into the staged folder (which must hold `vmcore`) and renames it in. */
  async commit(staging: string, meta: VmcoreMeta): Promise<VmcoreEntry> {
    if (!(await exists(join(staging, 'vmcore'))))
      throw new LabError('IO', `No vmcore in ${staging}; nothing was added to the library.`);
    await writeJsonAtomic(join(staging, 'meta.json'), meta);
    const dir = join(this.root, meta.id);
    await rename(staging, dir);
    return this.#entry(dir, meta);
  }

  async list(): Promise<VmcoreEntry[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const entries: VmcoreEntry[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const entry = await this.get(name).catch(() => null);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => b.meta.createdAt.localeCompare(a.meta.createdAt));
  }

  async get(id: string): Promise<VmcoreEntry> {
    if (!idPattern.test(id)) throw new LabError('BAD_REQUEST', `${JSON.stringify(id)} is not a vmcore id.`);
    const dir = join(this.root, id);
    const text = await readFile(join(dir, 'meta.json'), 'utf8').catch(() => null);
    if (text === null)
      throw new LabError(
        'NOT_FOUND',
        `No vmcore ${id} in the library (${this.root}).`,
        'kdlab vmcores lists them.',
      );
    let meta: VmcoreMeta;
    try {
      meta = JSON.parse(text) as VmcoreMeta;
    } catch {
      throw new LabError(
        'IO',
        `${join(dir, 'meta.json')} is not valid JSON.`,
        'Delete the folder or fix the file.',
      );
    }
    return this.#entry(dir, meta);
  }

  async remove(id: string): Promise<void> {
    const entry = await this.get(id);
    await rm(entry.dir, { recursive: true, force: true });
  }

  /** Staging folders left by an interrupted capture (never counted as vmcores). */
  async cleanStaging(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const stale = names.filter((n) => n.startsWith('.staging-'));
    for (const name of stale) await rm(join(this.root, name), { recursive: true, force: true });
    return stale;
  }

  async #entry(dir: string, meta: VmcoreMeta): Promise<VmcoreEntry> {
    const optional = async (name: string) => ((await exists(join(dir, name))) ? join(dir, name) : null);
    return {
      dir,
      vmcore: join(dir, 'vmcore'),
      consoleLog: await optional('console.log'),
      captureDmesg: await optional('capture-dmesg.txt'),
      meta,
    };
  }
}
