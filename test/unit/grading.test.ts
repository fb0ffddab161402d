// Grading a student's progress report against a lab pack (no tar here: the pack is its manifest and
// the shipped kill-init recipe, hashed as LabPacks.pack hashes it). Each case edits a real-shaped
// report the way a student could, and the verdict must name what changed.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerLine, formatGrades } from '../../electron/cli/commands/recipes';
import type { PackSource } from '../../electron/lab/recipes/grading';
import { gradeReports } from '../../electron/lab/recipes/grading';
import type { PackManifest } from '../../electron/lab/recipes/lab-pack';
import { RecipeCatalog, parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import type { RecipeRunState } from '../../electron/lab/recipes/recipe-state';
import { appRoot } from '../helpers/build';
import { makeTempDir } from '../helpers/temp';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const key = 'a'.repeat(64);
const bz = sha('bzImage');
const vmlinux = sha('vmlinux');
let recipeText: string;
let pack: PackSource;
let dir: string;

function report(): RecipeRunState {
  const at = '2026-11-23T01:00:00.000Z';
  const step = (id: string, d: RecipeRunState['steps'][number]['do'], checks: number) => ({
    id,
    do: d,
    status: 'passed' as const,
    checks: Array.from({ length: checks }, () => ({ check: { console: 'x' }, ok: true, detail: 'ok' })),
    startedAt: at,
    finishedAt: at,
  });
  return {
    recipeId: 'kill-init',
    startedAt: at,
    updatedAt: at,
    finished: true,
    student: { name: '李雷', user: 'lilei', host: 'lab-07' },
    steps: [
      step('boot', 'boot', 1),
      step('exit', 'send', 0),
      step('panic', 'wait', 1),
      step('decode', 'decode', 2),
      {
        ...step('code', 'question', 0),
        answer: { given: '0', expected: '0x00000000', ok: true, answeredBy: 'student' },
      },
    ],
    answerLog: [
      { step: 'code', given: '127', ok: false, answeredBy: 'student', at },
      { step: 'code', given: '0', ok: true, answeredBy: 'student', at },
    ],
    artifacts: { kernel: key, image: 'i'.repeat(64) },
    hashes: {
      recipe: sha(recipeText),
      'kernel/bzImage': bz,
      'kernel/vmlinux': vmlinux,
      image: sha('image'),
    },
    facts: {},
  };
}

async function write(name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

beforeAll(async () => {
  recipeText = await readFile(join(appRoot, 'recipes', 'kill-init', 'recipe.yaml'), 'utf8');
  const manifest: PackManifest = {
    format: 1,
    createdAt: '2026-11-22T00:00:00.000Z',
    recipes: ['kill-init'],
    kernels: [{ key, release: '6.1.192-kdlab', buildId: 'b'.repeat(40) }],
    modules: [],
    recipeKernels: { 'kill-init': key },
    files: {
      'recipes/kill-init/recipe.yaml': sha(recipeText),
      [`cache/kernels/${key}/bzImage`]: bz,
      [`cache/kernels/${key}/vmlinux`]: vmlinux,
    },
  };
  pack = {
    source: 'class.tar.gz',
    manifest,
    recipeText: (id) => Promise.resolve(id === 'kill-init' ? recipeText : null),
  };
  dir = await makeTempDir();
});

const gradeOne = async (state: unknown, packs = [pack]) => {
  const result = await gradeReports([await write(`r-${Math.random()}.json`, state)], packs);
  return result.reports[0]!;
};

describe('grading progress reports', () => {
  it('verifies an untouched report, counting wrong attempts and who answered', async () => {
    const g = await gradeOne(report());
    expect(g.error).toBeNull();
    expect(g.row).toMatchObject({
      student: '李雷',
      studentDetail: 'lilei@lab-07',
      passed: 5,
      total: parseRecipe(recipeText, 'x').steps.length,
      totalFrom: 'pack',
      checksPassed: 4,
      checksTotal: 4,
      byStudent: 1,
      byRun: 0,
      verdict: 'verified',
      verdictText: 'verified',
    });
    expect(g.row!.wrongAttempts).toEqual([{ step: 'code', given: '127', at: '2026-11-23T01:00:00.000Z' }]);
    expect(g.checks.find((c) => c.artifact === 'kernel/bzImage')?.result).toBe('verified');
    expect(g.checks.find((c) => c.artifact === 'image')?.result).toBe('own-run');
  });

  it('counts the steps of the pack recipe, not of a report cut down to one step', async () => {
    const cut = report();
    cut.steps = cut.steps.slice(0, 1);
    const g = await gradeOne(cut);
    expect(g.row).toMatchObject({ passed: 1, total: 5, verdict: 'altered' });
    expect(g.row!.problems).toContain('finished');
  });

  it('names an altered artifact, an edited recipe, and a forged ok', async () => {
    const kernel = report();
    kernel.hashes!['kernel/bzImage'] = sha('another bzImage');
    expect((await gradeOne(kernel)).row).toMatchObject({
      verdict: 'altered',
      verdictText: 'altered: kernel/bzImage',
    });
    const recipe = report();
    recipe.hashes!.recipe = sha(recipeText.replace('exitcode', 'exit code'));
    expect((await gradeOne(recipe)).row!.problems).toEqual(['recipe']);
    const forged = report();
    forged.steps[4]!.answer = { given: '42', expected: '0x00000000', ok: true, answeredBy: 'student' };
    expect((await gradeOne(forged)).row!.problems).toEqual(['answers']);
    const otherKernel = report();
    otherKernel.artifacts.kernel = 'c'.repeat(64);
    expect((await gradeOne(otherKernel)).row!.problems).toEqual(
      expect.arrayContaining(['kernel', 'kernel/bzImage', 'kernel/vmlinux']),
    );
  });

  it('marks questions the run answered itself', async () => {
    const auto = report();
    auto.steps[4]!.answer!.answeredBy = 'run';
    expect((await gradeOne(auto)).row).toMatchObject({
      byStudent: 0,
      byRun: 1,
      verdict: 'auto-answered',
      verdictText: 'auto-answered: 1 of 1 questions',
    });
  });

  it('does not verify a report without content hashes, or with no pack to check against', async () => {
    const bare = report();
    delete bare.hashes;
    const g = await gradeOne(bare);
    expect(g.row!.verdict).toBe('unverified');
    expect(g.checks.filter((c) => c.result === 'missing').map((c) => c.artifact)).toEqual([
      'recipe',
      'kernel/bzImage',
      'kernel/vmlinux',
      'image',
    ]);
    const shipped = new RecipeCatalog([join(appRoot, 'recipes')]);
    const nopack = await gradeReports([await write('np.json', report())], [], shipped);
    expect(nopack.reports[0]!.row).toMatchObject({
      verdict: 'unverified',
      totalFrom: 'shipped',
      total: 5,
      problems: ['no lab pack'],
    });
  });

  it('gives a file that is not a report, or is missing, a row with a clear error', async () => {
    const result = await gradeReports(
      [await write('notes.json', { hello: 'teacher' }), join(dir, 'gone.json')],
      [pack],
    );
    expect(result.reports.map((r) => [r.row, r.error?.code])).toEqual([
      [null, 'BAD_REQUEST'],
      [null, 'NOT_FOUND'],
    ]);
    expect(result.reports[0]!.error!.message).toMatch(/not a recipe progress report/);
  });

  it('prints an aligned table (wide characters count twice) with one verdict per report', async () => {
    const auto = report();
    auto.student = { name: 'Bob', user: 'bob', host: 'h' };
    auto.steps[4]!.answer!.answeredBy = 'run';
    const result = await gradeReports(
      [await write('lilei.json', report()), await write('bob.json', auto), await write('x.json', '{}')],
      [pack],
    );
    const lines = formatGrades(result).split('\n');
    expect(lines[0]).toMatch(
      /^STUDENT\s+RECIPE\s+STEPS\s+CHECKS\s+ANSWERED \(student\/run\)\s+WRONG\s+VERDICT\s+REPORT$/,
    );
    const width = (s: string) => [...s].reduce((n, c) => n + (c.codePointAt(0)! >= 0x2e80 ? 2 : 1), 0);
    const verdictAt = width(lines[0]!.slice(0, lines[0]!.indexOf('VERDICT')));
    expect(width(lines[1]!.slice(0, lines[1]!.indexOf('verified')))).toBe(verdictAt);
    expect(width(lines[2]!.slice(0, lines[2]!.indexOf('auto-answered')))).toBe(verdictAt);
    expect(lines[1]).toMatch(/^李雷\s+kill-init\s+5\/5\s+4\/4\s+1\/0\s+1\s+verified\s+lilei\.json$/);
    expect(lines[3]).toMatch(/not graded: x\.json is JSON but not a recipe progress report/);
    expect(lines).not.toContain(expect.stringMatching(/\t/));
  });

  it('a wrong answer in kdlab run says where to look, never what the run found', async () => {
    const recipe = parseRecipe(recipeText, 'kill-init');
    const step = recipe.steps.find((s) => s.do === 'question')!;
    const line = answerLine(step, { given: '127', expected: '0x00000000', ok: false, answeredBy: 'student' });
    expect(line).toMatch(/does not match what this run found/);
    expect(line).toMatch(/hint: look for this run's decoded\.exitCode/);
    expect(line).not.toMatch(/0x00000000/);
    expect(answerLine(step, { given: '0', expected: '0', ok: true, answeredBy: 'run' })).toMatch(
      /answered by the run/,
    );
  });
});

describe('recipe catalog order', () => {
  it('the first root holding an id wins, in list and in get (a pack recipe over a shipped one)', async () => {
    const root = await makeTempDir();
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(root, 'kill-init'));
    await writeFile(
      join(root, 'kill-init', 'recipe.yaml'),
      recipeText.replace(/minutes: \d+/, 'minutes: 99'),
    );
    const catalog = new RecipeCatalog([root, join(appRoot, 'recipes')]);
    expect((await catalog.get('kill-init')).recipe.minutes).toBe(99);
    const listed = (await catalog.list()).filter((l) => l.recipe.id === 'kill-init');
    expect(listed.map((l) => l.recipe.minutes)).toEqual([99]);
  });
});
