// The lab images for real, on the local Docker engine: the Debian base made offline with debootstrap
// (reused by tag, so reruns are fast), the toolchain image built on it (reused by its context hash),
// the tools run inside it, and the failures — a broken Dockerfile, no base at all, a cancelled build
// or debootstrap — each leaving no kdlab tag and a clear error.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseImageRef, ensureDebianBase, inspectImage } from '../../electron/lab/docker/base-image';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import {
  contextFiles,
  contextHash,
  ensureLabImage,
  listKdlabImages,
} from '../../electron/lab/docker/lab-images';
import type { Progress, ProgressUpdate } from '../../electron/lab/jobs';
import { runCommand } from '../../electron/lab/process';
import { rejection } from '../helpers/lab-error';

const labImages = new URL('../../lab-images/', import.meta.url).pathname;
const minutes = (n: number) => n * 60_000;
let engine: DockerEngine;
let dir: string;
let tmpRoot: string;

function recorder(
  onReport?: (u: ProgressUpdate) => void,
): Progress & { updates: ProgressUpdate[]; text: () => string } {
  const updates: ProgressUpdate[] = [];
  const logs: string[] = [];
  return {
    updates,
    text: () => logs.join(''),
    report(update) {
      updates.push(update);
      onReport?.(update);
    },
    log(text) {
      logs.push(text);
    },
  };
}

const never = new AbortController().signal;

/** A lab-images folder with one image whose Dockerfile is given. */
function labImagesWith(
  name: string,
  dockerfile: string,
  extra: Partial<{ defaultBase: string; suite: string }> = {},
): string {
  const root = mkdtempSync(join(dir, `${name}-`));
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'Dockerfile'), dockerfile);
  writeFileSync(
    join(root, 'manifest.json'),
    JSON.stringify({
      images: [
        {
          name,
          context: name,
          description: { en: 'test image', 'zh-CN': '测试镜像' },
          defaultBase: extra.defaultBase ?? 'debian:bookworm-slim',
          localBase: { suite: extra.suite ?? 'bookworm' },
        },
      ],
    }),
  );
  return root;
}

beforeAll(async () => {
  engine = await openDockerEngine({ env: {} });
  dir = mkdtempSync(join(tmpdir(), 'kdlab-docker-images-'));
  tmpRoot = join(dir, 'tmp');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Debian base, made offline', () => {
  it(
    'debootstrap + docker import makes kdlab/debian-base:bookworm (or finds it), labelled, and apt works in it',
    async () => {
      const progress = recorder();
      const made = await ensureDebianBase(engine, { tmpDir: tmpRoot }, progress, never);
      expect(made.ref).toBe(baseImageRef('bookworm'));
      expect(made.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(made.sizeBytes).toBeGreaterThan(50e6);
      const info = await inspectImage(engine, made.ref);
      expect(info?.labels[kdlabLabel]).toBe('true');
      expect(info?.labels['io.kdlab.suite']).toBe('bookworm');
      // The temporary root is gone, made or reused.
      expect(existsSync(tmpRoot) ? readdirSync(tmpRoot) : []).toEqual([]);
      const apt = await runCommand([
        'docker',
        'run',
        '--rm',
        made.ref,
        'sh',
        '-c',
        'grep -h ^deb /etc/apt/sources.list; dpkg -s apt | grep ^Status',
      ]);
      expect(apt.exitCode).toBe(0);
      expect(apt.stdout).toMatch(/^deb http\S+ bookworm main$/m);
      expect(apt.stdout).toContain('install ok installed');

      const again = await ensureDebianBase(engine, { tmpDir: tmpRoot }, recorder(), never);
      expect(again).toMatchObject({ ref: made.ref, imageId: made.imageId, reused: true });
    },
    minutes(15),
  );

  it(
    'a cancelled debootstrap (--force) stops, removes its tree and leaves the existing base as it was',
    async () => {
      const before = await inspectImage(engine, baseImageRef('bookworm'));
      expect(before).not.toBeNull();
      const controller = new AbortController();
      const progress = recorder((u) => {
        if (u.message?.startsWith('Downloading ')) controller.abort();
      });
      const error = await rejection(
        ensureDebianBase(engine, { tmpDir: tmpRoot, force: true }, progress, controller.signal),
      );
      expect(error.code).toBe('CANCELLED');
      expect(readdirSync(tmpRoot)).toEqual([]);
      const mounts = await readFile('/proc/self/mountinfo', 'utf8');
      expect(mounts).not.toContain(tmpRoot);
      expect((await inspectImage(engine, baseImageRef('bookworm')))?.id).toBe(before?.id);
    },
    minutes(5),
  );

  it('refuses a mirror that is not a URL before running anything', async () => {
    const error = await rejection(
      ensureDebianBase(engine, { tmpDir: tmpRoot, mirror: 'deb.debian.org', force: true }, recorder(), never),
    );
    expect(error.code).toBe('BAD_REQUEST');
  });
});

describe('the toolchain image', () => {
  it(
    'is built on the local base (no registry), tagged by its context hash and latest, and reused',
    async () => {
      const progress = recorder();
      const first = await ensureLabImage(engine, 'toolchain', progress, never, {
        labImagesDir: labImages,
        makeBase: { tmpDir: tmpRoot },
      });
      const base = await inspectImage(engine, first.base);
      const files = await contextFiles(join(labImages, 'toolchain'));
      const hash = (await contextHash(join(labImages, 'toolchain'), files, base?.id ?? '')).slice(0, 12);
      expect(first.ref).toBe(`kdlab/toolchain:${hash}`);
      expect((await inspectImage(engine, 'kdlab/toolchain:latest'))?.id).toBe(first.imageId);
      const info = await inspectImage(engine, first.ref);
      expect(info?.labels).toMatchObject({
        [kdlabLabel]: 'true',
        'io.kdlab.image': 'toolchain',
        'io.kdlab.context-hash': hash,
      });
      if (!first.cacheHit) {
        // A real build reported its Dockerfile steps.
        expect(progress.updates.some((u) => /^Step \d+\/\d+ : RUN apt-get/.test(u.message ?? ''))).toBe(true);
        expect(progress.text()).toContain('Setting up gdb');
      }

      const second = await ensureLabImage(engine, 'toolchain', recorder(), never, {
        labImagesDir: labImages,
      });
      expect(second).toMatchObject({ ref: first.ref, imageId: first.imageId, cacheHit: true });
      expect((await listKdlabImages(engine)).some((i) => i.tags.includes(first.ref))).toBe(true);
    },
    minutes(30),
  );

  it(
    'runs the lab tools: gcc, make, QEMU, gdb with Python, crash, makedumpfile, kexec, busybox, mkfs.ext4, pahole',
    async () => {
      const script = [
        'gcc --version | head -n 1',
        'make --version | head -n 1',
        'qemu-system-x86_64 --version | head -n 1',
        'crash --version | grep -m1 crash',
        'gdb -batch -ex "python print(\\"py-ok\\")"',
        'makedumpfile -v | head -n 1',
        'kexec --version',
        'busybox | head -n 1',
        'mkfs.ext4 -V 2>&1 | head -n 1',
        'pahole --version',
        'flex --version; bison --version | head -n 1; echo 1+1 | bc',
      ].join(' && ');
      const result = await runCommand([
        'docker',
        'run',
        '--rm',
        '--label',
        `${kdlabLabel}=true`,
        'kdlab/toolchain:latest',
        'sh',
        '-c',
        script,
      ]);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      for (const expected of [
        'gcc (Debian 12',
        'GNU Make',
        'QEMU emulator version 7',
        'crash 8',
        'py-ok',
        'makedumpfile: version',
        'kexec-tools',
        'BusyBox v1',
        'mke2fs 1.47',
        'v1.24',
        'flex',
        'bison',
        '\n2\n',
      ])
        expect(result.stdout).toContain(expected);
    },
    minutes(2),
  );

  it(
    'a broken Dockerfile: IO naming the failing step and its last output, nothing tagged',
    async () => {
      const root = labImagesWith(
        'kdlab-test-broken',
        `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo preparing\nRUN echo about to fail: $((6*7)) && exit 3\nRUN echo never\n`,
      );
      const error = await rejection(
        ensureLabImage(engine, 'kdlab-test-broken', recorder(), never, { labImagesDir: root }),
      );
      expect(error.code).toBe('IO');
      // Step N/M counts kdlab's LABEL steps too, as docker reports it.
      expect(error.message).toContain('failed at Step 4/');
      expect(error.message).toContain(' : RUN echo about to fail: $((6*7)) && exit 3');
      expect(error.message).toMatch(/returned a non-zero code: 3/);
      expect(error.message).toContain('about to fail: 42');
      expect(error.hint).toMatch(/Fix the Dockerfile step/);
      const tags = (await listKdlabImages(engine)).flatMap((i) => i.tags);
      expect(tags.filter((t) => t.startsWith('kdlab/kdlab-test-broken:'))).toEqual([]);
    },
    minutes(5),
  );

  it('no public base and no local base: NOT_FOUND saying how to make one', async () => {
    const root = labImagesWith('kdlab-test-nobase', 'ARG BASE\nFROM ${BASE}\n', {
      defaultBase: 'kdlab-test/absent:1',
      suite: 'kdlabnosuch',
    });
    const error = await rejection(
      ensureLabImage(engine, 'kdlab-test-nobase', recorder(), never, { labImagesDir: root }),
    );
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(
      'no base to build it from: neither kdlab-test/absent:1 nor kdlab/debian-base:kdlabnosuch',
    );
    expect(error.hint).toContain('kdlab images base --debootstrap');
    const explicit = await rejection(
      ensureLabImage(engine, 'kdlab-test-nobase', recorder(), never, {
        labImagesDir: root,
        base: 'kdlab-test/absent:2',
      }),
    );
    expect(explicit.code).toBe('NOT_FOUND');
  });

  it(
    'a build cancelled mid-step stops, tags nothing, and its build container goes away',
    async () => {
      const marker = `kdlab-cancel-${process.pid}-${Date.now()}`;
      const root = labImagesWith(
        'kdlab-test-cancel',
        `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo ${marker}-$((40+2)) && sleep 120\n`,
      );
      const controller = new AbortController();
      const progress = recorder();
      const building = ensureLabImage(engine, 'kdlab-test-cancel', progress, controller.signal, {
        labImagesDir: root,
      });
      // Cancel once the RUN step's container is running (it printed the computed marker).
      const running = `${marker}-42`;
      for (let i = 0; i < 1800 && !progress.text().includes(running); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(progress.text()).toContain(running);
      controller.abort();
      const error = await rejection(building);
      expect(error.code).toBe('CANCELLED');
      expect(error.message).toMatch(/nothing was tagged/);
      const tags = (await listKdlabImages(engine)).flatMap((i) => i.tags);
      expect(tags.filter((t) => t.startsWith('kdlab/kdlab-test-cancel:'))).toEqual([]);
      // The daemon stops the step when the client goes; wait until no container runs our sleep.
      let left = ['?'];
      for (let i = 0; i < 60 && left.length > 0; i++) {
        const containers = await engine.docker.listContainers({ all: true });
        left = containers
          .filter((c) => c.Command.includes(marker))
          .map((c) => `${c.Id.slice(0, 12)} ${c.State}`);
        if (left.length > 0) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(left).toEqual([]);
    },
    minutes(5),
  );
  it(
    'a build container killed mid-step: IO naming the step (exit 137), nothing tagged, and the next build works',
    async () => {
      const marker = `kdlab-kill-${process.pid}-${Date.now()}`;
      const root = labImagesWith(
        'kdlab-test-killed',
        `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo ${marker}-$((40+2)) && sleep 120\n`,
      );
      const progress = recorder();
      const building = ensureLabImage(engine, 'kdlab-test-killed', progress, never, { labImagesDir: root });
      // Kill once the RUN step's container runs (it printed the computed marker and the engine lists
      // it); on a loaded CI machine that can take a while, so wait for both, up to three minutes.
      const running = `${marker}-42`;
      let victims: Awaited<ReturnType<typeof engine.docker.listContainers>> = [];
      for (let i = 0; i < 1800 && victims.length === 0; i++) {
        if (progress.text().includes(running))
          victims = (await engine.docker.listContainers()).filter((c) => c.Command.includes(marker));
        if (victims.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(progress.text()).toContain(running);
      expect(victims).toHaveLength(1);
      await engine.docker.getContainer(victims[0]?.Id ?? '').kill();
      const error = await rejection(building);
      expect(error.code).toBe('IO');
      expect(error.message).toMatch(/failed at Step 3\/\d+ : RUN echo kdlab-kill-/);
      expect(error.message).toMatch(/returned a non-zero code: 137/);
      const tags = (await listKdlabImages(engine)).flatMap((i) => i.tags);
      expect(tags.filter((t) => t.startsWith('kdlab/kdlab-test-killed:'))).toEqual([]);
      // The engine's layer cache is consistent: the same context without the sleep builds and tags.
      writeFileSync(
        join(root, 'kdlab-test-killed', 'Dockerfile'),
        `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo ${marker}\n`,
      );
      const built = await ensureLabImage(engine, 'kdlab-test-killed', recorder(), never, {
        labImagesDir: root,
      });
      expect(built.cacheHit).toBe(false);
      await engine.docker.getImage(built.ref).remove();
      await engine.docker.getImage('kdlab/kdlab-test-killed:latest').remove();
    },
    minutes(5),
  );
});
