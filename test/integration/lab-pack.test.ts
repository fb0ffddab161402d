// A teacher packs recipes with their built kernel and modules; a student's fresh workspace imports
// the pack and runs the recipes with no kernel sources at all; an altered pack is refused; grading
// checks the student's report against the pack.
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { findExecutable, runCommand } from '../../electron/lab/process';
import { gradeReports, packSource } from '../../electron/lab/recipes/grading';
import { LabPacks } from '../../electron/lab/recipes/lab-pack';
import type { PackManifest } from '../../electron/lab/recipes/lab-pack';
import { RecipeCatalog } from '../../electron/lab/recipes/recipe-loader';
import { RecipeRunner } from '../../electron/lab/recipes/recipe-runner';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

const fragments = join(appRoot, 'lab-images', 'kconfig');
const labModules = join(appRoot, 'lab-images', 'modules');
let teacher: Workspace;
let jobs: JobManager;
let packFile: string;
let manifest: PackManifest;

beforeAll(async () => {
  ({ workspace: teacher, jobs } = await labKernel());
  packFile = join(await makeTempDir(), 'kdump-lab.tar.gz');
  const packs = new LabPacks(
    teacher,
    new RecipeCatalog([join(appRoot, 'recipes')]),
    new KernelBuilder(teacher, fragments),
    labModules,
  );
  manifest = await jobs.withProgress({ title: 'pack', kind: 'lab-pack' }, (p, s) =>
    packs.pack(['kill-init', 'null-deref-module', 'init-segfault-lib'], packFile, p, s),
  );
}, 1_800_000);

describe('lab packs', () => {
  it('lists the recipes, the kernel and the module build, every file hashed', () => {
    expect(manifest.recipes).toEqual(['kill-init', 'null-deref-module', 'init-segfault-lib']);
    expect(manifest.kernels).toHaveLength(1);
    expect(manifest.modules).toHaveLength(1);
    expect(manifest.programs).toHaveLength(1);
    expect(Object.keys(manifest.files)).toContain(`cache/programs/${manifest.programs![0]!.key}/libkdlab.so`);
    expect(Object.keys(manifest.files)).toEqual(
      expect.arrayContaining([
        `cache/kernels/${manifest.kernels[0]!.key}/vmlinux`,
        `cache/kernels/${manifest.kernels[0]!.key}/manifest.json`,
        'recipes/kill-init/recipe.yaml',
      ]),
    );
  });

  it('imports into a fresh workspace and runs the recipes there without kernel sources or gcc, then grades', async () => {
    const student = await Workspace.open(join(await makeTempDir(), 'student'));
    const kernels = new KernelBuilder(student, fragments);
    const catalog = new RecipeCatalog([join(student.root, 'recipes')]);
    const packs = new LabPacks(student, catalog, kernels, labModules);
    await jobs.withProgress({ title: 'import', kind: 'lab-import' }, (p, s) => packs.import(packFile, p, s));
    const noSources = await makeTempDir();
    const runner = new RecipeRunner(student, kernels, labModules, noSources);
    // A student machine without a C compiler: every tool of /usr/bin but gcc and cc.
    const noGcc = await makeTempDir();
    for (const name of await readdir('/usr/bin'))
      if (!/^(gcc|cc|c\+\+|g\+\+)$|^(x86_64-linux-gnu-)?gcc(-\d+)?$/.test(name))
        await symlink(join('/usr/bin', name), join(noGcc, name));
    const savedPath = process.env.PATH;
    process.env.PATH = [noGcc, '/usr/local/bin', '/usr/sbin'].join(':');
    try {
      expect(findExecutable('gcc')).toBeNull();
      for (const id of ['kill-init', 'null-deref-module', 'init-segfault-lib']) {
        const loaded = await catalog.get(id);
        const state = await jobs.withProgress({ title: id, kind: 'recipe' }, (p, s) =>
          runner.run(loaded, { nonInteractive: true }, p, s),
        );
        expect(state.steps.filter((x) => x.status !== 'passed')).toEqual([]);
        expect(state.finished).toBe(true);
      }
    } finally {
      process.env.PATH = savedPath;
    }
    const graded = await gradeReports(
      [runner.stateFile('kill-init'), runner.stateFile('null-deref-module')],
      [await packSource(packFile)],
    );
    const rows = graded.reports.map((g) => g.row!);
    // --non-interactive: every artifact matches the pack, but the run answered its own questions.
    expect(rows.map((r) => [r.recipe, r.finished, r.verdict, r.byRun > 0, r.totalFrom])).toEqual([
      ['kill-init', true, 'auto-answered', true, 'pack'],
      ['null-deref-module', true, 'auto-answered', true, 'pack'],
    ]);
    for (const g of graded.reports)
      expect(g.checks.filter((c) => c.result === 'mismatch' || c.result === 'missing')).toEqual([]);
    expect(rows[1]!.answers).toContain('offset=0x0000000000000010');
  }, 600_000);

  it('refuses a pack whose files were altered after packing', async () => {
    const dir = await makeTempDir();
    const unpacked = join(dir, 'x');
    await mkdir(unpacked);
    expect((await runCommand(['tar', '-xzf', packFile, '-C', unpacked])).exitCode).toBe(0);
    const recipe = join(unpacked, 'recipes', 'kill-init', 'recipe.yaml');
    await writeFile(recipe, (await readFile(recipe, 'utf8')).replace('exitcode', 'exit code'));
    const altered = join(dir, 'altered.tar.gz');
    expect((await runCommand(['tar', '-C', unpacked, '-czf', altered, '.'])).exitCode).toBe(0);
    const student = await Workspace.open(join(dir, 'student'));
    const packs = new LabPacks(
      student,
      new RecipeCatalog([]),
      new KernelBuilder(student, fragments),
      labModules,
    );
    await expect(
      jobs.withProgress({ title: 'import', kind: 'lab-import' }, (p, s) => packs.import(altered, p, s)),
    ).rejects.toMatchObject({ message: expect.stringContaining('recipes/kill-init/recipe.yaml in') });
    await expect(
      jobs.withProgress({ title: 'import', kind: 'lab-import' }, (p, s) =>
        packs.import(join(dir, 'nope.tar.gz'), p, s),
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 300_000);
});
