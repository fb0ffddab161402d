// Every shipped recipe, end to end, non-interactively, on the real pipeline (kernel from the cache);
// a wrong answer fails its step, and a second run resumes there.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { RecipeCatalog } from '../../electron/lab/recipes/recipe-loader';
import type { LoadedRecipe } from '../../electron/lab/recipes/recipe-loader';
import { RecipeRunner } from '../../electron/lab/recipes/recipe-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';

let workspace: Workspace;
let jobs: JobManager;
let runner: RecipeRunner;
const catalog = new RecipeCatalog([join(appRoot, 'recipes')]);
const shipped: LoadedRecipe[] = await catalog.list();

beforeAll(async () => {
  ({ workspace, jobs } = await labKernel());
  runner = new RecipeRunner(
    workspace,
    new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig')),
    join(appRoot, 'lab-images', 'modules'),
  );
}, 1_800_000);

const run = (loaded: LoadedRecipe, options: Parameters<RecipeRunner['run']>[1]) =>
  jobs.withProgress({ title: loaded.recipe.id, kind: 'recipe' }, (progress, signal) =>
    runner.run(loaded, options, progress, signal),
  );

describe('shipped recipes', () => {
  it.each(shipped.map((l) => [l.recipe.id, l] as const))(
    '%s runs end to end and every check passes',
    async (_id, loaded) => {
      const state = await run(loaded, { nonInteractive: true, restart: true });
      const failures = state.steps.filter((s) => s.status !== 'passed');
      expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
      expect(state.finished).toBe(true);
      expect(state.steps.map((s) => s.id)).toEqual(loaded.recipe.steps.map((s) => s.id));
    },
    300_000,
  );
});

describe('recipe runner', () => {
  it('fails a wrong answer against the run, saves the state, and resumes at that step', async () => {
    const loaded = await catalog.get('init-exit-127');
    const wrong = await run(loaded, {
      nonInteractive: false,
      restart: true,
      ask: () => Promise.resolve('0'),
    });
    expect(wrong.finished).toBe(false);
    const last = wrong.steps.at(-1)!;
    expect(last).toMatchObject({
      id: 'status',
      status: 'failed',
      answer: { given: '0', expected: '127', ok: false },
    });
    expect((await runner.readState('init-exit-127'))?.steps.at(-1)?.status).toBe('failed');

    const asked: string[] = [];
    const resumed = await run(loaded, {
      nonInteractive: false,
      ask: (q) => {
        asked.push(q);
        return Promise.resolve('0x7f');
      },
    });
    expect(asked).toEqual(['With which status did init exit?']);
    expect(resumed.finished).toBe(true);
    expect(resumed.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'passed']);
  }, 300_000);

  it("checks the null-deref answers against the crash report of the run's own vmcore", async () => {
    const loaded = await catalog.get('null-deref-module');
    // A student who reads crash's bt, counts the offset in decimal and picks the wrong member.
    const answers: Record<string, string> = {
      function: '_MODULE_INIT_START_kdlab_null_deref+27',
      offset: '16',
      member: 'id',
    };
    const state = await run(loaded, {
      nonInteractive: false,
      restart: true,
      ask: async (_q, stepId) => {
        if (stepId !== 'line') return answers[stepId] ?? '';
        // The line as the student's gdb on the .ko gives it: read from this run's own report.
        const saved = await runner.readState('null-deref-module');
        const report = saved?.facts.report as { fault: { line: number } };
        return String(report.fault.line);
      },
    });
    const report = state.facts.report as {
      summary: { faultAddress: string };
      task: { command: string };
      backtrace: { function: string; exception: { rip: string } | null }[];
      fault: Record<string, unknown>;
      processes: { comm: string }[];
      modules: { name: string }[];
    };
    expect(report.fault).toMatchObject({
      function: 'kdlab_null_deref_init',
      offset: '0x1b',
      module: 'kdlab_null_deref',
      rip: expect.stringMatching(/^kdlab_null_deref_init\+0x1b\/0x[0-9a-f]+ \[kdlab_null_deref\]$/) as string,
      line: expect.any(Number) as number,
      sourceText: expect.stringMatching(/kdlab_read_flags\(dev\)/) as string,
      member: { struct: 'kdlab_dev', name: 'flags', offset: 16, size: 4, declaration: 'unsigned int flags' },
    });
    expect(parseInt(report.summary.faultAddress, 16)).toBe(0x10);
    expect(report.task.command).toBe('insmod');
    expect(report.backtrace[0]?.function).toBe('machine_kexec');
    expect(report.backtrace.map((f) => f.exception?.rip).filter(Boolean)).toEqual([
      '_MODULE_INIT_START_kdlab_null_deref+27',
    ]);
    expect(report.modules.map((m) => m.name)).toContain('kdlab_null_deref');
    expect(report.processes.map((p) => p.comm)).toContain('insmod');
    // crash's name and a decimal offset are right; the wrong member fails its step, against the .ko.
    expect(state.steps.filter((s) => s.answer).map((s) => [s.id, s.answer?.ok])).toEqual([
      ['function', true],
      ['line', true],
      ['offset', true],
      ['member', false],
    ]);
    expect(state.steps.at(-1)).toMatchObject({
      id: 'member',
      status: 'failed',
      answer: { given: 'id', expected: 'flags', ok: false },
    });
  }, 300_000);
});
