// kdlab recipes list|show ID, and running a recipe (kdlab run ID) — the same engine as the Recipes view.
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { LabError } from '../../common/errors';
import { parseExecutorKind } from '../../lab/exec/executor-settings';
import type { LabBackend } from '../../lab/lab-backend';
import { RecipeCatalog } from '../../lab/recipes/recipe-loader';
import { RecipeRunner } from '../../lab/recipes/recipe-runner';
import type { RecipeRunState, StepResult } from '../../lab/recipes/recipe-runner';
import type { RecipeStep } from '../../lab/recipes/recipe-schema';
import type { CliContext, Command, OptionValues } from '../command';
import { cliLanguage } from '../../common/local-text';
import { byLabOrder } from '../../common/recipe-order';
import type { JobInfo } from '../../common/types';
import {
  ndjson,
  recipeListText,
  recipeShowText,
  stepIntroText,
  stepResultEvent,
  summaryEvent,
} from '../recipe-text';
import { runJob, str, withBackend } from '../command';
import { LabPacks } from '../../lab/recipes/lab-pack';
import { gradeReports, importedPacks, packSource } from '../../lab/recipes/grading';
import type { GradeResult } from '../../lab/recipes/grading';

/**
 * Recipes imported from lab packs into the workspace, then the shipped ones: a pack's recipe with a
 * shipped id is the teacher's version, so it wins (kdlab lab import says so).
 */
export function recipeCatalog(appRoot: string, workspaceRoot: string): RecipeCatalog {
  return new RecipeCatalog([join(workspaceRoot, 'recipes'), join(appRoot, 'recipes')]);
}

/**
 * How kdlab run shows an answer: a wrong one says where to look, never what the run found (the
 * report keeps that for the teacher).
 */
export function answerLine(step: RecipeStep, answer: NonNullable<StepResult['answer']>): string {
  if (answer.ok)
    return `      ✓ answer ${JSON.stringify(answer.given)}${answer.answeredBy === 'run' ? ' (answered by the run)' : ''}`;
  const where = step.do === 'question' ? `this run's ${step.answer.fact}` : "this run's facts";
  return `      ✗ answer ${JSON.stringify(answer.given)} does not match what this run found\n      hint: look for ${where} in the earlier steps' output, then run again: it resumes at this question.`;
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
  // Auto-answering is recorded in the report (answeredBy: 'run'); say so when nobody asked for it.
  if (nonInteractive && values['non-interactive'] !== true && !json)
    ctx.stderr.write(
      'kdlab run: stdin is not a terminal, so the run answers its own questions (the report records them as answered by the run).\n',
    );
  const student = str(values.student);
  const lang = cliLanguage(str(values.lang), ctx.env);
  const color = ctx.stdout.isTTY === true;
  const steps = loaded.recipe.steps;
  // --json: NDJSON events on stdout as the run goes (a run takes minutes; silence looked like a hang).
  let current: string | null = null;
  let last = { fraction: -1, message: '' };
  const detachEvents = json
    ? backend.events.attach({
        clientId: 'cli-ndjson',
        emit(event, payload) {
          if (event !== 'job.updated') return;
          const job = payload as JobInfo;
          // Progress belongs to a step: the job's own start, before the first step, says nothing more.
          if (job.kind !== 'recipe' || job.state !== 'running' || current === null) return;
          const message = job.progress.message;
          const fraction = job.progress.fraction ?? 0;
          // One line per new message or per whole percent, not one per byte of a build log.
          if (message === last.message && Math.abs(fraction - last.fraction) < 0.01) return;
          last = { fraction, message };
          ctx.stdout.write(
            ndjson({ event: 'progress', recipe: loaded.recipe.id, step: current, fraction, message }),
          );
        },
      })
    : () => undefined;
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
            ...(student ? { student } : {}),
            language: lang,
            ...(rl ? { ask: (q: string) => rl.question(`\n${q}\n> `) } : {}),
            onStepStart: (step, index) => {
              current = step.id;
              ctx.stdout.write(
                json
                  ? ndjson({
                      event: 'step-started',
                      recipe: loaded.recipe.id,
                      step: step.id,
                      index,
                      total: steps.length,
                      do: step.do,
                      title: step.title[lang],
                    })
                  : stepIntroText(step, index, steps.length, lang, color),
              );
            },
            onStep: (step, result) => {
              if (json) {
                const index = steps.findIndex((s) => s.id === step.id);
                ctx.stdout.write(ndjson(stepResultEvent(loaded.recipe.id, index, result)));
                return;
              }
              const mark =
                result.status === 'passed' ? 'PASS' : result.status === 'failed' ? 'FAIL' : 'ERROR';
              const lines = [`${mark.padEnd(6)}${step.title[lang]}`];
              // What gdb or crash printed (gdb's first line says which stub port this run used).
              if (result.output && (step.do === 'gdb' || step.do === 'crash'))
                lines.push(
                  ...result.output
                    .trimEnd()
                    .split('\n')
                    .map((l) => `      │ ${l}`),
                );
              for (const c of result.checks) lines.push(`      ${c.ok ? '✓' : '✗'} ${c.detail}`);
              if (result.answer) lines.push(answerLine(step, result.answer));
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
    if (json) ctx.stdout.write(ndjson(summaryEvent(state, steps.length, runner.stateFile(loaded.recipe.id))));
    else
      ctx.stdout.write(
        `${state.finished ? 'Recipe passed' : 'Recipe not finished'}: ${state.steps.filter((s) => s.status === 'passed').length}/${loaded.recipe.steps.length} steps · report ${runner.stateFile(loaded.recipe.id)}\n`,
      );
    return state.finished ? 0 : 1;
  } finally {
    detachEvents();
    rl?.close();
  }
}

export const recipeCommands: Record<string, Command> = {
  recipes: {
    summary: 'The guided labs: list, show ID',
    usage:
      'kdlab recipes [list | show ID] [--lang en|zh-CN] [--json]\n\n  list: in lab order, with level and estimated time; show: every step with its explanation, checks\n  and question. --lang: zh-CN when LC_ALL, LC_MESSAGES or LANG is Chinese, else en.\n  kdlab run ID [--non-interactive] [--restart] [--lang L] [--json] runs one.',
    options: { json: { type: 'boolean' }, lang: { type: 'string' } },
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
              ? `${JSON.stringify(all.map((l) => l.recipe).sort(byLabOrder), null, 2)}\n`
              : `${recipeListText(
                  all.map((l) => l.recipe),
                  cliLanguage(str(values.lang), ctx.env),
                )}\n`,
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
              recipeShowText(recipe, cliLanguage(str(values.lang), ctx.env), ctx.stdout.isTTY === true),
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
            : `installed ${manifest.recipes.join(', ')} (kernels ${manifest.kernels.map((k) => k.release).join(', ')}, used as they are: no build); kdlab run ${manifest.recipes[0] ?? 'ID'} to start\n${
                manifest.replacesShipped.length
                  ? `note: on this machine the pack's version of ${manifest.replacesShipped.join(', ')} is used instead of the shipped one (the teacher's version runs)\n`
                  : ''
              }`,
        );
        return 0;
      }),
  },
  grade: {
    summary: "A table of students' recipe reports, checked against the lab pack",
    usage: `kdlab grade REPORT… [--pack FILE] [--json]

  Steps are counted against the recipe in the lab pack (--pack FILE, else the packs imported here,
  else the shipped recipe), never against the report; the recipe and every artifact the report lists
  (kernel bzImage/vmlinux by sha256, image, vmcore) are checked against the pack. Verdict per report:
  verified · altered: WHAT · auto-answered (the run answered its own questions) · unverified: WHY.
  Exits 0 only when every report is verified.`,
    options: { pack: { type: 'string' }, json: { type: 'boolean' } },
    positionals: true,
    run: (values, ctx, reports) =>
      withBackend(ctx, 'web', async (backend) => {
        if (reports.length === 0)
          throw new LabError('BAD_REQUEST', 'kdlab grade needs at least one report file.');
        const pack = str(values.pack);
        const result = await gradeReports(
          reports,
          pack ? [await packSource(pack)] : await importedPacks(backend.workspace),
          recipeCatalog(ctx.appRoot, backend.workspace.root),
        );
        ctx.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatGrades(result));
        return result.reports.every((r) => r.row?.verdict === 'verified') ? 0 : 1;
      }),
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

/** Columns a terminal shows: CJK and full-width characters take two. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      c >= 0x20000;
    width += wide ? 2 : 1;
  }
  return width;
}

/** kdlab grade's table: one aligned row per report (a file that is not a report says why). */
export function formatGrades(result: GradeResult): string {
  const header = [
    'STUDENT',
    'RECIPE',
    'STEPS',
    'CHECKS',
    'ANSWERED (student/run)',
    'WRONG',
    'VERDICT',
    'REPORT',
  ];
  const rows = result.reports.map((g) => {
    const r = g.row;
    if (!r) return ['', '', '', '', '', '', `not graded: ${g.error?.message ?? '?'}`, g.name];
    return [
      r.student,
      r.recipe,
      `${r.passed}/${r.total}${r.totalFrom === 'pack' ? '' : '*'}`,
      `${r.checksPassed}/${r.checksTotal}`,
      `${r.byStudent}/${r.byRun}`,
      String(r.wrongAttempts.length),
      r.verdictText,
      g.name,
    ];
  });
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((row) => displayWidth(row[i]!))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - displayWidth(c))))
      .join('  ')
      .trimEnd();
  const against = result.packs.length
    ? `checked against ${result.packs.map((p) => p.source).join(', ')}`
    : 'no lab pack given (--pack FILE) or imported here: hashes are listed, not verified';
  const notes = [against];
  if (result.reports.some((g) => g.row && g.row.totalFrom !== 'pack'))
    notes.push('* step total from the shipped recipe or the report, not from a lab pack');
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${notes.join('\n')}\n`;
}
