// A teacher packs recipes with their built kernel and modules; a student's fresh workspace imports
// the pack and runs the recipes with no kernel sources at all, or with sources but still on the
// pack's kernel (no build); an altered pack and a file that is not a pack are refused; grading
// checks the student's report against the pack: a cut-down report, an altered artifact, questions
// the run answered itself, a JSON that is not a report and a missing file each get their verdict.
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/main';
import { recipeCatalog } from '../../electron/cli/commands/recipes';
import { findSources } from '../../electron/lab/kernel/sources';
import type { RecipeRunState } from '../../electron/lab/recipes/recipe-state';
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

  it('imports on a machine with kernel sources and runs on the pack kernel with no build; a student answers wrong, then right', async () => {
    expect((await findSources('/usr/src')).some((x) => x.kind === 'tarball' || x.kind === 'tree')).toBe(true);
    const student = await Workspace.open(join(await makeTempDir(), 'student'));
    const kernels = new KernelBuilder(student, fragments);
    // The CLI's and the back end's catalog: imported recipes first, then the shipped ones.
    const catalog = recipeCatalog(appRoot, student.root);
    const imported = await jobs.withProgress({ title: 'import with sources', kind: 'lab-import' }, (p, s) =>
      new LabPacks(student, catalog, kernels, labModules).import(packFile, p, s),
    );
    // Every packed recipe also ships with kdlab: the pack's copy is the one that runs here.
    expect(imported.replacesShipped).toEqual(['kill-init', 'null-deref-module', 'init-segfault-lib']);
    const loaded = await catalog.get('kill-init');
    expect(loaded.dir).toBe(join(student.root, 'recipes', 'kill-init'));

    const runner = new RecipeRunner(student, kernels, labModules, '/usr/src');
    const run = (title: string, answer: (state: RecipeRunState | null) => string) =>
      jobs.withProgress({ title, kind: 'recipe' }, async (p, s) => {
        const before = await runner.readState('kill-init');
        return runner.run(
          loaded,
          { nonInteractive: false, student: '李雷', ask: () => Promise.resolve(answer(before)) },
          p,
          s,
        );
      });
    const wrong = await run('kill-init, wrong answer', () => '12345');
    expect(wrong.finished).toBe(false);
    expect(wrong.steps.at(-1)!.answer).toMatchObject({ given: '12345', ok: false, answeredBy: 'student' });
    // The report keeps what the run found (for the teacher): the resumed run answers with it.
    const right = await run('kill-init, right answer', (before) => before!.steps.at(-1)!.answer!.expected);
    expect(right.finished).toBe(true);
    expect(right.student?.name).toBe('李雷');
    expect(right.answerLog!.map((a) => [a.given, a.ok, a.answeredBy])).toEqual([
      ['12345', false, 'student'],
      [wrong.steps.at(-1)!.answer!.expected, true, 'student'],
    ]);

    // No kernel build: the first run's log names the pack's kernel (the resumed one only asks the
    // question), the kernel builder never started in either (it logs "Runs on:" first and unpacks
    // the sources into the cache), and no other kernel exists.
    const logOf = async (title: string) =>
      (await jobs.readLog(jobs.list().find((j) => j.title === title)!.id, 0)).text;
    const first = await logOf('kill-init, wrong answer');
    expect(first).toContain(
      `Using the kernel of the lab pack kdump-lab.tar.gz: ${manifest.kernels[0]!.release} (${manifest.kernels[0]!.key}), no build.`,
    );
    expect(first).not.toContain('Runs on:');
    expect(await logOf('kill-init, right answer')).not.toContain('Runs on:');
    expect(await readdir(student.cache('sources').dir).catch(() => [])).toEqual([]);
    expect((await kernels.list()).map((k) => k.key)).toEqual([manifest.kernels[0]!.key]);
    expect(right.artifacts.kernel).toBe(manifest.kernels[0]!.key);

    // Grading: this report, then copies a student could have edited.
    const dir = await makeTempDir();
    const good = runner.stateFile('kill-init');
    const copy = async (name: string, edit: (r: RecipeRunState) => void) => {
      const r = JSON.parse(await readFile(good, 'utf8')) as RecipeRunState;
      edit(r);
      await writeFile(join(dir, name), JSON.stringify(r));
      return join(dir, name);
    };
    const cut = await copy('cut.json', (r) => {
      r.steps = r.steps.slice(0, 1);
      r.finished = true;
    });
    const altered = await copy('altered.json', (r) => {
      r.hashes!['kernel/vmlinux'] = '0'.repeat(64);
    });
    const auto = await copy('auto.json', (r) => {
      r.steps.at(-1)!.answer!.answeredBy = 'run';
    });
    const notReport = join(dir, 'notes.json');
    await writeFile(notReport, JSON.stringify({ hello: 'teacher' }));
    const missing = join(dir, 'missing.json');
    const graded = await gradeReports(
      [good, cut, altered, auto, notReport, missing],
      [await packSource(packFile)],
    );
    const steps = (await catalog.get('kill-init')).recipe.steps.length;
    expect(
      graded.reports.map((g) => [g.row?.verdictText ?? g.error!.code, g.row?.passed, g.row?.total]),
    ).toEqual([
      ['verified', steps, steps],
      ['altered: finished', 1, steps],
      ['altered: kernel/vmlinux', steps, steps],
      ['auto-answered: 1 of 1 questions', steps, steps],
      ['BAD_REQUEST', undefined, undefined],
      ['NOT_FOUND', undefined, undefined],
    ]);
    expect(graded.reports[0]!.row).toMatchObject({ student: '李雷', byStudent: 1, byRun: 0 });
    expect(graded.reports[0]!.row!.wrongAttempts.map((w) => w.given)).toEqual(['12345']);
    expect(graded.reports[0]!.checks.map((c) => [c.artifact, c.result])).toEqual(
      expect.arrayContaining([
        ['recipe', 'verified'],
        ['kernel', 'verified'],
        ['kernel/bzImage', 'verified'],
        ['kernel/vmlinux', 'verified'],
        ['image', 'own-run'],
      ]),
    );

    // The CLI: an aligned table, no stack trace for the wrong files, exit 1 unless all verified.
    const home = await makeTempDir();
    const table = await cli(home, [
      'grade',
      good,
      cut,
      altered,
      auto,
      notReport,
      missing,
      '--pack',
      packFile,
    ]);
    expect(table.code).toBe(1);
    expect(table.stderr).not.toMatch(/\n\s+at /);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^STUDENT +RECIPE +STEPS +CHECKS +ANSWERED \(student\/run\) +WRONG +VERDICT +REPORT$/,
    );
    expect(table.stdout).not.toContain('\t');
    expect(lines[1]).toMatch(
      new RegExp(`^李雷 +kill-init +${steps}/${steps} +\\d+/\\d+ +1/0 +1 +verified +`),
    );
    expect(lines[2]).toMatch(/altered: finished +cut\.json$/);
    expect(lines[5]).toMatch(/not graded: notes\.json is JSON but not a recipe progress report/);
    expect(lines[6]).toMatch(/not graded: .*missing\.json does not exist/);
    const json = await cli(home, ['grade', good, '--pack', packFile, '--json']);
    expect(json.code).toBe(0);
    expect(
      (JSON.parse(json.stdout) as { reports: { row: { verdict: string } }[] }).reports[0]!.row.verdict,
    ).toBe('verified');
    const alone = await cli(home, ['grade', missing]);
    expect(alone.code).toBe(1);
    expect(`${alone.stdout}${alone.stderr}`).not.toMatch(/\n\s+at /);
    expect(alone.stdout).toMatch(/not graded: .*missing\.json does not exist/);
  }, 600_000);

  it('refuses a file that is not a lab pack with a clear error, not tar output', async () => {
    const dir = await makeTempDir();
    const report = join(dir, 'kill-init.kdlab-report');
    await writeFile(
      report,
      JSON.stringify({
        recipeId: 'kill-init',
        startedAt: '',
        updatedAt: '',
        finished: false,
        steps: [],
        artifacts: {},
      }),
    );
    const gz = join(dir, 'notes.tar.gz');
    await writeFile(join(dir, 'notes.txt'), 'not a tar\n');
    expect((await runCommand(['sh', '-c', `gzip -c '${join(dir, 'notes.txt')}' > '${gz}'`])).exitCode).toBe(
      0,
    );
    const student = await Workspace.open(join(dir, 'student'));
    const packs = new LabPacks(
      student,
      new RecipeCatalog([]),
      new KernelBuilder(student, fragments),
      labModules,
    );
    const importing = (file: string) =>
      jobs.withProgress({ title: 'import', kind: 'lab-import' }, (p, s) => packs.import(file, p, s));
    await expect(importing(report)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        /kill-init\.kdlab-report is progress report of kill-init.*not a kdlab lab pack/,
      ),
    });
    const notTar = await importing(gz).catch((e: Error) => e);
    expect(notTar).toMatchObject({ code: 'BAD_REQUEST' });
    expect((notTar as Error).message).toMatch(/notes\.tar\.gz is not a kdlab lab pack/);
    expect((notTar as Error).message).not.toMatch(/tar:|gzip:/);
    const r = await cli(join(dir, 'home'), ['lab', 'import', report]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kdlab lab import: .*not a kdlab lab pack\.$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});

async function cli(home: string, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const stream = (f: (s: string) => void) =>
    ({ write: (s: string) => (f(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  const code = await main(argv, {
    appRoot,
    stdout: stream((s) => (stdout += s)),
    stderr: stream((s) => (stderr += s)),
    env: { ...process.env, KDLAB_HOME: home },
  });
  return { code, stdout, stderr };
}
