// What kdlab recipes list|show and kdlab run print: pure functions of a recipe, a language and
// whether the output is a terminal (colour) — plus the NDJSON events of `kdlab run ID --json`.
import type { TextLanguage } from '../common/local-text';
import { markdownToTerminal } from '../common/markdown';
import { byLabOrder } from '../common/recipe-order';
import type { Recipe, RecipeCheck, RecipeStep } from '../lab/recipes/recipe-schema';
import type { RecipeRunState, StepResult } from '../lab/recipes/recipe-state';

const levels: Record<Recipe['level'], Record<TextLanguage, string>> = {
  beginner: { en: 'beginner', 'zh-CN': '入门' },
  intermediate: { en: 'intermediate', 'zh-CN': '中级' },
  advanced: { en: 'advanced', 'zh-CN': '高级' },
};

const words = {
  minutes: { en: 'min', 'zh-CN': '分钟' },
  about: { en: 'about', 'zh-CN': '约' },
  fromSeed: { en: 'from seed', 'zh-CN': '来自种子文章' },
  checks: { en: 'checks', 'zh-CN': '检查' },
  question: { en: 'question', 'zh-CN': '问题' },
  commands: { en: 'commands', 'zh-CN': '命令' },
  types: { en: 'types', 'zh-CN': '输入' },
  step: { en: 'Step', 'zh-CN': '步骤' },
} satisfies Record<string, Record<TextLanguage, string>>;

/** Pads by display width: a CJK character takes two terminal columns. */
function padWidth(text: string, width: number): string {
  const cols = [...text].reduce(
    (n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]/.test(ch) ? 2 : 1),
    0,
  );
  return text + ' '.repeat(Math.max(0, width - cols));
}

/** `kdlab recipes list`: in lab order (the recipe's `order`), with level and estimated time. */
export function recipeListText(recipes: Recipe[], lang: TextLanguage): string {
  return [...recipes]
    .sort(byLabOrder)
    .map(
      (r) =>
        `${(r.order === undefined ? '' : `${r.order}.`).padStart(3)} ${r.id.padEnd(24)} ${padWidth(levels[r.level][lang], 13)} ${String(r.minutes).padStart(3)} ${padWidth(words.minutes[lang], 4)}  ${r.title[lang]}`,
    )
    .join('\n');
}

/** A check as a student reads it (what the step verifies in the run). */
export function checkText(check: RecipeCheck): string {
  if ('console' in check) return `console ~ /${check.console}/`;
  if ('output' in check) return `output ~ /${check.output}/`;
  if ('imageHas' in check) return `image has ${check.imageHas}`;
  if ('imageLacks' in check) return `image lacks ${check.imageLacks}`;
  if ('equals' in check) return `${check.fact} = ${JSON.stringify(check.equals)}`;
  return `${check.fact} ~ /${check.matches}/`;
}

/** What a step does beyond its explanation: commands typed, the question asked, the checks. */
function stepDetails(step: RecipeStep, lang: TextLanguage, indent: string): string[] {
  const lines: string[] = [];
  if (step.do === 'send') lines.push(`${indent}${words.types[lang]}: ${JSON.stringify(step.text)}`);
  if (step.do === 'crash' || step.do === 'gdb')
    lines.push(`${indent}${words.commands[lang]}: ${step.commands.join(' · ')}`);
  if (step.do === 'question') lines.push(`${indent}${words.question[lang]}: ${step.ask[lang]}`);
  if (step.expect.length) {
    lines.push(`${indent}${words.checks[lang]}:`);
    for (const c of step.expect) lines.push(`${indent}  - ${checkText(c)}`);
  }
  return lines;
}

/** `kdlab recipes show ID`: metadata, objectives, then every step with its explanation, checks and question. */
export function recipeShowText(recipe: Recipe, lang: TextLanguage, color: boolean): string {
  const head = [
    recipe.title[lang],
    `${levels[recipe.level][lang]}, ${words.about[lang]} ${recipe.minutes} ${words.minutes[lang]}${recipe.seeds.length ? `, ${words.fromSeed[lang]} ${recipe.seeds.join(', ')}` : ''}`,
    '',
    ...recipe.objectives.map((o) => `  • ${o[lang]}`),
    '',
  ];
  const steps = recipe.steps.map((s, i) =>
    [
      `${String(i + 1).padStart(2)}. ${s.title[lang]} (${s.do})`,
      markdownToTerminal(s.explain[lang], { color, indent: '    ' }),
      ...stepDetails(s, lang, '    '),
    ].join('\n'),
  );
  return `${[...head, steps.join('\n\n')].join('\n')}\n`;
}

/** What kdlab run prints before a step: its title and explanation (and what it will type or ask). */
export function stepIntroText(
  step: RecipeStep,
  index: number,
  total: number,
  lang: TextLanguage,
  color: boolean,
): string {
  const title = `${words.step[lang]} ${index + 1}/${total} · ${step.title[lang]}`;
  const lines = [
    '',
    color ? `\x1b[1m${title}\x1b[22m` : title,
    markdownToTerminal(step.explain[lang], { color, indent: '  ' }),
  ];
  if (step.do === 'send') lines.push(`  ${words.types[lang]}: ${JSON.stringify(step.text)}`);
  if (step.do === 'crash' || step.do === 'gdb')
    lines.push(`  ${words.commands[lang]}: ${step.commands.join(' · ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The events of `kdlab run ID --json`, one JSON object per line on stdout. A step's result omits
 * `answer.expected` (the report keeps it for the teacher).
 */
export type RunEvent =
  | {
      event: 'step-started';
      recipe: string;
      step: string;
      index: number;
      total: number;
      do: string;
      title: string;
    }
  | { event: 'progress'; recipe: string; step: string | null; fraction: number; message: string }
  | {
      event: 'step-passed' | 'step-failed' | 'step-error';
      recipe: string;
      step: string;
      index: number;
      checks: { ok: boolean; detail: string }[];
      answer?: { given: string; ok: boolean };
      error?: StepResult['error'];
      output?: string;
    }
  | {
      event: 'summary';
      recipe: string;
      finished: boolean;
      passed: number;
      total: number;
      report: string;
      state: Omit<RecipeRunState, 'facts'>;
    };

export function stepResultEvent(recipe: string, index: number, result: StepResult): RunEvent {
  return {
    event:
      result.status === 'passed' ? 'step-passed' : result.status === 'failed' ? 'step-failed' : 'step-error',
    recipe,
    step: result.id,
    index,
    checks: result.checks.map((c) => ({ ok: c.ok, detail: c.detail })),
    ...(result.answer ? { answer: { given: result.answer.given, ok: result.answer.ok } } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(result.output ? { output: result.output } : {}),
  };
}

export function summaryEvent(state: RecipeRunState, total: number, report: string): RunEvent {
  const { facts: _facts, ...rest } = state;
  return {
    event: 'summary',
    recipe: state.recipeId,
    finished: state.finished,
    passed: state.steps.filter((s) => s.status === 'passed').length,
    total,
    report,
    state: rest,
  };
}

export const ndjson = (event: RunEvent): string => `${JSON.stringify(event)}\n`;
