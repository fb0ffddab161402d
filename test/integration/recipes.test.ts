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
});
