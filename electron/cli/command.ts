// What every `kdlab` subcommand is made of, and the helpers they share: an engine for the command's
// lifetime, and its jobs mirrored on the terminal.
import type { ParseArgsConfig } from 'node:util';
import { readAppVersion } from '../lab/app-root';
import { createLabBackend } from '../lab/lab-backend';
import type { LabBackend } from '../lab/lab-backend';
import type { JobOptions, Progress } from '../lab/jobs';
import { ProgressRenderer } from './progress-renderer';

export interface CliContext {
  appRoot: string;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Accepts positional arguments (e.g. `kdlab decode FILE`). */
  positionals?: boolean;
  run(values: OptionValues, ctx: Required<CliContext>, positionals: string[]): Promise<number>;
}

export async function withBackend<T>(
  ctx: Required<CliContext>,
  mode: 'web' | 'electron',
  fn: (backend: LabBackend) => Promise<T>,
): Promise<T> {
  const backend = await createLabBackend({
    mode,
    version: readAppVersion(ctx.appRoot),
    appRoot: ctx.appRoot,
    ...(ctx.env.KDLAB_HOME ? { workspaceRoot: ctx.env.KDLAB_HOME } : {}),
  });
  try {
    return await fn(backend);
  } finally {
    await backend.dispose();
  }
}

/** Mirrors a backend's jobs onto the terminal while a command runs; returns the detach function. */
export function showJobs(backend: LabBackend, stream: NodeJS.WriteStream): () => void {
  const renderer = new ProgressRenderer({ stream });
  return backend.events.attach({
    clientId: 'cli',
    emit(event, payload) {
      if (event === 'job.updated') renderer.update(payload as Parameters<ProgressRenderer['update']>[0]);
    },
  });
}

/** Runs `fn` as a job of the backend, with progress on stderr unless JSON output was asked for. */
export async function runJob<T>(
  backend: LabBackend,
  ctx: Required<CliContext>,
  json: boolean,
  job: JobOptions,
  fn: (progress: Progress, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const detach = json ? () => undefined : showJobs(backend, ctx.stderr);
  try {
    return await backend.jobs.withProgress(job, fn);
  } finally {
    detach();
  }
}

export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
