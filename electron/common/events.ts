// Back end → UI pushes, one map for both transports.
import type { JobInfo, VmInfo } from './types';

export interface LabEvents {
  'job.updated': JobInfo;
  'job.log': { id: string; text: string };
  'terminal.data': { id: string; data: string };
  'terminal.exit': { id: string; exitCode: number | null; signal: number | null };
  'vm.updated': VmInfo;
}

export type LabEventName = keyof LabEvents;

export const labEventNames = [
  'job.updated',
  'job.log',
  'terminal.data',
  'terminal.exit',
  'vm.updated',
] as const satisfies readonly LabEventName[];

export type LabEventMessage = { [E in LabEventName]: { event: E; payload: LabEvents[E] } }[LabEventName];
