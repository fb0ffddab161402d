// kdlab recipes list|show ID, and running a recipe (kdlab run ID) — the same engine as the Recipes view.
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { LabError } from '../../common/errors';
import type { LabBackend } from '../../lab/lab-backend';
import { RecipeCatalog } from '../../lab/recipes/recipe-loader';
import { RecipeRunner } from '../../lab/recipes/recipe-runner';
import type { RecipeRunState } from '../../lab/recipes/recipe-runner';
import type { CliContext, Command, OptionValues } from '../command';
import { runJob } from '../command';

export function recipeCatalog(appRoot: string): RecipeCatalog {
  return new RecipeCatalog([join(appRoot, 'recipes')]);
}

export async function runRecipe(
  backend: LabBackend,
  ctx: Required<CliContext>,
  id: string,
  values: OptionValues,
): Promise<number> {
  const loaded = await recipeCatalog(ctx.appRoot).get(id);
  const json = values.json === true;
  const nonInteractive = values['non-interactive'] === true || !process.stdin.isTTY;
  const rl = nonInteractive ? null : createInterface({ input: process.stdin, output: process.stderr });
  try {
    const runner = new RecipeRunner(
      backend.workspace,
      backend.kernels,
      join(ctx.appRoot, 'lab-images', 'modules'),
    );
    const state: RecipeRunState = await runJob(
      backend,
      ctx,
      json,
      { title: `Recipe ${loaded.recipe.id}`, kind: 'recipe' },
      (progress, signal) =>
        runner.run(
          loaded,
          {
            nonInteractive,
            restart: values.restart === true,
            ...(rl ? { ask: (q: string) => rl.question(`\n${q}\n> `) } : {}),
            onStep: (step, result) => {
              if (json) return;
              const mark =
                result.status === 'passed' ? 'PASS' : result.status === 'failed' ? 'FAIL' : 'ERROR';
              const lines = [`${mark.padEnd(6)}${step.title.en}`];
              for (const c of result.checks) lines.push(`      ${c.ok ? '✓' : '✗'} ${c.detail}`);
              if (result.answer)
                lines.push(
                  `      ${result.answer.ok ? '✓' : '✗'} answer ${JSON.stringify(result.answer.given)} (the run says ${JSON.stringify(result.answer.expected)})`,
                );
              if (result.error)
                lines.push(
                  `      ${result.error.message}${result.error.hint ? `\n      hint: ${result.error.hint}` : ''}`,
                );
              ctx.stdout.write(`${lines.join('\n')}\n`);
            },
          },
          progress,
          signal,
        ),
    );
    if (json)
      ctx.stdout.write(`${JSON.stringify(state, (k, v: unknown) => (k === 'facts' ? undefined : v), 2)}\n`);
    else
      ctx.stdout.write(
        `${state.finished ? 'Recipe passed' : 'Recipe not finished'}: ${state.steps.filter((s) => s.status === 'passed').length}/${loaded.recipe.steps.length} steps · report ${runner.stateFile(loaded.recipe.id)}\n`,
      );
    return state.finished ? 0 : 1;
  } finally {
    rl?.close();
  }
}

export const recipeCommands: Record<string, Command> = {
  recipes: {
    summary: 'The guided labs: list, show ID',
    usage:
      'kdlab recipes [list | show ID] [--json]\n\n  kdlab run ID [--non-interactive] [--restart] [--json] runs one.',
    options: { json: { type: 'boolean' } },
    positionals: true,
    run: async (values, ctx, positionals) => {
      const [action = 'list', id] = positionals;
      const catalog = recipeCatalog(ctx.appRoot);
      if (action === 'list') {
        const all = await catalog.list();
        ctx.stdout.write(
          values.json
            ? `${JSON.stringify(
                all.map((l) => l.recipe),
                null,
                2,
              )}\n`
            : `${all.map((l) => `${l.recipe.id.padEnd(24)} ${l.recipe.level.padEnd(13)} ${String(l.recipe.minutes).padStart(3)} min  ${l.recipe.title.en}`).join('\n')}\n`,
        );
        return 0;
      }
      if (action === 'show' && id) {
        const { recipe } = await catalog.get(id);
        if (values.json) ctx.stdout.write(`${JSON.stringify(recipe, null, 2)}\n`);
        else
          ctx.stdout.write(
            [
              `${recipe.title.en} — ${recipe.title['zh-CN']}`,
              `${recipe.level}, about ${recipe.minutes} min${recipe.seeds.length ? `, from seed ${recipe.seeds.join(', ')}` : ''}`,
              '',
              ...recipe.objectives.map((o) => `  • ${o.en}`),
              '',
              ...recipe.steps.map(
                (s, i) => `${String(i + 1).padStart(2)}. ${s.title.en} (${s.do})\n    ${s.explain.en}`,
              ),
            ].join('\n') + '\n',
          );
        return 0;
      }
      throw new LabError('BAD_REQUEST', `kdlab recipes ${positionals.join(' ')}: expected list or show ID.`);
    },
  },
};
