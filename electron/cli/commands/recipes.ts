// kdlab recipes list|show ID, and running a recipe (kdlab run ID) — the same engine as the Recipes view.
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { LabError } from '../../common/errors';
import { parseExecutorKind } from '../../lab/exec/executor-settings';
import type { LabBackend } from '../../lab/lab-backend';
import { RecipeCatalog } from '../../lab/recipes/recipe-loader';
import { RecipeRunner } from '../../lab/recipes/recipe-runner';
import type { RecipeRunState } from '../../lab/recipes/recipe-runner';
import type { CliContext, Command, OptionValues } from '../command';
import { runJob, str, withBackend } from '../command';
import { LabPacks, grade } from '../../lab/recipes/lab-pack';
import type { PackManifest } from '../../lab/recipes/lab-pack';
import { runCommand } from '../../lab/process';

/** The shipped recipes, then those imported from lab packs into the workspace. */
export function recipeCatalog(appRoot: string, workspaceRoot: string): RecipeCatalog {
  return new RecipeCatalog([join(appRoot, 'recipes'), join(workspaceRoot, 'recipes')]);
}

export async function runRecipe(
  backend: LabBackend,
  ctx: Required<CliContext>,
  id: string,
  values: OptionValues,
): Promise<number> {
  const loaded = await recipeCatalog(ctx.appRoot, backend.workspace.root).get(id);
  const json = values.json === true;
  const executor = parseExecutorKind(str(values.executor), '--executor');
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
            ...(executor ? { executor } : {}),
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
    run: (values, ctx, positionals) =>
      withBackend(ctx, 'web', async (backend) => {
        const [action = 'list', id] = positionals;
        const catalog = recipeCatalog(ctx.appRoot, backend.workspace.root);
        if (action === 'list') {
          // The recipes that load are listed; each that does not is reported after them, with its
          // FILE:LINE:COL errors (and the exit status says something was wrong).
          const { recipes: all, problems } = await catalog.scan();
          ctx.stdout.write(
            values.json
              ? `${JSON.stringify(
                  all.map((l) => l.recipe),
                  null,
                  2,
                )}\n`
              : `${all.map((l) => `${l.recipe.id.padEnd(24)} ${l.recipe.level.padEnd(13)} ${String(l.recipe.minutes).padStart(3)} min  ${l.recipe.title.en}`).join('\n')}\n`,
          );
          for (const problem of problems)
            ctx.stderr.write(
              `\n${problem.id}: not listed, its recipe does not load:\n${problem.message}\n${problem.hint ? `hint: ${problem.hint}\n` : ''}`,
            );
          return problems.length ? 1 : 0;
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
        throw new LabError(
          'BAD_REQUEST',
          `kdlab recipes ${positionals.join(' ')}: expected list or show ID.`,
        );
      }),
  },
  'lab pack': {
    summary: 'Make an offline lab pack: recipes + the built kernels and modules they need',
    usage:
      'kdlab lab pack ID… -o FILE [--json]\n\n  Builds (or reuses) what the recipes need and writes one .tar.gz a student imports with no network.',
    options: { output: { type: 'string', short: 'o' }, json: { type: 'boolean' } },
    positionals: true,
    run: (values, ctx, ids) =>
      withBackend(ctx, 'web', async (backend) => {
        const out = typeof values.output === 'string' ? values.output : null;
        if (!out) throw new LabError('BAD_REQUEST', 'kdlab lab pack needs -o FILE.');
        const manifest = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: 'Lab pack', kind: 'lab-pack' },
          (p, s) => packsFor(backend, ctx).pack(ids, out, p, s),
        );
        ctx.stdout.write(
          values.json
            ? `${JSON.stringify(manifest, (k, v: unknown) => (k === 'files' ? undefined : v), 2)}\n`
            : `${out}: ${manifest.recipes.length} recipes, ${manifest.kernels.length} kernels, ${manifest.modules.length} module builds, ${Object.keys(manifest.files).length} files\n`,
        );
        return 0;
      }),
  },
  'lab import': {
    summary: 'Install a lab pack (no network, no build)',
    usage: 'kdlab lab import FILE [--json]',
    options: { json: { type: 'boolean' } },
    positionals: true,
    run: (values, ctx, [file]) =>
      withBackend(ctx, 'web', async (backend) => {
        if (!file) throw new LabError('BAD_REQUEST', 'kdlab lab import needs the pack file.');
        const manifest = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: 'Lab import', kind: 'lab-import' },
          (p, s) => packsFor(backend, ctx).import(file, p, s),
        );
        ctx.stdout.write(
          values.json
            ? `${JSON.stringify(manifest, (k, v: unknown) => (k === 'files' ? undefined : v), 2)}\n`
            : `installed ${manifest.recipes.join(', ')} (kernels ${manifest.kernels.map((k) => k.release).join(', ')}); kdlab run ${manifest.recipes[0] ?? 'ID'} to start\n`,
        );
        return 0;
      }),
  },
  grade: {
    summary: "A table of students' recipe reports, checked against the lab pack",
    usage: 'kdlab grade REPORT.json… [--pack FILE] [--json]',
    options: { pack: { type: 'string' }, json: { type: 'boolean' } },
    positionals: true,
    run: async (values, ctx, reports) => {
      if (reports.length === 0)
        throw new LabError('BAD_REQUEST', 'kdlab grade needs at least one report file.');
      let pack: PackManifest | null = null;
      if (typeof values.pack === 'string') {
        const r = await runCommand(['tar', '-xzOf', values.pack, './pack.json']);
        if (r.exitCode !== 0) throw new LabError('BAD_REQUEST', `${values.pack} is not a kdlab lab pack.`);
        pack = JSON.parse(r.stdout) as PackManifest;
      }
      const rows = await grade(reports, pack);
      if (values.json) ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else
        ctx.stdout.write(
          `${['report', 'recipe', 'steps', 'done', 'answers', 'artifacts'].join('\t')}\n${rows
            .map((r) =>
              [
                r.report,
                r.recipe,
                `${r.passed}/${r.total}`,
                r.finished ? 'yes' : 'no',
                r.answers,
                r.artifacts,
              ].join('\t'),
            )
            .join('\n')}\n`,
        );
      return rows.every((r) => r.artifacts !== 'unknown kernel') ? 0 : 1;
    },
  },
};

function packsFor(backend: LabBackend, ctx: Required<CliContext>): LabPacks {
  return new LabPacks(
    backend.workspace,
    recipeCatalog(ctx.appRoot, backend.workspace.root),
    backend.kernels,
    join(ctx.appRoot, 'lab-images', 'modules'),
  );
}
