// Back end → UI pushes, one map for both transports.
import type { JobInfo, StepResult, VmInfo } from './types';

/** What the desktop menu (or a file opened with kdlab) asks the UI to do. */
export type AppCommand =
  | { command: 'navigate'; view: string }
  | { command: 'decode-text'; text: string; path: string }
  | { command: 'open-file'; kind: 'log' | 'vmcore' | 'config' | 'pack' | 'report'; path: string };

export interface LabEvents {
  'job.updated': JobInfo;
  'job.log': { id: string; text: string };
  'terminal.data': { id: string; data: string };
  'terminal.exit': { id: string; exitCode: number | null; signal: number | null };
  'vm.updated': VmInfo;
  'app.command': AppCommand;
  /** A recipe run's step began (`result` null) or ended: the Recipes view shows it at once. */
  'recipe.step': {
    recipeId: string;
    stepId: string;
    phase: 'started' | 'finished';
    result: StepResult | null;
  };
}

export type LabEventName = keyof LabEvents;

export const labEventNames = [
  'job.updated',
  'job.log',
  'terminal.data',
  'terminal.exit',
  'vm.updated',
  'app.command',
  'recipe.step',
] as const satisfies readonly LabEventName[];

export type LabEventMessage = { [E in LabEventName]: { event: E; payload: LabEvents[E] } }[LabEventName];
