// Files handed to kdlab from outside (dropped on the window, uploaded by the browser, opened from the
// OS): where uploads land, and what a file is — told from its bytes, not its name, so a wrong file
// gets an error that says what it is and what was expected.
import { randomUUID } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { LabError } from '../common/errors';
import { readHead } from './read-head';
import type { Workspace } from './workspace';

export type InboxKind = 'vmcore' | 'config' | 'pack' | 'report' | 'log';

export interface FileIdentity {
  path: string;
  name: string;
  size: number;
  kind: InboxKind;
  /** What the bytes say, in a few words (e.g. "kdump-compressed vmcore", "kernel config, 1432 options"). */
  detail: string;
}

/** `<workspace>/inbox`: uploads from the browser (never anywhere else). */
export function inboxDir(workspace: Pick<Workspace, 'root'>): string {
  return join(workspace.root, 'inbox');
}

/** Uploads kept this long: each consumer copies or moves what it keeps (vmcores move into the library). */
export const inboxKeepMs = 24 * 60 * 60 * 1000;

/**
 * Removes inbox files older than `keepMs` (and partial uploads of a crashed server older than an
 * hour), so dropped logs, configs, packs and reports do not pile up. Returns the names removed.
 */
export async function pruneInbox(
  workspace: Pick<Workspace, 'root'>,
  keepMs = inboxKeepMs,
  now = Date.now(),
): Promise<string[]> {
  const dir = inboxDir(workspace);
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) continue;
    const limit = name.endsWith('.partial') ? Math.min(keepMs, 60 * 60 * 1000) : keepMs;
    if (now - info.mtimeMs <= limit) continue;
    await rm(path, { force: true });
    removed.push(name);
  }
  return removed;
}

/** A file name safe to keep (the browser's name, reduced to a plain basename). */
export function safeUploadName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'))
    .replace(/[^\w.+-]/g, '_')
    .replace(/^\.+/, '');
  return (base || 'upload').slice(-120);
}

/** A fresh name in the inbox for an upload called `name`. */
export function inboxFileName(name: string): string {
  return `${randomUUID().slice(0, 8)}-${safeUploadName(name)}`;
}

/** A recipe progress report (what `kdlab run` saves, exported from the Recipes view). */
export const progressReportSchema = z.object({
  recipeId: z.string().regex(/^[a-z0-9-]+$/),
  startedAt: z.string(),
  updatedAt: z.string(),
  finished: z.boolean(),
  steps: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['passed', 'failed', 'error']),
      answer: z.object({ given: z.string(), expected: z.string(), ok: z.boolean() }).optional(),
    }),
  ),
  artifacts: z.record(z.string(), z.string()),
});

const kconfigLine = /^(?:CONFIG_[A-Za-z0-9_]+=.*|# CONFIG_[A-Za-z0-9_]+ is not set)$/;

const expected: Record<InboxKind, { what: string; hint: string }> = {
  vmcore: {
    what: 'a vmcore (a kdump-compressed, flattened or ELF core dump)',
    hint: 'Use the file makedumpfile or QEMU dump-guest-memory wrote (e.g. /var/crash/…/vmcore), not vmlinux or a log.',
  },
  config: {
    what: 'a kernel config (.config)',
    hint: 'A .config has lines like CONFIG_KGDB=y and "# CONFIG_X is not set"; the kernel build folder has one.',
  },
  pack: {
    what: 'a kdlab lab pack',
    hint: 'A lab pack is the .kdlab-pack (tar.gz) file made by kdlab lab pack.',
  },
  report: {
    what: 'a recipe progress report',
    hint: 'A report is the .kdlab-report (JSON) file a student exports from the Recipes view.',
  },
  log: { what: 'a console log', hint: 'Paste the log text, or drop a .log/.txt file.' },
};

/** Tells what a file is from its first bytes (and, for JSON, its shape). */
export async function identifyFile(path: string): Promise<FileIdentity> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new LabError('NOT_FOUND', `${path} does not exist or is not a file.`);
  // Uploads are `<8 hex>-<name>` in the inbox: messages use the name the user knows.
  const name =
    basename(dirname(path)) === 'inbox' ? basename(path).replace(/^[0-9a-f]{8}-/, '') : basename(path);
  const base = { path, name, size: info.size };
  const bytes = await readHead(path, 64 * 1024);
  const sig = bytes.toString('latin1', 0, 8);
  if (sig === 'KDUMP   ') return { ...base, kind: 'vmcore', detail: 'kdump-compressed vmcore' };
  if (sig === 'makedump') return { ...base, kind: 'vmcore', detail: 'makedumpfile flattened vmcore' };
  if (sig.startsWith('\x7fELF')) {
    // e_type (little-endian u16 at 16): 4 is ET_CORE; vmlinux and modules are ET_EXEC/ET_REL.
    const type = bytes.length >= 18 ? bytes.readUInt16LE(16) : 0;
    if (type === 4) return { ...base, kind: 'vmcore', detail: 'ELF core dump' };
    throw new LabError(
      'BAD_REQUEST',
      `${name} is an ELF ${type === 2 ? 'executable (a vmlinux?)' : type === 1 ? 'object (a module?)' : 'file'}, not a vmcore.`,
      'A vmcore is the dump written by makedumpfile or QEMU dump-guest-memory; vmlinux is what goes with it.',
    );
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b)
    return { ...base, kind: 'pack', detail: 'gzip archive (a lab pack is checked on import)' };
  if (bytes.includes(0))
    throw new LabError(
      'BAD_REQUEST',
      `${name} is a binary file kdlab does not open (not a vmcore, a lab pack, a .config, a report or a log).`,
      'Drop a vmcore, a kernel .config, a .kdlab-pack, a .kdlab-report or a console log.',
    );
  const text = bytes.toString('utf8');
  if (/^\s*\{/.test(text)) {
    if (info.size > 16 * 1024 * 1024)
      throw new LabError('BAD_REQUEST', `${name} is a ${info.size}-byte JSON file: too big for a report.`);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      json = null;
    }
    const report = progressReportSchema.safeParse(json);
    if (report.success)
      return {
        ...base,
        kind: 'report',
        detail: `progress report of ${report.data.recipeId}, ${report.data.steps.length} steps`,
      };
    throw new LabError(
      'BAD_REQUEST',
      `${name} is JSON but not a recipe progress report (no recipeId, steps and artifacts).`,
      expected.report.hint,
    );
  }
  const lines = text
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.trim() !== '');
  const options = lines.filter((l) => kconfigLine.test(l)).length;
  const comments = lines.filter((l) => l.startsWith('#') && !kconfigLine.test(l)).length;
  // A .config is nothing but options and comments; a log that quotes one CONFIG_ line is still a log.
  if (options > 0 && options + comments === lines.length)
    return { ...base, kind: 'config', detail: `kernel config, ${options}+ options` };
  return { ...base, kind: 'log', detail: 'text (a console log)' };
}

/** identifyFile, insisting on one kind: anything else is a BAD_REQUEST naming both. */
export async function requireKind(path: string, kind: InboxKind): Promise<FileIdentity> {
  let identity: FileIdentity;
  try {
    identity = await identifyFile(path);
  } catch (error) {
    if (error instanceof LabError && error.code === 'BAD_REQUEST')
      throw new LabError(
        'BAD_REQUEST',
        `${error.message} Expected ${expected[kind].what}.`,
        expected[kind].hint,
      );
    throw error;
  }
  if (identity.kind !== kind)
    throw new LabError(
      'BAD_REQUEST',
      `${identity.name} is ${identity.detail}, not ${expected[kind].what}.`,
      expected[kind].hint,
    );
  return identity;
}
