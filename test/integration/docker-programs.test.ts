// Recipe programs in Docker mode, for real: seed 000's library and init compiled by the toolchain
// container's gcc while the host's PATH is empty (so nothing on the host could have compiled them),
// cached under a key naming the image, a cache hit the second time; a compile error and a gcc-less
// image reported by the executor; addr2line/objdump of a real fault run in the container; and
// recipe 8 (init-segfault-lib) end to end with executor=docker.
// Needs dockerd, kdlab/toolchain and kdlab/debian-base (kdlab images base --debootstrap, kdlab
// images build toolchain); without them the tests fail.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeText } from '../../electron/lab/analyze/decoder';
import { locateUserFault } from '../../electron/lab/analyze/user-fault';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor } from '../../electron/lab/exec/docker-executor';
import { ProgramBuilder } from '../../electron/lab/image/programs';
import type { BuiltProgram, ProgramSpec } from '../../electron/lab/image/programs';
import type { Progress } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { runCommand } from '../../electron/lab/process';
import { RecipeCatalog } from '../../electron/lab/recipes/recipe-loader';
import { RecipeRunner } from '../../electron/lab/recipes/recipe-runner';
import type { CacheManifest } from '../../electron/lab/workspace';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';
import { copySegfaultLibSources, observeFault, segfaultLibSpecs } from '../helpers/segfault-lib';

const toolchain = 'kdlab/toolchain:latest';
// The base the toolchain image is built on: ldd, no gcc.
const noGccImage = 'kdlab/debian-base:bookworm';

let src: string;
const specs = (): ProgramSpec[] => segfaultLibSpecs(src);
const logs: string[] = [];
const progress: Progress = { report: () => undefined, log: (t) => void logs.push(t) };

let engine: DockerEngine;
let root: string;
let workspace: Workspace;
let executor: DockerExecutor;
let built: BuiltProgram[];
const executors: DockerExecutor[] = [];

async function ourContainers(): Promise<string[]> {
  const list = await engine.docker.listContainers({
    all: true,
    filters: { label: [`${kdlabLabel}=true`, `io.kdlab.owner=${hostname()}:${process.pid}`] },
  });
  return list.map((c) => `${c.Names.join(',')} ${c.State} ${c.Command}`);
}

/** Runs `fn` with an empty PATH: no host tool at all can start meanwhile. */
async function withoutHostTools<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = await makeTempDir();
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

const manifestOf = async (file: string) =>
  JSON.parse(await readFile(join(dirname(file), 'manifest.json'), 'utf8')) as CacheManifest;

beforeAll(async () => {
  engine = await openDockerEngine();
  root = await makeTempDir();
  src = await copySegfaultLibSources(root);
  workspace = await Workspace.open(join(root, 'ws'));
  executor = await DockerExecutor.create({
    engine,
    image: toolchain,
    workspace: workspace.root,
    job: 'docker-programs-test',
  });
  executors.push(executor);
});

afterEach(async () => {
  for (let i = 0; i < 50 && (await ourContainers()).length > 0; i += 1)
    await new Promise((r) => setTimeout(r, 200));
  expect(await ourContainers()).toEqual([]);
});

afterAll(async () => {
  await Promise.all(executors.map((e) => e.dispose()));
  await rm(root, { recursive: true, force: true });
});

describe('recipe programs in Docker mode', () => {
  it('compiles in the toolchain container (the host has no tools on PATH), keyed by the image, then hits the cache', async () => {
    const host = new ProgramBuilder(workspace);
    const docker = new ProgramBuilder(workspace, executor);
    built = await withoutHostTools(async () => {
      // The host cannot compile here at all…
      await expect(host.build(specs(), progress)).rejects.toMatchObject({ code: 'TOOL_MISSING' });
      // …the container can.
      return docker.build(specs(), progress);
    });
    expect(built.map((b) => [b.name, b.path, b.cacheHit])).toEqual([
      ['libkdlab.so', '/usr/lib/libkdlab.so', false],
      ['init', '/sbin/init', false],
    ]);
    const manifest = await manifestOf(built[0]!.file);
    expect(manifest.inputs).toMatchObject({ executor: executor.describe() });
    expect(manifest.inputs.compiler).toMatch(/^gcc .* x86_64-linux-gnu$/);
    expect(logs.join('')).toContain(`Runs on: ${executor.describe()}`);
    // Written by the container as the user who ran kdlab.
    expect((await stat(built[1]!.file)).uid).toBe(process.getuid!());
    const init = built[1]!;
    expect((await runCommand(['readelf', '-d', init.file])).stdout).toMatch(/NEEDED.*\[libkdlab\.so\]/);
    expect((await runCommand(['readelf', '-S', init.file])).stdout).toMatch(/\.debug_info/);
    // ldd ran in the container: the image's loader and libc; the list's own library left out.
    expect(init.libraries.some((l) => l.endsWith('/libc.so.6'))).toBe(true);
    expect(init.libraries.some((l) => /ld-linux-x86-64\.so\.2$/.test(l))).toBe(true);
    expect(init.libraries.some((l) => l.includes('libkdlab'))).toBe(false);

    const again = await withoutHostTools(() => docker.build(specs(), progress));
    expect(again.map((b) => [b.file, b.cacheHit])).toEqual(built.map((b) => [b.file, true]));
    // The host's gcc builds the same sources as another entry.
    const onHost = await host.build(specs(), progress);
    expect(onHost.map((b) => b.cacheHit)).toEqual([false, false]);
    expect(dirname(onHost[0]!.file)).not.toBe(dirname(built[0]!.file));
    expect((await manifestOf(onHost[0]!.file)).inputs).toMatchObject({ executor: 'host' });
  }, 300_000);

  it('reports a compile error with the file and line, naming the container', async () => {
    const bad = join(root, 'bad.c');
    await writeFile(bad, 'int main(void)\n{\n\treturn missing;\n}\n');
    const broken = [{ ...specs()[1]!, name: 'bad', sources: [bad], link: [] }];
    await expect(new ProgramBuilder(workspace, executor).build(broken, progress)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        /^gcc could not build bad \(in docker kdlab\/toolchain:latest .*\):\n.*bad\.c:3:\d+: error: .missing. undeclared/,
      ) as unknown,
    });
  }, 120_000);

  it('an image without gcc: the executor says so; programs a lab pack brought are used instead', async () => {
    const bare = await DockerExecutor.create({
      engine,
      image: noGccImage,
      workspace: workspace.root,
      job: 'docker-programs-test',
    });
    executors.push(bare);
    const fresh = await Workspace.open(join(root, 'fresh'));
    const bareFresh = await DockerExecutor.create({
      engine,
      image: noGccImage,
      workspace: fresh.root,
      job: 'docker-programs-test',
    });
    executors.push(bareFresh);
    await expect(new ProgramBuilder(fresh, bareFresh).build(specs(), progress)).rejects.toMatchObject({
      code: 'TOOL_MISSING',
      message: `gcc is not in the lab image ${noGccImage}.`,
      hint: expect.stringContaining('build-essential') as unknown,
    });
    // In the first workspace the same sources were built before (what an imported pack records).
    const packed = await new ProgramBuilder(workspace, bare).build(specs(), progress);
    expect(packed.map((b) => b.cacheHit)).toEqual([true, true]);
    expect(packed[1]!.libraries.some((l) => l.endsWith('/libc.so.6'))).toBe(true);
  }, 120_000);

  it('locates a real fault with addr2line and objdump in the container', async () => {
    const [lib, init] = built;
    // gdb in the container: the program runs where it was compiled.
    const fault = await observeFault(
      (argv, env) => executor.run(argv, { env, timeoutMs: 120_000 }),
      lib!.file,
      init!.file,
    );
    const segfault = decodeText(fault.line)[0]!.userSegfault!;
    const located = await withoutHostTools(() => locateUserFault(segfault, lib!.file, { executor }));
    expect(located).toMatchObject({
      object: 'libkdlab.so',
      offset: `0x${(BigInt(fault.pc) - BigInt(fault.base)).toString(16)}`,
      function: 'kdlab_print_err_msg',
      sourceFile: join(src, 'libkdlab.c'),
      sourceText: 'if (g_dbg_zone->flags & 2)',
    });
    expect(fault.gdbOutput).toContain(`libkdlab.c:${located.line}`);
    expect(located.instruction).toMatch(/0x18\(%r\w+\)/);
    expect(located.disassembly).toMatch(new RegExp(`^=> ${located.address.slice(2)}:`, 'm'));
    // The host path, for comparison, gives the same answer.
    const onHost = await locateUserFault(segfault, lib!.file);
    expect([onHost.function, onHost.line, onHost.instruction]).toEqual([
      located.function,
      located.line,
      located.instruction,
    ]);
  }, 300_000);
});

describe('recipe 8 with executor=docker', () => {
  it(
    'init-segfault-lib runs end to end in the toolchain container, its programs compiled there',
    async () => {
      const { workspace: ws, jobs } = await labKernel();
      const runner = new RecipeRunner(
        ws,
        new KernelBuilder(ws, join(appRoot, 'lab-images', 'kconfig')),
        join(appRoot, 'lab-images', 'modules'),
      );
      const loaded = await new RecipeCatalog([join(appRoot, 'recipes')]).get('init-segfault-lib');
      const state = await jobs.withProgress({ title: 'init-segfault-lib (docker)', kind: 'recipe' }, (p, s) =>
        runner.run(loaded, { nonInteractive: true, restart: true, executor: 'docker' }, p, s),
      );
      const failures = state.steps.filter((s) => s.status !== 'passed');
      expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
      expect(state.finished).toBe(true);
      const facts = state.facts as {
        executor: string;
        programs: { name: string; file: string }[];
        segfault: { function: string };
      };
      expect(facts.executor).toMatch(/^docker kdlab\/toolchain:latest /);
      // The programs the guest ran came out of that container's gcc.
      for (const program of facts.programs)
        expect((await manifestOf(program.file)).inputs).toMatchObject({ executor: facts.executor });
      expect(facts.segfault.function).toBe('kdlab_print_err_msg');
      // …and the image carries the lab image's libc and loader (staged out of it), not the host's.
      const cpioList = await readFile(
        join(ws.cache('initramfs').entryDir(state.artifacts.image!), 'cpio-list'),
        'utf8',
      );
      for (const lib of ['libc.so.6', 'ld-linux-x86-64.so.2'])
        expect(cpioList).toMatch(
          new RegExp(
            `^file /usr/lib/x86_64-linux-gnu/${lib} \\S+/tools/usr/lib/x86_64-linux-gnu/${lib} `,
            'm',
          ),
        );
    },
    40 * 60_000,
  );
});
