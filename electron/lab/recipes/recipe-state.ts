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
  answer?: { given: string; expected: string; ok: boolean };
  error?: LabErrorData;
  startedAt: string;
  finishedAt: string;
}

export interface RecipeRunState {
  recipeId: string;
  startedAt: string;
  updatedAt: string;
  finished: boolean;
  steps: StepResult[];
  /** Hashes of the artifacts the run used (for grading against a lab pack). */
  artifacts: Record<string, string>;
  /** What the run found so far (kept so a resumed run can check later steps against it). */
  facts: Facts;
}
