// What a dropped file is, from its bytes: vmcores (kdump, flattened, ELF core), kernel configs,
// lab packs, progress reports, console logs — and the errors for everything else.
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { identifyFile, inboxDir, pruneInbox, requireKind, safeUploadName } from '../../electron/lab/inbox';
import { makeTempDir } from '../helpers/temp';
import { rejection } from '../helpers/lab-error';

let dir: string;
const file = async (name: string, data: string | Buffer) => {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
};

function elfHeader(type: number): Buffer {
  const b = Buffer.alloc(4096);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b.writeUInt16LE(type, 16);
  return b;
}

const report = {
  recipeId: 'sysrq-kdump',
  startedAt: '2026-11-22T10:00:00Z',
  updatedAt: '2026-11-22T10:05:00Z',
  finished: true,
  steps: [{ id: 'build', status: 'passed', checks: [] }],
  artifacts: { kernel: 'abc123' },
  facts: {},
};

beforeAll(async () => {
  dir = await makeTempDir();
});

describe('identifyFile', () => {
  it('tells vmcores by their signature, whatever their name', async () => {
    const kdump = Buffer.alloc(8192);
    kdump.write('KDUMP   ', 0, 'latin1');
    expect(await identifyFile(await file('dump.txt', kdump))).toMatchObject({
      kind: 'vmcore',
      detail: 'kdump-compressed vmcore',
      size: 8192,
      name: 'dump.txt',
    });
    const flat = Buffer.alloc(8192);
    flat.write('makedumpfile', 0, 'latin1');
    expect((await identifyFile(await file('flat', flat))).detail).toBe('makedumpfile flattened vmcore');
    expect(await identifyFile(await file('core.elf', elfHeader(4)))).toMatchObject({
      kind: 'vmcore',
      detail: 'ELF core dump',
    });
  });

  it('refuses an ELF that is not a core (vmlinux, a module, /bin/ls) with what it is', async () => {
    const vmlinux = await rejection(identifyFile(await file('vmlinux', elfHeader(2))));
    expect(vmlinux.code).toBe('BAD_REQUEST');
    expect(vmlinux.message).toBe('vmlinux is an ELF executable (a vmlinux?), not a vmcore.');
    expect(vmlinux.hint).toMatch(/makedumpfile/);
    expect((await rejection(identifyFile(await file('m.ko', elfHeader(1))))).message).toMatch(
      /object \(a module\?\)/,
    );
    expect((await rejection(identifyFile('/bin/ls'))).message).toMatch(/^ls is an ELF file, not a vmcore/);
  });

  it('tells a kernel config from a log that quotes a CONFIG_ line', async () => {
    const config = await file(
      '.config',
      '#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_64BIT=y\nCONFIG_KGDB=y\n# CONFIG_SMP is not set\n',
    );
    expect(await identifyFile(config)).toMatchObject({ kind: 'config', name: '.config' });
    const log = await file('boot.log', '[    0.000000] Linux version 6.1.0\nCONFIG_KGDB=y was asked for\n');
    expect((await identifyFile(log)).kind).toBe('log');
    expect(
      (await identifyFile(join(__dirname, '../fixtures/panic-logs/seed000-init-segfault-libmbase.log'))).kind,
    ).toBe('log');
  });

  it('tells lab packs (gzip) and progress reports (validated JSON); other JSON is refused', async () => {
    expect((await identifyFile(await file('x.kdlab-pack', gzipSync('tar')))).kind).toBe('pack');
    expect(await identifyFile(await file('s.kdlab-report', JSON.stringify(report)))).toMatchObject({
      kind: 'report',
      detail: 'progress report of sysrq-kdump, 1 steps',
    });
    const other = await rejection(identifyFile(await file('package.json', '{"name":"x"}')));
    expect(other.message).toMatch(/JSON but not a recipe progress report/);
    expect(other.hint).toMatch(/\.kdlab-report/);
  });

  it('refuses other binary files and missing paths', async () => {
    const bin = await rejection(identifyFile(await file('blob.bin', Buffer.from([1, 2, 0, 3, 4]))));
    expect(bin.message).toMatch(/binary file kdlab does not open/);
    expect((await rejection(identifyFile(join(dir, 'nope')))).code).toBe('NOT_FOUND');
  });
});

describe('requireKind', () => {
  it('names what the file is and what was expected, with a hint', async () => {
    const config = await file('k.config', 'CONFIG_KGDB=y\n');
    const error = await rejection(requireKind(config, 'vmcore'));
    expect(error.message).toMatch(/^k\.config is kernel config, 1\+ options, not a vmcore/);
    expect(error.hint).toMatch(/makedumpfile or QEMU dump-guest-memory/);
    const notConfig = await rejection(requireKind(await file('v', elfHeader(2)), 'config'));
    expect(notConfig.message).toMatch(/not a vmcore\. Expected a kernel config/);
    expect(notConfig.hint).toMatch(/CONFIG_KGDB=y/);
    expect((await requireKind(config, 'config')).kind).toBe('config');
  });
});

describe('safeUploadName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\vmcore', 'vmcore'],
    ['.config', 'config'],
    ['my dump (1).elf', 'my_dump__1_.elf'],
    ['', 'upload'],
    ['..', 'upload'],
  ])('%j → %j', (name, safe) => expect(safeUploadName(name)).toBe(safe));
});

describe('pruneInbox', () => {
  it('removes uploads older than a day and partial uploads older than an hour, keeps the rest', async () => {
    const root = await makeTempDir();
    const inbox = inboxDir({ root });
    await mkdir(join(inbox, 'a-folder'), { recursive: true });
    const now = Date.now();
    const aged = async (name: string, ageMs: number) => {
      const path = join(inbox, name);
      await writeFile(path, 'x');
      const t = new Date(now - ageMs);
      await utimes(path, t, t);
    };
    const hour = 60 * 60 * 1000;
    await aged('0badc0de-yesterday.log', 25 * hour);
    await aged('0badc0de-today.config', 23 * hour);
    await aged('.upload-1.partial', 2 * hour);
    await aged('.upload-2.partial', hour / 2);
    const removed = await pruneInbox({ root }, 24 * hour, now);
    expect(removed.sort()).toEqual(['.upload-1.partial', '0badc0de-yesterday.log']);
    expect((await readdir(inbox)).sort()).toEqual(['.upload-2.partial', '0badc0de-today.config', 'a-folder']);
    // A workspace that never had an upload has no inbox: nothing to do, no error.
    expect(await pruneInbox({ root: await makeTempDir() })).toEqual([]);
  });
});
