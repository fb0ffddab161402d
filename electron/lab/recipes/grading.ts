// Grading students' progress reports (kdlab grade and the Recipes view): each report validated (a
// wrong file is a row with its error, not a failed batch); the step total comes from the recipe in
// the lab pack, never from the report; the recipe and every artifact the report lists are checked by
// content hash against the pack; questions the run answered itself are counted apart. The hashes
// catch a report that was cut down, edited by hand, or run on other files; they are not a signature
// (a determined student can recompute them), which would need a teacher-held key.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { LabErrorData } from '../../common/errors';
import { LabError, toErrorData } from '../../common/errors';
import { progressReportSchema, requireKind } from '../inbox';
import { runCommand } from '../process';
import type { Workspace } from '../workspace';
import { importedPackManifests } from './lab-pack';
import type { PackManifest } from './lab-pack';
import { parseRecipe } from './recipe-loader';
import type { RecipeCatalog } from './recipe-loader';
import type { Recipe } from './recipe-schema';
import { sameAnswer } from './recipe-runner';

const packManifestSchema = z.object({
  format: z.literal(1),
  createdAt: z.string(),
  recipes: z.array(z.string()),
  kernels: z.array(z.object({ key: z.string(), release: z.string(), buildId: z.string().nullable() })),
  modules: z.array(z.string()),
  programs: z.array(z.object({ key: z.string(), sourceKey: z.string() })).optional(),
  recipeKernels: z.record(z.string(), z.string()).optional(),
  files: z.record(z.string(), z.string()),
});

/** The report's fields grading reads (inbox's schema identifies a report; this one grades it). */
const gradedReportSchema = progressReportSchema.extend({
  steps: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['passed', 'failed', 'error']),
      checks: z.array(z.object({ ok: z.boolean() })).default([]),
      answer: z
        .object({
          given: z.string(),
          expected: z.string(),
          ok: z.boolean(),
          answeredBy: z.enum(['student', 'run']).optional(),
        })
        .optional(),
    }),
  ),
  student: z.object({ name: z.string(), user: z.string(), host: z.string() }).optional(),
  answerLog: z
    .array(
      z.object({
        step: z.string(),
        given: z.string(),
        ok: z.boolean(),
        answeredBy: z.enum(['student', 'run']),
        at: z.string(),
      }),
    )
    .default([]),
  hashes: z.record(z.string(), z.string()).default({}),
});
type GradedState = z.infer<typeof gradedReportSchema>;

/** A lab pack to grade against: its manifest, and its recipes' text (sha256-checked against it). */
export interface PackSource {
  source: string;
  manifest: PackManifest;
  recipeText: (id: string) => Promise<string | null>;
}

export interface ArtifactCheck {
  /** What the run recorded: recipe, kernel, kernel/bzImage, kernel/vmlinux, image, vmcore… */
  artifact: string;
  value: string;
  /**
   * verified: the pack has it with this sha256 (or this kernel key); mismatch: the pack's is
   * different (altered, or built elsewhere); missing: the report should list it and does not;
   * own-run: made by the student's run, never in a pack; no-pack: nothing to check against.
   */
  result: 'verified' | 'mismatch' | 'missing' | 'own-run' | 'no-pack';
  detail: string;
}

export type Verdict = 'verified' | 'altered' | 'auto-answered' | 'unverified';

export interface GradeRow {
  report: string;
  recipe: string;
  /** The name the student gave (or their OS user); `?` in reports made before it was recorded. */
  student: string;
  /** user@host the run was made as. */
  studentDetail: string;
  passed: number;
  /** Steps of the recipe: from the pack's recipe, else the shipped one, else (unverified) the report. */
  total: number;
  totalFrom: 'pack' | 'shipped' | 'report';
  finished: boolean;
  checksPassed: number;
  checksTotal: number;
  /** Questions answered, by the student and by the run itself (--non-interactive, Demonstrate). */
  byStudent: number;
  byRun: number;
  /** Wrong answers the student gave, resumed steps included, with their times. */
  wrongAttempts: { step: string; given: string; at: string }[];
  answers: string;
  verdict: Verdict;
  /** What is altered, auto-answered or unverifiable (empty when verified). */
  problems: string[];
  /** `verified`, `altered: kernel/bzImage, steps`, `auto-answered: 2 of 2 questions`… */
  verdictText: string;
}

export interface GradedReport {
  file: string;
  name: string;
  /** Null when the file is not a progress report (then `error` says why). */
  row: GradeRow | null;
  checks: ArtifactCheck[];
  error: LabErrorData | null;
}

export interface GradeResult {
  /** Where the pack manifests came from (a pack file, or the packs imported here). */
  packs: { source: string; recipes: string[]; kernels: number; files: number }[];
  reports: GradedReport[];
}

function parseManifest(json: unknown, name: string): PackManifest {
  const parsed = packManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new LabError(
      'BAD_REQUEST',
      `${name} is not a kdlab lab pack (no valid pack.json in it).`,
      'A lab pack is the file kdlab lab pack -o FILE wrote.',
    );
  return parsed.data;
}

async function extract(file: string, member: string): Promise<string | null> {
  const tar = await runCommand(['tar', '-xzOf', file, `./${member}`], { timeoutMs: 120_000 });
  return tar.exitCode === 0 ? tar.stdout : null;
}

/** pack.json of a lab pack file (read from the archive without unpacking it). */
export async function readPackManifest(file: string): Promise<PackManifest> {
  await requireKind(file, 'pack');
  const text = await extract(file, 'pack.json');
  let json: unknown;
  try {
    json = JSON.parse(text ?? 'null');
  } catch {
    json = null;
  }
  return parseManifest(json, basename(file));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A recipe's text, only when it is the one the pack lists (same sha256). */
function checkedRecipe(manifest: PackManifest, id: string, text: string | null): string | null {
  const want = manifest.files[`recipes/${id}/recipe.yaml`];
  return text !== null && want && sha256(text) === want ? text : null;
}

/** A lab pack file to grade against: its manifest, and its recipes read out of the archive. */
export async function packSource(file: string): Promise<PackSource> {
  const manifest = await readPackManifest(file);
  return {
    source: basename(file),
    manifest,
    recipeText: async (id) =>
      manifest.recipes.includes(id)
        ? checkedRecipe(manifest, id, await extract(file, `recipes/${id}/recipe.yaml`))
        : null,
  };
}

/** The packs imported into this workspace (kept by LabPacks.import), their recipes as installed. */
export async function importedPacks(workspace: Workspace): Promise<PackSource[]> {
  return (await importedPackManifests(workspace)).flatMap(({ source, manifest }) => {
    const parsed = packManifestSchema.safeParse(manifest);
    if (!parsed.success) return [];
    const m = parsed.data;
    return [
      {
        source,
        manifest: m,
        recipeText: async (id: string) =>
          m.recipes.includes(id)
            ? checkedRecipe(
                m,
                id,
                await readFile(join(workspace.root, 'recipes', id, 'recipe.yaml'), 'utf8').catch(() => null),
              )
            : null,
      },
    ];
  });
}

function checkArtifacts(state: GradedState, pack: PackManifest | null, problems: Problems): ArtifactCheck[] {
  const checks: ArtifactCheck[] = [];
  const hashes = state.hashes;
  const id = state.recipeId;
  const hashCheck = (artifact: string, packFile: string | null, ownRun: string) => {
    const value = hashes[artifact];
    if (value === undefined) {
      checks.push({ artifact, value: '', result: 'missing', detail: 'the report lists no sha256 for it' });
      problems.unverified.push(`no ${artifact} hash`);
      return;
    }
    if (!pack) {
      checks.push({ artifact, value, result: 'no-pack', detail: 'no lab pack to check against' });
      return;
    }
    if (packFile === null) {
      checks.push({ artifact, value, result: 'own-run', detail: ownRun });
      return;
    }
    const want = pack.files[packFile];
    if (want === value)
      checks.push({ artifact, value, result: 'verified', detail: `sha256 matches the pack's ${packFile}` });
    else {
      checks.push({
        artifact,
        value,
        result: 'mismatch',
        detail: want
          ? `the pack's ${packFile} has sha256 ${want.slice(0, 16)}…`
          : `the pack has no ${packFile}`,
      });
      problems.altered.push(artifact);
    }
  };

  hashCheck('recipe', `recipes/${id}/recipe.yaml`, '');
  const key = state.artifacts.kernel;
  if (key !== undefined) {
    if (!pack)
      checks.push({
        artifact: 'kernel',
        value: key,
        result: 'no-pack',
        detail: 'no lab pack to check against',
      });
    else {
      const kernel = pack.kernels.find((k) => k.key === key);
      const want = pack.recipeKernels?.[id];
      if (kernel && (!want || want === key))
        checks.push({
          artifact: 'kernel',
          value: key,
          result: 'verified',
          detail: `the pack's ${kernel.release} (build id ${kernel.buildId ?? 'none'})`,
        });
      else {
        checks.push({
          artifact: 'kernel',
          value: key,
          result: 'mismatch',
          detail: `not the pack's kernel for ${id} (it has ${(want ? [want] : pack.kernels.map((k) => k.key)).map((k) => k.slice(0, 12)).join(', ') || 'none'})`,
        });
        problems.altered.push('kernel');
      }
    }
    for (const file of ['bzImage', 'vmlinux'])
      hashCheck(`kernel/${file}`, `cache/kernels/${key}/${file}`, '');
  }
  if (state.artifacts.image !== undefined)
    hashCheck(
      'image',
      null,
      "built by the student's run from the pack's kernel tools and busybox; packs hold no images",
    );
  if (state.artifacts.vmcore !== undefined)
    hashCheck('vmcore', null, "captured by the student's run (compare it with the vmcore they hand in)");
  return checks;
}

interface Problems {
  altered: string[];
  unverified: string[];
}

/** The report's steps against the recipe's: a prefix in order, stopping at the first failure. */
function checkSteps(state: GradedState, recipe: Recipe, problems: Problems): void {
  const ids = recipe.steps.map((s) => s.id);
  const steps = state.steps;
  if (steps.length > ids.length || steps.some((s, i) => s.id !== ids[i])) problems.altered.push('steps');
  else if (steps.slice(0, -1).some((s) => s.status !== 'passed')) problems.altered.push('steps');
  const complete = steps.length === ids.length && steps.every((s) => s.status === 'passed');
  if (state.finished && !complete) problems.altered.push('finished');
  if (steps.some((s) => s.status === 'passed' && s.checks.some((c) => !c.ok)))
    problems.altered.push('checks');
  const questions = new Set(recipe.steps.filter((s) => s.do === 'question').map((s) => s.id));
  if (steps.some((s) => s.status === 'passed' && questions.has(s.id) && !s.answer))
    problems.altered.push('answers');
}

function gradeState(
  file: string,
  state: GradedState,
  recipe: Recipe | null,
  totalFrom: GradeRow['totalFrom'],
  pack: PackManifest | null,
  problems: Problems,
): { row: GradeRow; checks: ArtifactCheck[] } {
  if (recipe) checkSteps(state, recipe, problems);
  // A step counts as passed only with its checks and answer agreeing (an edited `ok` does not).
  if (state.steps.some((s) => s.answer?.ok && !sameAnswer(s.answer.given, s.answer.expected)))
    problems.altered.push('answers');
  const checks = checkArtifacts(state, pack, problems);
  const answered = state.steps.filter((s) => s.answer);
  const byRun = answered.filter((s) => s.answer!.answeredBy === 'run').length;
  const unknownBy = answered.filter((s) => !s.answer!.answeredBy).length;
  if (unknownBy) problems.unverified.push(`${unknownBy} answers without answeredBy`);
  const altered = [...new Set(problems.altered)];
  const verdict: Verdict = altered.length
    ? 'altered'
    : byRun
      ? 'auto-answered'
      : problems.unverified.length
        ? 'unverified'
        : 'verified';
  const listed =
    verdict === 'altered'
      ? altered
      : verdict === 'auto-answered'
        ? [`${byRun} of ${answered.length} questions`]
        : verdict === 'unverified'
          ? problems.unverified
          : [];
  const row: GradeRow = {
    report: file,
    recipe: state.recipeId,
    student: state.student?.name ?? '?',
    studentDetail: state.student ? `${state.student.user}@${state.student.host}` : '',
    passed: state.steps.filter((s) => s.status === 'passed').length,
    total: recipe?.steps.length ?? state.steps.length,
    totalFrom,
    finished: state.finished,
    checksPassed: state.steps.reduce((n, s) => n + s.checks.filter((c) => c.ok).length, 0),
    checksTotal: state.steps.reduce((n, s) => n + s.checks.length, 0),
    byStudent: answered.length - byRun - unknownBy,
    byRun,
    wrongAttempts: state.answerLog
      .filter((a) => !a.ok && a.answeredBy === 'student')
      .map((a) => ({ step: a.step, given: a.given, at: a.at })),
    answers: answered
      .map(
        (s) =>
          `${s.id}=${s.answer!.given}${s.answer!.ok ? '' : '✗'}${s.answer!.answeredBy === 'run' ? '(run)' : ''}`,
      )
      .join(' '),
    verdict,
    problems: verdict === 'verified' ? [] : [...altered, ...new Set(problems.unverified)],
    verdictText: listed.length ? `${verdict}: ${listed.join(', ')}` : verdict,
  };
  return { row, checks };
}

/**
 * Grades each report against the first pack that holds its recipe (the given pack file, or the packs
 * imported here); without one, the step total comes from `shipped` (the catalog) and the verdict is
 * at best unverified.
 */
export async function gradeReports(
  reports: string[],
  packs: PackSource[],
  shipped?: RecipeCatalog,
): Promise<GradeResult> {
  const graded: GradedReport[] = [];
  for (const file of reports) {
    const name = basename(file);
    try {
      await requireKind(file, 'report');
      const state = gradedReportSchema.parse(JSON.parse(await readFile(file, 'utf8')));
      const problems: Problems = { altered: [], unverified: [] };
      const pack = packs.find((p) => p.manifest.recipes.includes(state.recipeId)) ?? null;
      if (!pack)
        problems.unverified.push(packs.length ? `${state.recipeId} is in no given pack` : 'no lab pack');
      let recipe: Recipe | null = null;
      let totalFrom: GradeRow['totalFrom'] = 'report';
      if (pack) {
        const text = await pack.recipeText(state.recipeId);
        if (text === null) problems.unverified.push("the pack's recipe could not be read");
        else {
          recipe = parseRecipe(text, `${pack.source}:recipes/${state.recipeId}/recipe.yaml`);
          totalFrom = 'pack';
        }
      } else if (shipped) {
        recipe = (await shipped.get(state.recipeId).catch(() => null))?.recipe ?? null;
        if (recipe) totalFrom = 'shipped';
      }
      const { row, checks } = gradeState(file, state, recipe, totalFrom, pack?.manifest ?? null, problems);
      graded.push({ file, name, row, checks, error: null });
    } catch (error) {
      graded.push({ file, name, row: null, checks: [], error: toErrorData(error) });
    }
  }
  return {
    packs: packs.map((p) => ({
      source: p.source,
      recipes: p.manifest.recipes,
      kernels: p.manifest.kernels.length,
      files: Object.keys(p.manifest.files).length,
    })),
    reports: graded,
  };
}
