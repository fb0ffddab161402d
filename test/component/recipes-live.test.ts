// The Recipes view while a run goes: each step's result shows as soon as its recipe.step event
// arrives (not when the whole run returns), and the explanations render as Markdown elements in the
// interface's language, with recipe text kept as text.
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMethod, LabApi } from '../../electron/common/api';
import { LabError } from '../../electron/common/errors';
import type { LabEvents } from '../../electron/common/events';
import type { Recipe, RecipeRunState, StepResult } from '../../electron/common/types';
import { parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import { i18n } from '../../renderer/src/lib/i18n/i18n.svelte';
import { JobsState } from '../../renderer/src/lib/state/jobs.svelte';
import RecipesView from '../../renderer/src/views/RecipesView.svelte';

const load = (id: string) => {
  const file = join(process.cwd(), `recipes/${id}/recipe.yaml`);
  return parseRecipe(readFileSync(file, 'utf8'), file);
};
const forgetInit = load('forget-init');
const bootShell = load('boot-shell');

function harness(recipes: Recipe[]) {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let finish: (state: RecipeRunState) => void = () => undefined;
  const answers: Partial<Record<ApiMethod, () => unknown>> = {
    // Out of lab order on purpose: the view sorts by `order`.
    'recipes.list': () => recipes,
    'recipes.problems': () => [],
    'recipes.state': () => null,
    'recipes.run': () => new Promise<RecipeRunState>((resolve) => (finish = resolve)),
    'jobs.list': () => [],
  };
  const api: LabApi = {
    invoke: (async (method: ApiMethod) => {
      const answer = answers[method];
      if (!answer) throw new LabError('UNKNOWN_METHOD', method);
      return answer();
    }) as LabApi['invoke'],
    on: ((event: string, listener: (payload: unknown) => void) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    }) as LabApi['on'],
  };
  const emit = (payload: LabEvents['recipe.step']) => {
    for (const l of listeners.get('recipe.step') ?? []) l(payload);
  };
  return { api, emit, finish: (state: RecipeRunState) => finish(state) };
}

const passed = (id: string, step: Recipe['steps'][number]): StepResult => ({
  id,
  do: step.do,
  status: 'passed',
  checks: step.expect.map((c) => ({ check: c, ok: true, detail: `checked ${id}` })),
  startedAt: '2026-11-23T01:00:00.000Z',
  finishedAt: '2026-11-23T01:00:05.000Z',
});

afterEach(() => {
  i18n.language = 'en';
});

describe('Recipes view, live', () => {
  it('lists recipes in lab order', async () => {
    const { api } = harness([forgetInit, bootShell]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    const catalog = await screen.findByTestId('recipe-catalog');
    await screen.findByRole('heading', { name: bootShell.title.en });
    const titles = within(catalog)
      .getAllByRole('button')
      .map((b) => b.querySelector('strong')?.textContent);
    expect(titles).toEqual([bootShell.title.en, forgetInit.title.en]);
  });

  it('shows each step as running, then its result, while the run is still going', async () => {
    const { api, emit, finish } = harness([forgetInit]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    await screen.findByRole('heading', { name: forgetInit.title.en });
    await fireEvent.click(screen.getByRole('button', { name: 'Run' }));

    const [image, boot] = forgetInit.steps;
    emit({ recipeId: 'forget-init', stepId: image!.id, phase: 'started', result: null });
    await Promise.resolve();
    const imageItem = screen.getByTestId(`step-${image!.id}`);
    expect(imageItem.querySelector('.status')?.textContent).toBe('running');
    expect(imageItem.getAttribute('aria-busy')).toBe('true');

    emit({
      recipeId: 'forget-init',
      stepId: image!.id,
      phase: 'finished',
      result: passed(image!.id, image!),
    });
    emit({ recipeId: 'forget-init', stepId: boot!.id, phase: 'started', result: null });
    await Promise.resolve();
    expect(imageItem.querySelector('.status')?.textContent).toBe('passed');
    expect(imageItem.textContent).toContain(`checked ${image!.id}`);
    expect(screen.getByTestId(`step-${boot!.id}`).querySelector('.status')?.textContent).toBe('running');
    // Another recipe's events are not this one's.
    emit({ recipeId: 'boot-shell', stepId: boot!.id, phase: 'finished', result: passed(boot!.id, boot!) });
    await Promise.resolve();
    expect(screen.getByTestId(`step-${boot!.id}`).querySelector('.status')?.textContent).toBe('running');

    finish({
      recipeId: 'forget-init',
      startedAt: '2026-11-23T01:00:00.000Z',
      updatedAt: '2026-11-23T01:00:10.000Z',
      finished: false,
      steps: [passed(image!.id, image!)],
      artifacts: {},
      facts: {},
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.getByTestId(`step-${boot!.id}`).querySelector('.status')?.textContent).toBe('to do');
  });

  it('shows what gdb printed, with the stub port this run used', async () => {
    const gdbBoot = load('gdb-boot');
    const { api, emit } = harness([gdbBoot]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    await screen.findByRole('heading', { name: gdbBoot.title.en });
    // The selected recipe's saved state (none) loads first.
    await new Promise((r) => setTimeout(r, 0));
    const step = gdbBoot.steps.find((s) => s.id === 'step')!;
    emit({
      recipeId: 'gdb-boot',
      stepId: 'step',
      phase: 'finished',
      result: { ...passed('step', step), output: '(gdb) target remote :1235\nBreakpoint 1, start_kernel ()' },
    });
    const output = await screen.findByTestId('output-step');
    expect(output.querySelector('summary')?.textContent).toBe('What gdb printed');
    expect(output.querySelector('pre')?.textContent).toContain('target remote :1235');
  });

  it('renders the explanation as Markdown, in English and Chinese', async () => {
    const { api } = harness([forgetInit]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    const box = await screen.findByTestId('explain-rdinit');
    expect(within(box).getByRole('heading').textContent).toBe(
      'How the kernel picks its first program (init/main.c, 6.1)',
    );
    const items = within(box).getAllByRole('listitem');
    expect(items).toHaveLength(3);
    expect(items[0]!.querySelector('code')?.textContent).toBe('ramdisk_execute_command');
    expect(box.querySelector('pre code')?.textContent).toBe('Run /bin/sh as init process');
    expect(box.textContent).not.toContain('###');
    expect(box.textContent).not.toContain('`');

    i18n.language = 'zh-CN';
    await Promise.resolve();
    expect(within(box).getByRole('heading').textContent).toBe('内核如何选择第一个程序（init/main.c，6.1）');
    expect(box.textContent).toContain('根本不看');
  });

  it('keeps markup in a recipe’s text as text', async () => {
    const evil = structuredClone(bootShell);
    evil.steps[0]!.explain.en = 'Look: <img src=x onerror="alert(1)"> and `<b>code</b>`';
    const { api } = harness([evil]);
    render(RecipesView, { api, jobs: new JobsState(api) });
    const box = await screen.findByTestId(`explain-${evil.steps[0]!.id}`);
    expect(box.querySelector('img')).toBeNull();
    expect(box.querySelector('b')).toBeNull();
    expect(box.textContent).toContain('<img src=x onerror="alert(1)">');
    expect(box.querySelector('code')?.textContent).toBe('<b>code</b>');
  });
});
