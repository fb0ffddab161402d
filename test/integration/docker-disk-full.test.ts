// A disk that really fills up during kdlab's Docker work (issue 7). A private dockerd of its own
// (the shared one is never touched) keeps its data on a 256 MiB tmpfs; the workspace is a 16 MiB
// tmpfs. Through kdlab's own code: a lab image whose RUN step writes more than the data root holds,
// one whose layer fits in the container but not once more when the daemon commits it, and Docker
// executor steps that fill the workspace or the container's own files. Each must fail as IO saying
// the disk is full and which one, with what to free — and leave no kdlab tag, no container, no
// cache entry or staging folder, the user's files and an earlier cache entry as they were, and the
// space given back.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabError } from '../../electron/common/errors';
import { baseImageRef, ensureDebianBase } from '../../electron/lab/docker/base-image';
import { openDockerEngine } from '../../electron/lab/docker/engine';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { ensureLabImage, listKdlabImages } from '../../electron/lab/docker/lab-images';
import { DockerExecutor } from '../../electron/lab/exec/docker-executor';
import type { Progress } from '../../electron/lab/jobs';
import { Workspace, writeJsonAtomic } from '../../electron/lab/workspace';
import { importBusybox } from '../helpers/docker-test-image';
import { startPrivateDockerd } from '../helpers/private-dockerd';
import type { PrivateDockerd } from '../helpers/private-dockerd';
import { rejection } from '../helpers/lab-error';

const dataMiB = 256;
const workspaceMiB = 16;
const busybox = 'kdlab-test/busybox:1';
const never = new AbortController().signal;

let daemon: PrivateDockerd;
let engine: DockerEngine;
let scratch: string;

function recorder(): Progress & { text: () => string } {
  const logs: string[] = [];
  return { text: () => logs.join(''), report: () => undefined, log: (t) => void logs.push(t) };
}

/** Free bytes over size of the filesystem holding `path`. */
async function freeShare(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail / s.blocks;
}

/** A lab-images folder with one image whose Dockerfile is given. */
function labImagesWith(name: string, dockerfile: string): string {
  const root = join(scratch, `lab-images-${name}`);
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'Dockerfile'), dockerfile);
  writeFileSync(
    join(root, 'manifest.json'),
    JSON.stringify({
      images: [
        {
          name,
          context: name,
          description: { en: 'disk-full test', 'zh-CN': '磁盘满测试' },
          defaultBase: busybox,
        },
      ],
    }),
  );
  return root;
}

/**
 * No container left on the engine. The executor's AutoRemove can still be under way when run()
 * returns (its own remove then gets "already in progress"): give the daemon a moment.
 */
async function expectNoContainers(): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if ((await engine.docker.listContainers({ all: true })).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await engine.docker.listContainers({ all: true })).toEqual([]);
}

/** Nothing of a failed build may stay: no container (running or not) and no image beyond busybox. */
async function expectEngineClean(): Promise<void> {
  await expectNoContainers();
  const images = await engine.docker.listImages({ all: true });
  expect(images.flatMap((i) => i.RepoTags ?? [])).toEqual([busybox]);
  expect((await listKdlabImages(engine)).flatMap((i) => i.tags)).toEqual([]);
  // The space the failed step used is back: no layer or container holds it.
  expect(await freeShare(daemon.dataRoot)).toBeGreaterThan(0.95);
}

function expectDataRootFull(error: LabError): void {
  expect(error.code).toBe('IO');
  expect(error.message).toMatch(/the disk is full — no space left on device/);
  // Where: this engine's data root (not the default /var/lib/docker), and the engine.
  expect(error.message).toContain(`data folder ${daemon.dataRoot} (${daemon.host})`);
  expect(error.message).not.toContain('/var/lib/docker');
  // What to free, typed against this engine.
  expect(error.hint).toContain(`with DOCKER_HOST=${daemon.host}: docker builder prune -f`);
  expect(error.hint).toContain(`df -h ${daemon.dataRoot}`);
  expect(error.hint).toContain('kdlab images list');
}

beforeAll(async () => {
  daemon = await startPrivateDockerd({ dataMiB });
  scratch = join(daemon.dir, 'scratch');
  mkdirSync(scratch);
  engine = await openDockerEngine({ host: daemon.host, env: {} });
  await importBusybox(daemon.host, busybox, scratch);
  // The engine really keeps its data on the small tmpfs.
  const info = (await engine.docker.info()) as { DockerRootDir: string; Driver: string };
  expect(info.DockerRootDir).toBe(daemon.dataRoot);
  expect(await freeShare(daemon.dataRoot)).toBeGreaterThan(0.95);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  // Ours only: the private daemon and its mounts are gone.
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  if (daemon) expect(mounts).not.toContain(daemon.dir);
}, 60_000);

describe('building a lab image on a full disk', () => {
  it('a RUN step that writes more than the data root holds: IO naming the data root and the step; nothing tagged, the space back', async () => {
    const labImagesDir = labImagesWith(
      'fill',
      `ARG BASE\nFROM $BASE\nRUN dd if=/dev/zero of=/big bs=1M count=${dataMiB + 64}\n`,
    );
    const progress = recorder();
    const error = await rejection(
      ensureLabImage(engine, 'fill', progress, never, { labImagesDir, base: busybox }),
    );
    expectDataRootFull(error);
    expect(error.message).toMatch(/^Building kdlab\/fill:[0-9a-f]{12} failed at Step 3\/\d+ : RUN dd /);
    // The tool's own words, not only "returned a non-zero code".
    expect(error.message).toMatch(/\(dd: error writing '\/big': No space left on device\)\.$/);
    expect(progress.text()).toMatch(/No space left on device/);
    await expectEngineClean();
  });

  it('a layer that fits in the container but not again when the daemon commits it: the daemon’s ENOSPC, same answer', async () => {
    const labImagesDir = labImagesWith(
      'commit',
      `ARG BASE\nFROM $BASE\nRUN dd if=/dev/zero of=/big bs=1M count=${Math.round(dataMiB * 0.6)}\n`,
    );
    const progress = recorder();
    const error = await rejection(
      ensureLabImage(engine, 'commit', progress, never, { labImagesDir, base: busybox }),
    );
    expectDataRootFull(error);
    // The step itself succeeded: the failure is the daemon's, writing the layer.
    expect(progress.text()).toMatch(/records out/);
    expect(progress.text()).not.toMatch(/error writing/);
    expect(error.message).toMatch(/\(.*write \/big: no space left on device\)\.$/);
    await expectEngineClean();

    // The engine is fine afterwards: a small image builds and is tagged.
    const smallDir = labImagesWith('small', 'ARG BASE\nFROM $BASE\nRUN echo ok > /ok\n');
    const built = await ensureLabImage(engine, 'small', recorder(), never, {
      labImagesDir: smallDir,
      base: busybox,
    });
    expect(built.cacheHit).toBe(false);
    expect((await listKdlabImages(engine)).flatMap((i) => i.tags)).toContain(built.ref);
    await engine.docker.getImage(built.ref).remove();
    await engine.docker.getImage('kdlab/small:latest').remove();
  });
});

describe('making the Debian base on a full disk', () => {
  it('debootstrap into a temp folder that fills up: IO naming that folder; it is left empty and no base is tagged', async () => {
    // Fills during the package index download: a few seconds, needs the Debian mirror as the base does.
    const tmpDir = await daemon.smallDisk('base-tmp', 8);
    const error = await rejection(ensureDebianBase(engine, { tmpDir }, recorder(), never));
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(
      /^debootstrap bookworm failed: the disk is full — no space left on device in /,
    );
    expect(error.message).toContain(` in ${tmpDir} (`);
    expect(error.message).toMatch(/No space left on device\)\.?\)\.$/);
    expect(error.hint).toContain(`df -h ${tmpDir}`);
    expect(readdirSync(tmpDir)).toEqual([]);
    expect(
      await engine.docker.listImages({ filters: JSON.stringify({ reference: [baseImageRef()] }) }),
    ).toEqual([]);
  }, 300_000);
});

describe('Docker executor steps on a full disk', () => {
  let workspace: Workspace;
  let executor: DockerExecutor;

  beforeAll(async () => {
    workspace = await Workspace.open(await daemon.smallDisk('ws', workspaceMiB));
    executor = await DockerExecutor.create({
      engine,
      image: busybox,
      workspace: workspace.root,
      job: 'fill',
    });
  });
  afterAll(async () => {
    await executor?.dispose();
  });

  it('a step filling the workspace (a tmpfs bind-mounted in): IO naming the workspace; no cache entry, the earlier one and the user’s files intact', async () => {
    const settings = join(workspace.stateDir, 'settings.json');
    await writeJsonAtomic(settings, { executor: 'docker', image: busybox });
    const notes = join(workspace.root, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    const settingsBefore = readFileSync(settings, 'utf8');

    const cache = workspace.cache('fill');
    const key = 'blob';
    // A step as kdlab's builders run one: the executor writes into the staging folder.
    const produce = (mib: number) => async (staging: string) => {
      const result = await executor.run([
        'dd',
        'if=/dev/zero',
        `of=${staging}/out.bin`,
        'bs=1M',
        `count=${mib}`,
      ]);
      if (result.exitCode !== 0) throw new Error(`dd failed: ${result.stderr}`);
      return ['out.bin'];
    };
    const earlier = await cache.commit(key, { mib: 1 }, produce(1));
    expect(earlier.outputs[0]?.size).toBe(1 << 20);

    const error = await rejection(cache.commit(key, { mib: 64 }, produce(workspaceMiB * 4)));
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(/^dd failed \(exit 1, docker kdlab-test\/busybox:1 /);
    expect(error.message).toContain(`the disk is full — no space left on device in ${workspace.root} (`);
    expect(error.message).toMatch(/error writing '.*\/out\.bin': No space left on device/);
    expect(error.hint).toContain(`df -h ${workspace.root}`);
    expect(error.hint).toMatch(/KDLAB_HOME/);

    // Nothing half-written counts: the earlier entry is the entry, and no staging folder is left.
    expect(await cache.lookup(key)).toMatchObject({ inputs: { mib: 1 } });
    expect(readdirSync(cache.dir)).toEqual([key]);
    expect(readFileSync(settings, 'utf8')).toBe(settingsBefore);
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    expect(await freeShare(workspace.root)).toBeGreaterThan(0.9);
    await expectNoContainers();
  });

  it('a step filling its container’s own files: IO naming the engine’s data root, the container gone', async () => {
    const error = await rejection(
      executor.run(['dd', 'if=/dev/zero', 'of=/big', 'bs=1M', `count=${dataMiB + 64}`]),
    );
    expectDataRootFull(error);
    expect(error.message).toMatch(/^dd failed \(exit 1, docker kdlab-test\/busybox:1 /);
    expect(error.message).toMatch(/error writing '\/big': No space left on device/);
    await expectNoContainers();
    expect(await freeShare(daemon.dataRoot)).toBeGreaterThan(0.95);
    // And the next step runs.
    const next = await executor.run(['echo', 'still here']);
    expect(next.stdout).toBe('still here\n');
  });
});
