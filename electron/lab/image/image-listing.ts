// What is inside an image, read from the packed file itself (not from what the builder meant to
// put there): the initramfs's cpio "newc" archive gives every entry with its mode, size, symlink
// target and device numbers, and /init's text; the pre-boot checks run again on it. Images packed
// earlier are found through the cache manifests, so the Images view has them on start.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LabError } from '../../common/errors';
import type { ImageEntryInfo, ImageSummary, PackedImage } from '../../common/types';
import type { Workspace } from '../workspace';
import { checkImage } from './image-checks';
import type { ImageEntry } from './image-checks';

export interface CpioEntry extends ImageEntryInfo {
  /** A regular file's bytes (a view into the archive). */
  content?: Uint8Array;
}

const fileTypes: Record<number, ImageEntryInfo['type']> = {
  0o040000: 'dir',
  0o100000: 'file',
  0o120000: 'symlink',
  0o020000: 'node',
  0o060000: 'node',
};

const align4 = (n: number) => (n + 3) & ~3;

/** Parses a cpio "newc" (070701/070702) archive, as gen_init_cpio writes it. Pure. */
export function parseCpioNewc(archive: Uint8Array): CpioEntry[] {
  const ascii = new TextDecoder('latin1');
  const utf8 = new TextDecoder();
  const entries: CpioEntry[] = [];
  let at = 0;
  while (at + 110 <= archive.length) {
    const header = ascii.decode(archive.subarray(at, at + 110));
    if (header.startsWith('\0')) break;
    if (header.slice(0, 6) !== '070701' && header.slice(0, 6) !== '070702')
      throw new LabError('BAD_REQUEST', `Not a newc cpio archive (bad magic at byte ${at}).`);
    const field = (i: number) => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const fileSize = field(6);
    const rdevMajor = field(9);
    const rdevMinor = field(10);
    const nameSize = field(11);
    const nameStart = at + 110;
    const rawName = utf8.decode(archive.subarray(nameStart, nameStart + nameSize - 1));
    const dataStart = align4(nameStart + nameSize);
    const data = archive.subarray(dataStart, dataStart + fileSize);
    at = align4(dataStart + fileSize);
    if (rawName === 'TRAILER!!!') break;
    const path = `/${rawName.replace(/^(\.\/|\/)+/, '')}`.replace(/\/$/, '') || '/';
    if (path === '/' || path === '/.') continue;
    const type = fileTypes[mode & 0o170000];
    if (!type) continue;
    const entry: CpioEntry = { path, type, mode: mode & 0o7777 };
    if (type === 'file') {
      entry.size = fileSize;
      entry.content = data;
      // gen_init_cpio stores a symlink's target with its terminating NUL.
    } else if (type === 'symlink') entry.target = utf8.decode(data).replace(/\0+$/, '');
    else if (type === 'node')
      entry.device = { kind: (mode & 0o170000) === 0o060000 ? 'b' : 'c', major: rdevMajor, minor: rdevMinor };
    entries.push(entry);
  }
  return entries.sort((a, b) => a.path.localeCompare(b.path));
}

/** The entries, /init and the pre-boot checks of a gzip-compressed newc initramfs. */
export async function readInitramfs(
  path: string,
): Promise<Pick<ImageSummary, 'entries' | 'init' | 'checks'>> {
  let archive: Uint8Array;
  try {
    const raw = await readFile(path);
    archive = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  } catch (error) {
    throw new LabError('IO', `Cannot read the image ${path}: ${String(error)}`);
  }
  const entries = parseCpioNewc(archive);
  const init = entries.find((e) => e.path === '/init');
  const checks = checkImage(entries.map((e): ImageEntry => e));
  return {
    init: init?.type === 'file' && init.content ? new TextDecoder().decode(init.content) : null,
    checks: checks.map((c) => ({ id: c.id, ok: c.ok, severity: c.severity, message: c.message })),
    entries: entries.map(({ content: _content, ...rest }) => rest),
  };
}

/** Every image packed in this workspace with a valid cache entry, newest first. */
export async function listPackedImages(workspace: Workspace): Promise<PackedImage[]> {
  const found: PackedImage[] = [];
  for (const kind of ['initramfs', 'rootfs'] as const) {
    const cache = workspace.cache(kind);
    const names = await readdir(cache.dir).catch(() => [] as string[]);
    // Staging folders and replaced entries are not images.
    for (const key of names.filter((n) => /^[\w-]+$/.test(n) && !n.startsWith('.'))) {
      const manifest = await cache.lookup(key);
      const output = manifest?.outputs[0];
      if (!manifest || !output) continue;
      const contentKey = kind === 'rootfs' ? manifest.inputs.initramfs : key;
      found.push({
        kind,
        key,
        path: join(cache.entryDir(key), output.path),
        size: output.size,
        createdAt: manifest.createdAt,
        contentKey: typeof contentKey === 'string' ? contentKey : null,
      });
    }
  }
  return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** A packed image with its contents (a rootfs shows the initramfs it was unpacked from). */
export async function describePackedImage(
  workspace: Workspace,
  kind: 'initramfs' | 'rootfs',
  key: string,
): Promise<ImageSummary> {
  const image = (await listPackedImages(workspace)).find((i) => i.kind === kind && i.key === key);
  if (!image) throw new LabError('NOT_FOUND', `No ${kind} image ${key} in this workspace.`, 'Pack it again.');
  if (!image.contentKey)
    throw new LabError('NOT_FOUND', `The ${kind} image ${key} does not say what it was made from.`);
  const content = workspace.cache('initramfs');
  const source = await content.lookup(image.contentKey);
  if (!source)
    throw new LabError(
      'NOT_FOUND',
      `The initramfs this rootfs was unpacked from (${image.contentKey}) is no longer in the cache.`,
      'Pack the rootfs again to see its contents.',
    );
  const listing = await readInitramfs(join(content.entryDir(image.contentKey), 'initramfs.cpio.gz'));
  return {
    kind,
    key,
    path: image.path,
    size: image.size,
    createdAt: image.createdAt,
    cacheHit: true,
    ...listing,
  };
}
