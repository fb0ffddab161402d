// What a recipe run records (pure data: the API contract and the renderer use these types too).
import type { LabErrorData } from '../../common/errors';
import type { RecipeCheck, RecipeStep } from './recipe-schema';

export type Facts = Record<string, unknown>;

export interface CheckResult {
  check: RecipeCheck;
  ok: boolean;
  detail: string;
}

export interface StepResult {
  id: string;
  do: RecipeStep['do'];
  status: 'passed' | 'failed' | 'error';
  checks: CheckResult[];
  /**
   * `expected` is what the run found (for the teacher: the CLI and the UI never show it to the
   * student); `answeredBy: 'run'` when the run answered itself (--non-interactive, a stdin that is
   * not a terminal, the UI's Demonstrate). Reports made before it have no `answeredBy`.
   */
  answer?: { given: string; expected: string; ok: boolean; answeredBy?: AnsweredBy };
  error?: LabErrorData;
  /** What the step's tool printed (gdb, crash, the decoder…): its first 1000 and last 3000 characters. */
  output?: string;
  startedAt: string;
  finishedAt: string;
}

export type AnsweredBy = 'student' | 'run';

/** One answer given to a question, right or wrong. */
export interface AnswerRecord {
  step: string;
  given: string;
  ok: boolean;
  answeredBy: AnsweredBy;
  at: string;
}

export interface RecipeRunState {
  recipeId: string;
  startedAt: string;
  updatedAt: string;
  finished: boolean;
  steps: StepResult[];
  /** Cache keys / ids of the artifacts the run used (kernel, image, vmcore); their content hashes are in `hashes`. */
  artifacts: Record<string, string>;
  /** Who ran it: the name given (--student, the Recipes view's field) or the OS user, and where. */
  student?: { name: string; user: string; host: string };
  /**
   * Every answer given, wrong ones included, in order: kept across resumes and restarts, so a report
   * shows the attempts a resumed step no longer holds.
   */
  answerLog?: AnswerRecord[];
  /**
   * sha256 of the files the run used, by what they are: recipe (recipe.yaml), kernel/bzImage,
   * kernel/vmlinux, image (the initramfs), vmcore — checked against the lab pack when grading.
   */
  hashes?: Record<string, string>;
  /** What the run found so far (kept so a resumed run can check later steps against it). */
  facts: Facts;
}
