// `kdlab cache prune` as a job: scan, plan (prune-policy.ts), then remove. Each entry is first
// renamed out of its place into tmp/prune-<pid>-…/ and only then deleted, so an interrupted prune
// never leaves a half-deleted cache entry where CacheStore.lookup would look: the entry is either
// whole in place or gone, and the trash folder is a leftover the next prune removes.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LabError } from '../common/errors';
import { scanWorkspace } from './cache-usage';
import type { DockerView, ScanOptions } from './cache-usage';
import type { Progress } from './jobs';
import { formatBytes, planPrune } from './prune-policy';
import type { UsageArea } from './prune-policy';
import type { Workspace } from './workspace';

export const defaultOlderThanDays = 30;

export interface PruneOptions extends Pick<ScanOptions, 'docker' | 'now'> {
  olderThanDays?: number;
  dryRun?: boolean;
  /** What else runs in this back end (jobs, guests); prune refuses while anything does. */
  busy?: () => string[];
}

export interface PrunedItem {
  area: UsageArea;
  kind: string;
  key: string;
  path: string;
  bytes: number;
  reason: string;
}

export interface PruneResult {
  dryRun: boolean;
  olderThanDays: number;
  /** Removed (or, in a dry run, what would be). */
  removed: PrunedItem[];
  bytes: number;
  kept: number;
  /** Things the user should know: no access times, Docker not answering. */
  notes: string[];
  docker: DockerView;
}

function notesFor(atimeTracked: boolean | null, docker: DockerView): string[] {
  const notes: string[] = [];
  if (atimeTracked !== true)
    notes.push(
      'This filesystem does not record access times (noatime): "last used" is the last change, so an entry read every day but made long ago counts as unused.',
    );
  if (docker.reachable === false)
    notes.push(
      `Docker did not answer (${docker.error.split('\n')[0]}): whether Docker build folders' images still exist is unknown, so none was removed for that reason.`,
    );
  return notes;
}

/** Moves `path` out of its place, then deletes it; the move is what makes an interruption harmless. */
async function removeEntry(path: string, trash: string): Promise<void> {
  const target = join(trash, `${basename(dirname(path))}--${basename(path)}`);
  try {
    await rename(path, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EXDEV') throw error;
    // Another filesystem than tmp/: a dot-name with .old- in the same folder is what CacheStore and
    // KernelBuilder already skip (and what the next scan counts as a leftover).
    const aside = join(
      dirname(path),
      `.${basename(path)}.old-prune-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await rename(path, aside);
    await rm(aside, { recursive: true, force: true });
    return;
  }
  await rm(target, { recursive: true, force: true });
}

export async function pruneWorkspace(
  workspace: Workspace,
  options: PruneOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<PruneResult> {
  const olderThanDays = options.olderThanDays ?? defaultOlderThanDays;
  if (!Number.isFinite(olderThanDays) || olderThanDays < 0)
    throw new LabError('BAD_REQUEST', `--older-than ${olderThanDays}: give a number of days ≥ 0.`);
  const busy = options.busy?.() ?? [];
  if (busy.length > 0)
    throw new LabError(
      'UNAVAILABLE',
      `Not pruning while this kdlab runs other work: ${busy.join(', ')}.`,
      'Wait for it to finish (or cancel it), then prune again; --dry-run shows what would go meanwhile.',
    );
  progress.report({ fraction: 0.02, message: 'Measuring the workspace' });
  const usage = await scanWorkspace(workspace, {
    ...(options.docker ? { docker: options.docker } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    signal,
  });
  const plan = planPrune(usage.entries, { olderThanDays, now: options.now ?? Date.now() });
  const result: PruneResult = {
    dryRun: options.dryRun === true,
    olderThanDays,
    removed: [],
    bytes: 0,
    kept: plan.keep.length,
    notes: notesFor(usage.atimeTracked, usage.docker),
    docker: usage.docker,
  };
  const item = (d: (typeof plan.remove)[number]): PrunedItem => ({
    area: d.entry.area,
    kind: d.entry.kind,
    key: d.entry.key,
    path: d.entry.path,
    bytes: d.entry.bytes,
    reason: d.reason,
  });
  if (result.dryRun) {
    result.removed = plan.remove.map(item);
    result.bytes = plan.bytes;
    progress.report({
      fraction: 1,
      message: `Dry run: ${plan.remove.length} entries, ${formatBytes(plan.bytes)} would be removed`,
    });
    return result;
  }

  const trash = join(workspace.tmpDir, `prune-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(trash, { recursive: true });
  try {
    for (const [i, decision] of plan.remove.entries()) {
      if (signal.aborted) throw new LabError('CANCELLED', 'Pruning was cancelled.');
      await removeEntry(decision.entry.path, trash);
      result.removed.push(item(decision));
      result.bytes += decision.entry.bytes;
      progress.log(
        `removed ${decision.entry.path} (${formatBytes(decision.entry.bytes)}): ${decision.reason}\n`,
      );
      progress.report({
        fraction: 0.3 + (0.7 * (i + 1)) / plan.remove.length,
        message: `Removed ${i + 1} of ${plan.remove.length} (${formatBytes(result.bytes)})`,
      });
    }
  } finally {
    await rm(trash, { recursive: true, force: true });
  }
  progress.report({
    fraction: 1,
    message: `Removed ${result.removed.length} entries, ${formatBytes(result.bytes)} freed`,
  });
  return result;
}
