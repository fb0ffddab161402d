// Which executor runs the lab: the workspace setting (state/settings.json, key "executor"), a
// recipe's own choice, or a command-line flag — most specific wins — opened into an Executor.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import { openDockerEngine } from '../docker/engine';
import type { Workspace } from '../workspace';
import { writeJsonAtomic } from '../workspace';
import { DockerExecutor } from './docker-executor';
import type { Executor, ExecutorKind } from './executor';
import { executorKinds } from './executor';
import { hostExecutor } from './host-executor';

export interface ExecutorSettings {
  executor: ExecutorKind;
  /** The lab image Docker steps run in. */
  image: string;
  /** A saved engine (unix://, tcp://, ssh://); default DOCKER_HOST, else the local socket. */
  dockerHost: string | null;
}

export const defaultExecutorSettings: ExecutorSettings = {
  executor: 'host',
  image: 'kdlab/toolchain:latest',
  dockerHost: null,
};

function settingsFile(workspace: Workspace): string {
  return join(workspace.stateDir, 'settings.json');
}

export function parseExecutorKind(value: string | undefined, where: string): ExecutorKind | undefined {
  if (value === undefined) return undefined;
  if ((executorKinds as readonly string[]).includes(value)) return value as ExecutorKind;
  throw new LabError('BAD_REQUEST', `${where}: executor ${value}: expected host or docker.`);
}

export async function readExecutorSettings(workspace: Workspace): Promise<ExecutorSettings> {
  const raw = JSON.parse(await readFile(settingsFile(workspace), 'utf8').catch(() => '{}')) as Record<
    string,
    unknown
  >;
  const docker = (raw.docker ?? {}) as { image?: unknown; host?: unknown };
  return {
    executor:
      parseExecutorKind(typeof raw.executor === 'string' ? raw.executor : undefined, 'settings') ?? 'host',
    image: typeof docker.image === 'string' ? docker.image : defaultExecutorSettings.image,
    dockerHost: typeof docker.host === 'string' ? docker.host : null,
  };
}

/** Saves the choice, keeping whatever else the settings file holds. */
export async function writeExecutorSettings(
  workspace: Workspace,
  settings: Partial<ExecutorSettings>,
): Promise<void> {
  const file = settingsFile(workspace);
  const raw = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  const docker = { ...((raw.docker ?? {}) as Record<string, unknown>) };
  if (settings.image !== undefined) docker.image = settings.image;
  if (settings.dockerHost !== undefined) docker.host = settings.dockerHost;
  await writeJsonAtomic(file, {
    ...raw,
    ...(settings.executor ? { executor: settings.executor } : {}),
    docker,
  });
}

/**
 * The executor for a run: `choice` (flag or recipe) over the workspace setting. Docker: the engine
 * is pinged, the image pinned, and containers left by dead kdlab processes removed first.
 */
export async function openExecutor(
  workspace: Workspace,
  choice: { executor?: ExecutorKind | undefined; image?: string; job?: string } = {},
): Promise<Executor> {
  const settings = await readExecutorSettings(workspace);
  const kind = choice.executor ?? settings.executor;
  if (kind === 'host') return hostExecutor;
  const engine = await openDockerEngine(settings.dockerHost ? { host: settings.dockerHost } : {});
  const executor = await DockerExecutor.create({
    engine,
    image: choice.image ?? settings.image,
    workspace: workspace.root,
    ...(choice.job ? { job: choice.job } : {}),
  });
  await executor.cleanupLeftovers();
  return executor;
}
