// The workspace: one folder for every artifact, atomic writes, and a cache whose entries
// count only once their manifest is written (the manifest is always the last file in).
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { LabError } from '../common/errors';

export function defaultWorkspaceRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KDLAB_HOME) return resolve(env.KDLAB_HOME);
  const dataHome = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), '.local', 'share');
  return join(dataHome, 'kdlab');
}

function tempNameFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes to a temporary file in the same folder, fsyncs it, then renames it over the target. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = tempNameFor(file);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** True when `child` is `parent` or inside it (after resolving `..`). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

export interface CacheOutput {
  path: string;
  size: number;
  sha256: string;
}

export interface CacheManifest {
  key: string;
  kind: string;
  createdAt: string;
  inputs: Record<string, unknown>;
  outputs: CacheOutput[];
}

const manifestName = 'manifest.json';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export function cacheKey(inputs: unknown): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32);
}

/** A content-addressed cache: entries are staged in a temp folder and renamed into place with their manifest. */
export class CacheStore {
  constructor(
    readonly dir: string,
    readonly kind: string,
  ) {}

  entryDir(key: string): string {
    if (!/^[a-zA-Z0-9_-]{1,100}$/.test(key)) throw new LabError('BAD_REQUEST', `Invalid cache key ${key}.`);
    return join(this.dir, key);
  }

  /** The entry when its manifest exists and every output it lists is still there with its size. */
  async lookup(key: string): Promise<CacheManifest | null> {
    const dir = this.entryDir(key);
    let manifest: CacheManifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, manifestName), 'utf8')) as CacheManifest;
    } catch {
      return null;
    }
    for (const output of manifest.outputs) {
      try {
        const info = await stat(join(dir, output.path));
        if (info.size !== output.size) return null;
      } catch {
        return null;
      }
    }
    return manifest;
  }

  /**
   * Runs `produce` in a staging folder; on success writes the manifest and renames the folder into
   * place. A failure or cancellation leaves no entry behind (and the previous entry, if any, intact).
   */
  async commit(
    key: string,
    inputs: Record<string, unknown>,
    produce: (stagingDir: string) => Promise<string[]>,
  ): Promise<CacheManifest> {
    const finalDir = this.entryDir(key);
    const staging = join(this.dir, `.staging-${key}-${randomBytes(4).toString('hex')}`);
    await mkdir(staging, { recursive: true });
    try {
      const files = await produce(staging);
      const outputs: CacheOutput[] = [];
      for (const path of files) {
        const full = join(staging, path);
        if (!isInside(staging, full))
          throw new LabError('INTERNAL', `Cache output ${path} escapes its entry.`);
        outputs.push({ path, size: (await stat(full)).size, sha256: await sha256File(full) });
      }
      const manifest: CacheManifest = {
        key,
        kind: this.kind,
        createdAt: new Date().toISOString(),
        inputs,
        outputs,
      };
      await writeJsonAtomic(join(staging, manifestName), manifest);
      const old = `${finalDir}.old-${randomBytes(4).toString('hex')}`;
      const hadOld = await rename(finalDir, old).then(
        () => true,
        () => false,
      );
      await rename(staging, finalDir);
      if (hadOld) await rm(old, { recursive: true, force: true });
      return manifest;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes staging leftovers and entries without a manifest (an interrupted run). */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      const full = join(this.dir, name);
      const leftover = name.startsWith('.staging-') || name.includes('.old-');
      const incomplete = !leftover && (await stat(join(full, manifestName)).catch(() => null)) === null;
      if (leftover || incomplete) {
        await rm(full, { recursive: true, force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}

export class Workspace {
  readonly jobsDir: string;
  readonly cacheDir: string;
  readonly tmpDir: string;
  readonly vmcoresDir: string;
  readonly stateDir: string;

  private constructor(readonly root: string) {
    this.jobsDir = join(root, 'jobs');
    this.cacheDir = join(root, 'cache');
    this.tmpDir = join(root, 'tmp');
    this.vmcoresDir = join(root, 'vmcores');
    this.stateDir = join(root, 'state');
  }

  static async open(root: string = defaultWorkspaceRoot()): Promise<Workspace> {
    const workspace = new Workspace(resolve(root));
    try {
      for (const dir of [
        workspace.jobsDir,
        workspace.cacheDir,
        workspace.tmpDir,
        workspace.vmcoresDir,
        workspace.stateDir,
      ]) {
        await mkdir(dir, { recursive: true });
      }
    } catch (error) {
      throw new LabError(
        'IO',
        `Cannot create the kdlab workspace at ${workspace.root}: ${(error as Error).message}`,
        'Set KDLAB_HOME to a writable folder, e.g. KDLAB_HOME=$HOME/kdlab.',
      );
    }
    return workspace;
  }

  cache(kind: string): CacheStore {
    return new CacheStore(join(this.cacheDir, kind), kind);
  }

  /** Resolves a path that must stay inside the workspace (recipes and API arguments). */
  resolveInside(path: string): string {
    const full = resolve(this.root, path);
    if (!isInside(this.root, full)) {
      throw new LabError('FORBIDDEN', `${path} is outside the kdlab workspace (${this.root}).`);
    }
    return full;
  }
}
