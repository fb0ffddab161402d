// The pure parts of the lab images: the manifest, the context hash, and the progress read from
// real debootstrap and docker build output (test/fixtures/docker/, captured on this machine).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DebootstrapProgress, mirrorFromAptSources } from '../../electron/lab/docker/base-image';
import { JsonLineSplitter } from '../../electron/lab/docker/json-stream';
import {
  BuildProgress,
  contextFiles,
  dockerfileInstructions,
  contextHash,
  findLabImage,
  readLabImageManifest,
} from '../../electron/lab/docker/lab-images';
import { rejection } from '../helpers/lab-error';

const fixtures = new URL('../fixtures/docker/', import.meta.url).pathname;
const labImages = new URL('../../lab-images/', import.meta.url).pathname;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kdlab-lab-images-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the lab image manifest', () => {
  it('lists the toolchain image with its context and a public default base', async () => {
    const manifest = await readLabImageManifest(labImages);
    const toolchain = manifest.images.find((i) => i.name === 'toolchain');
    expect(toolchain).toMatchObject({ context: 'toolchain', defaultBase: 'debian:bookworm-slim' });
    expect(toolchain?.localBase?.suite).toBe('bookworm');
    // The Dockerfile's ARG default is the manifest's defaultBase.
    const dockerfile = readFileSync(join(labImages, 'toolchain', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ARG BASE=${toolchain?.defaultBase}`);
    expect(dockerfile).toMatch(/^FROM \$\{BASE\}$/m);
  });

  it('the toolchain Dockerfile installs every tool the lab runs', () => {
    const dockerfile = readFileSync(join(labImages, 'toolchain', 'Dockerfile'), 'utf8');
    for (const pkg of [
      'gcc',
      'make',
      'flex',
      'bison',
      'bc',
      'libelf-dev',
      'libssl-dev',
      'dwarves',
      'cpio',
      'busybox-static',
      'kexec-tools',
      'makedumpfile',
      'qemu-system-x86',
      'gdb',
      'crash',
      'e2fsprogs',
      'socat',
    ])
      expect(dockerfile).toMatch(new RegExp(`\\s${pkg.replace(/[-]/g, '\\-')}(\\s|\\\\)`));
    expect(dockerfile).toContain('--no-install-recommends');
    expect(dockerfile).toContain('rm -rf /var/lib/apt/lists/*');
  });

  it('refuses a manifest that does not validate, and an unknown image name', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'manifest.json'),
      JSON.stringify({ images: [{ name: 'Tool Chain', context: '../x', description: '', defaultBase: '' }] }),
    );
    const error = await rejection(readLabImageManifest(bad));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/images\.0\.name/);
    expect(error.message).toMatch(/images\.0\.context/);
    // The description is shown in the interface's language, so both are required.
    expect(error.message).toMatch(/images\.0\.description/);
    const unknown = await rejection(findLabImage('nope', labImages));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.hint).toContain('toolchain');
    expect((await rejection(readLabImageManifest(join(dir, 'absent')))).code).toBe('NOT_FOUND');
  });
});

describe('the context hash', () => {
  it('changes with a file, its executable bit, a new file and the base image — and only then', async () => {
    const ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'scripts'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY scripts /s\n');
    writeFileSync(join(ctx, 'scripts', 'a.sh'), 'echo a\n');
    const files = await contextFiles(ctx);
    expect(files).toEqual(['Dockerfile', 'scripts/a.sh']);
    const h0 = await contextHash(ctx, files, 'sha256:base1');
    expect(h0).toMatch(/^[0-9a-f]{64}$/);
    expect(await contextHash(ctx, files, 'sha256:base1')).toBe(h0);
    expect(await contextHash(ctx, files, 'sha256:base2')).not.toBe(h0);
    chmodSync(join(ctx, 'scripts', 'a.sh'), 0o755);
    const h1 = await contextHash(ctx, files, 'sha256:base1');
    expect(h1).not.toBe(h0);
    writeFileSync(join(ctx, 'scripts', 'a.sh'), 'echo b\n');
    const h2 = await contextHash(ctx, files, 'sha256:base1');
    expect(h2).not.toBe(h1);
    writeFileSync(join(ctx, 'scripts', 'b.sh'), '');
    const more = await contextFiles(ctx);
    expect(await contextHash(ctx, more, 'sha256:base1')).not.toBe(h2);
  });

  it('refuses a context without a Dockerfile, and symlinks (they would not hash what is sent)', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'x'), '');
    expect((await rejection(contextFiles(empty))).message).toMatch(/has no Dockerfile/);
    writeFileSync(join(empty, 'Dockerfile'), 'FROM scratch\n');
    symlinkSync('/etc/passwd', join(empty, 'link'));
    expect((await rejection(contextFiles(empty))).code).toBe('BAD_REQUEST');
  });
});

describe('progress from real output', () => {
  it('debootstrap: rises monotonically through download, extract, unpack, configure to installed', () => {
    const log = readFileSync(join(fixtures, 'debootstrap-bookworm-minbase.log'), 'utf8');
    const tracker = new DebootstrapProgress();
    const seen = log.split('\n').flatMap((line) => tracker.line(line) ?? []);
    const fractions = seen.map((s) => s.fraction);
    expect(fractions.length).toBeGreaterThan(200);
    for (let i = 1; i < fractions.length; i++)
      expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] ?? 0);
    expect(seen.find((s) => s.message === 'Downloading adduser')).toBeTruthy();
    expect(seen.some((s) => s.message.startsWith('Configuring '))).toBe(true);
    expect(seen.at(-1)?.message).toBe('Base system installed');
    expect(seen.at(-1)?.fraction).toBeCloseTo(0.95, 5);
    // The last download (90 packages in a minbase bookworm) ends the download phase near 50 %.
    const downloads = seen.filter((s) => s.message.startsWith('Downloading '));
    expect(downloads.at(-1)?.fraction).toBeCloseTo(0.5, 1);
  });

  it('docker build: weighted steps, apt counts inside the RUN step, the image id', () => {
    const log = readFileSync(join(fixtures, 'build-toolchain.log'), 'utf8');
    const dockerfile = readFileSync(join(fixtures, 'build-toolchain.Dockerfile'), 'utf8');
    expect(dockerfileInstructions(dockerfile).map((i) => i.split(' ')[0])).toEqual([
      'ARG',
      'FROM',
      'ARG',
      'RUN',
      'LABEL',
      'CMD',
    ]);
    const tracker = new BuildProgress(dockerfile);
    const updates: { fraction: number; message: string }[] = [];
    // Fed in uneven chunks that split lines, as the stream may arrive.
    for (let i = 0; i < log.length; i += 777) {
      const update = tracker.push(log.slice(i, i + 777));
      if (update) updates.push(update);
    }
    expect(tracker.total).toBe(6);
    expect(tracker.imageId).toBe('110a21669281');
    const fractions = updates.map((u) => u.fraction);
    for (let i = 1; i < fractions.length; i++)
      expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] ?? 0);
    // The RUN step (weight 20 of 26) is where the time goes: it starts near 15 % and ends near 92 %.
    const run = updates.find((u) => u.message.startsWith('Step 4/6 : RUN apt-get'));
    expect(run?.fraction).toBeCloseTo(4 / 26, 3);
    // Line by line, every apt count is seen: 159 downloaded, unpacked and set up.
    const byLine = new BuildProgress(dockerfile);
    const messages = log.split(/(?<=\n)/).flatMap((line) => byLine.push(line)?.message ?? []);
    expect(messages).toContain('Step 4/6: apt packages 80/159 downloaded');
    expect(messages).toContain('Step 4/6: apt packages 159/159 unpacked');
    expect(messages).toContain('Step 4/6: apt packages 159/159 set up');
    expect(messages.filter((m) => m.startsWith('Step 4/6: apt')).length).toBe(1 + 3 * 159); // "159 newly installed", then each package thrice
    expect(updates.at(-1)).toEqual({ fraction: 25 / 26, message: 'Step 6/6 : CMD ["/bin/bash"]' });

    const failing = new BuildProgress();
    failing.push(
      'Step 1/3 : FROM kdlab/debian-base:bookworm\n ---> 6ee4bc5f8cd2\nStep 2/3 : RUN echo about to fail && exit 3\n',
    );
    failing.push(' ---> Running in 1234\nabout to fail\n');
    expect(failing.stepLine).toBe('Step 2/3 : RUN echo about to fail && exit 3');
    expect(failing.tail()).toContain('about to fail');
  });

  it('splits the engine JSON stream across chunk boundaries and keeps non-JSON lines', () => {
    const splitter = new JsonLineSplitter();
    const text =
      '{"stream":"Step 1/2 : FROM x\\n"}\r\n{"aux":{"ID":"sha256:ab"}}\n{"status":"hé"}\nplain text\n{"error":"boom","errorDetail":{"message":"boom"}}';
    const bytes = new TextEncoder().encode(text);
    const messages = [];
    for (let i = 0; i < bytes.length; i += 5) messages.push(...splitter.push(bytes.slice(i, i + 5)));
    messages.push(...splitter.finish());
    expect(messages).toEqual([
      { stream: 'Step 1/2 : FROM x\n' },
      { aux: { ID: 'sha256:ab' } },
      { status: 'hé' },
      { stream: 'plain text\n' },
      { error: 'boom', errorDetail: { message: 'boom' } },
    ]);
  });
});

describe('the Debian mirror from apt sources', () => {
  it('reads deb822 (Debian 12) and one-line sources, skipping security archives and other suites', () => {
    const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;
    expect(mirrorFromAptSources([deb822], 'bookworm')).toBe('http://deb.debian.org/debian');
    expect(mirrorFromAptSources([deb822], 'trixie')).toBeNull();
    const oneLine = `# a comment
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian/ bookworm main contrib
`;
    expect(mirrorFromAptSources([oneLine], 'bookworm')).toBe('http://mirror.example.org/debian');
    expect(mirrorFromAptSources(['deb-src http://x/debian bookworm main\n'], 'bookworm')).toBeNull();
  });
});
