// `kdlab cache list` and `kdlab cache prune`: what takes the space in the workspace, and taking it back.
import { LabError } from '../../common/errors';
import { defaultOlderThanDays, pruneWorkspace } from '../../lab/cache-prune';
import { scanWorkspace } from '../../lab/cache-usage';
import type { WorkspaceUsage } from '../../lab/cache-usage';
import { formatBytes, summarize } from '../../lab/prune-policy';
import type { UsageEntry } from '../../lab/prune-policy';
import { Workspace, defaultWorkspaceRoot } from '../../lab/workspace';
import type { Command } from '../command';
import { runJob, str, withBackend } from '../command';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '-');

function entryNotes(e: UsageEntry): string {
  const notes: string[] = [];
  if (e.build) {
    const b = e.build;
    if (b.executor !== 'host')
      notes.push(
        `docker image ${b.executor.dockerImage} ${b.imageExists === true ? 'present' : b.imageExists === false ? 'GONE' : 'unknown'}`,
      );
    else if (b.type !== 'other') notes.push('host');
    if (b.releases.length) notes.push(b.releases.join(','));
  }
  if (e.valid === false || e.leftover) notes.push(e.leftover?.reason ?? 'invalid');
  notes.push(...e.referencedBy);
  if (e.protectedBy.length) notes.push(`KEEP: ${e.protectedBy.join('; ')}`);
  return notes.join('; ');
}

function renderUsage(usage: WorkspaceUsage, all: boolean): string {
  const rows = [['AREA', 'KIND', 'ENTRIES', 'SIZE']];
  for (const r of summarize(usage.entries))
    rows.push([r.area, r.kind, String(r.entries), formatBytes(r.bytes)]);
  rows.push(['total', '', String(usage.entries.length), formatBytes(usage.totalBytes)]);
  let text = `${usage.root}\n\n${table(rows)}\n`;
  if (all) {
    const detail = [['AREA', 'KIND', 'KEY', 'SIZE', 'CREATED', 'LAST USED', 'NOTES']];
    for (const e of usage.entries)
      detail.push([
        e.area,
        e.kind,
        e.key,
        formatBytes(e.bytes),
        day(e.createdAt),
        day(e.lastUsedAt),
        entryNotes(e),
      ]);
    text += `\n${table(detail)}\n`;
  }
  if (usage.docker.reachable === false)
    text += `\nDocker did not answer: whether build folders' images exist is unknown.\n`;
  if (usage.atimeTracked !== true)
    text += `\nThis filesystem does not record access times: "last used" is the last change.\n`;
  return text;
}

export const cacheCommands: Record<string, Command> = {
  'cache list': {
    summary: 'What takes the space in the workspace (cache, build folders, logs, temp files)',
    usage: `kdlab cache list [--all] [--json]

  Per area and kind: entries and size on disk (hard links counted once). --all lists every entry with
  when it was made and last used, what refers to it (kernels, vmcores, lab packs), build folders'
  executor (host or the Docker image, and whether that image still exists), and what protects it.`,
    options: { all: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(values, ctx) {
      const workspace = await Workspace.open(defaultWorkspaceRoot(ctx.env));
      const usage = await scanWorkspace(workspace);
      ctx.stdout.write(
        values.json ? `${JSON.stringify(usage, null, 2)}\n` : renderUsage(usage, values.all === true),
      );
      return 0;
    },
  },
  'cache prune': {
    summary: 'Remove unused cache entries, build folders, logs and stale temp files',
    usage: `kdlab cache prune [--older-than DAYS] [--dry-run] [--json]

  Removes build folders whose Docker toolchain image is gone, cache entries, build folders, job logs
  and guest run folders not used for more than DAYS (default ${defaultOlderThanDays}), and stale temp,
  staging and inbox files. Never removes a kernel a stored vmcore needs, what an imported lab pack
  installed, or what a running guest uses. --dry-run only prints what would go and how much.`,
    options: { 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        const raw = str(values['older-than']);
        const olderThanDays = raw === undefined ? defaultOlderThanDays : Number(raw);
        if (raw !== undefined && (raw.trim() === '' || !Number.isFinite(olderThanDays) || olderThanDays < 0))
          throw new LabError(
            'BAD_REQUEST',
            `--older-than ${raw}: give a number of days ≥ 0, e.g. --older-than 30.`,
          );
        const dryRun = values['dry-run'] === true;
        const json = values.json === true;
        const result = await runJob(
          backend,
          ctx,
          json,
          { title: dryRun ? 'Prune the workspace (dry run)' : 'Prune the workspace', kind: 'cache-prune' },
          (progress, signal) =>
            pruneWorkspace(
              backend.workspace,
              {
                olderThanDays,
                dryRun,
                busy: () => [
                  ...backend.jobs
                    .list()
                    .filter((j) => j.state === 'running' && j.kind !== 'cache-prune')
                    .map((j) => `job "${j.title}"`),
                  ...backend.vms
                    .list()
                    .filter((v) => v.state !== 'stopped')
                    .map((v) => `guest ${v.id}`),
                ],
              },
              progress,
              signal,
            ),
        );
        if (json) {
          ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return 0;
        }
        const rows = [['AREA', 'KIND', 'KEY', 'SIZE', 'WHY']];
        for (const r of result.removed) rows.push([r.area, r.kind, r.key, formatBytes(r.bytes), r.reason]);
        const verb = dryRun ? 'would be removed' : 'removed';
        let text = result.removed.length ? `${table(rows)}\n\n` : '';
        text += `${result.removed.length} entries ${verb}, ${formatBytes(result.bytes)}; ${result.kept} kept.\n`;
        for (const note of result.notes) text += `note: ${note}\n`;
        ctx.stdout.write(text);
        return 0;
      }),
  },
};
