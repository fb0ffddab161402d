// The Recipes view with a recipe that does not load: the others are listed, and the bad one is
// shown with the loader's FILE:LINE:COL errors (from the API's recipes.problems), in both languages.
import { render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { RecipeProblem } from '../../electron/common/types';
import { parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { JobsState } from '../../renderer/src/lib/state/jobs.svelte';
import RecipesView from '../../renderer/src/views/RecipesView.svelte';

const shipped = join(process.cwd(), 'recipes/sysrq-kdump/recipe.yaml');
const recipe = parseRecipe(readFileSync(shipped, 'utf8'), shipped);
const problem: RecipeProblem = {
  file: '/home/t/.kdlab/recipes/broken/recipe.yaml',
  id: 'broken',
  message:
    '/home/t/.kdlab/recipes/broken/recipe.yaml:12:7: steps.0.expect.0.fact: decoded.functon: decoded has no functon (it has: kind, title, …)',
  hint: 'See recipes/README.md for the recipe format.',
};

function fakeApi(problems: RecipeProblem[]): LabApi {
  const answers: Partial<Record<ApiMethod, () => unknown>> = {
    'recipes.list': () => [recipe],
    'recipes.problems': () => problems,
    'recipes.state': () => null,
    'jobs.list': () => [],
  };
  return {
    invoke: (async (method: ApiMethod) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer();
    }) as LabApi['invoke'],
    on: () => () => undefined,
  };
}

afterEach(() => {
  i18n.language = 'en';
});

describe('Recipes view', () => {
  it('lists the recipes that load and shows the one that does not with its errors', async () => {
    const api = fakeApi([problem]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    const box = await screen.findByTestId('recipe-problems');
    expect(within(box).getByRole('heading').textContent).toBe('Recipes that do not load (1)');
    expect(box.textContent).toContain('broken is not listed: its recipe.yaml has errors.');
    expect(within(box).getByRole('alert').textContent).toContain(
      'recipe.yaml:12:7: steps.0.expect.0.fact: decoded.functon',
    );
    expect(within(box).getByRole('alert').textContent).toContain('See recipes/README.md');
    // The good recipe is still there.
    expect(await screen.findByRole('heading', { name: recipe.title.en })).toBeTruthy();

    i18n.language = 'zh-CN';
    await Promise.resolve();
    expect(within(box).getByRole('heading').textContent).toBe('无法加载的实验（1）');
  });

  it('shows nothing about problems when every recipe loads', async () => {
    const api = fakeApi([]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    await screen.findByRole('heading', { name: recipe.title.en });
    expect(screen.queryByTestId('recipe-problems')).toBeNull();
  });
});
