// Grading students' progress reports in the UI: each report validated (a wrong file is a row with its
// error, not a failed batch), graded by lab-pack's grade(), and each artifact the run used checked
// against the lab pack's manifest — the pack given, or every pack imported into this workspace.
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { LabErrorData } from '../../common/errors';
import { LabError, toErrorData } from '../../common/errors';
import { progressReportSchema, requireKind } from '../inbox';
import { runCommand } from '../process';
import type { Workspace } from '../workspace';
import { grade } from './lab-pack';
import type { GradeRow, PackManifest } from './lab-pack';

const packManifestSchema = z.object({
  format: z.literal(1),
  createdAt: z.string(),
  recipes: z.array(z.string()),
  kernels: z.array(z.object({ key: z.string(), release: z.string(), buildId: z.string().nullable() })),
  modules: z.array(z.string()),
  files: z.record(z.string(), z.string()),
});

export interface ArtifactCheck {
  /** What the run recorded: kernel, image, vmcore… */
  artifact: string;
  value: string;
  /**
   * verified: the pack lists it (its files are sha256-checked on import); mismatch: the pack's
   * kernels are different ones (built elsewhere or altered); own-run: made by the student's run,
   * never in a pack; no-pack: nothing to check against.
   */
  result: 'verified' | 'mismatch' | 'own-run' | 'no-pack';
  detail: string;
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

/** pack.json of a lab pack file (read from the archive without unpacking it). */
export async function readPackManifest(file: string): Promise<PackManifest> {
  await requireKind(file, 'pack');
  const tar = await runCommand(['tar', '-xzOf', file, './pack.json'], { timeoutMs: 120_000 });
  let json: unknown = null;
  try {
    if (tar.exitCode === 0) json = JSON.parse(tar.stdout);
  } catch {
    json = null;
  }
  const parsed = packManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new LabError(
      'BAD_REQUEST',
      `${basename(file)} is not a kdlab lab pack (no valid pack.json in it).`,
      'A lab pack is the file kdlab lab pack -o FILE wrote.',
    );
  return parsed.data;
}

/** Manifests of the packs imported into this workspace (kept by LabPacks.import). */
export async function importedPacks(
  workspace: Workspace,
): Promise<{ source: string; manifest: PackManifest }[]> {
  const dir = join(workspace.stateDir, 'packs');
  const out: { source: string; manifest: PackManifest }[] = [];
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (!name.endsWith('.json')) continue;
    const parsed = packManifestSchema.safeParse(
      JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => 'null')),
    );
    if (parsed.success) out.push({ source: name.replace(/\.json$/, ''), manifest: parsed.data });
  }
  return out;
}

function artifactChecks(artifacts: Record<string, string>, packs: PackManifest[]): ArtifactCheck[] {
  return Object.entries(artifacts).map(([artifact, value]) => {
    if (artifact !== 'kernel')
      return {
        artifact,
        value,
        result: 'own-run',
        detail: 'made by the run itself; packs hold kernels and modules',
      };
    if (packs.length === 0)
      return { artifact, value, result: 'no-pack', detail: 'no lab pack to check against' };
    const kernel = packs.flatMap((p) => p.kernels).find((k) => k.key === value);
    return kernel
      ? {
          artifact,
          value,
          result: 'verified',
          detail: `the pack's ${kernel.release} (build id ${kernel.buildId ?? 'none'}), sha256-checked on import`,
        }
      : {
          artifact,
          value,
          result: 'mismatch',
          detail: `not a kernel of the pack (it has ${packs.flatMap((p) => p.kernels.map((k) => k.key.slice(0, 12))).join(', ') || 'none'})`,
        };
  });
}

export async function gradeReports(
  reports: string[],
  packs: { source: string; manifest: PackManifest }[],
): Promise<GradeResult> {
  const manifests = packs.map((p) => p.manifest);
  // grade() checks one manifest: give it every pack's kernels at once.
  const merged: PackManifest | null = manifests[0]
    ? { ...manifests[0], kernels: manifests.flatMap((m) => m.kernels) }
    : null;
  const graded: GradedReport[] = [];
  for (const file of reports) {
    const name = basename(file);
    try {
      await requireKind(file, 'report');
      const state = progressReportSchema.parse(JSON.parse(await readFile(file, 'utf8')));
      const [row] = await grade([file], merged);
      graded.push({
        file,
        name,
        row: row ?? null,
        checks: artifactChecks(state.artifacts, manifests),
        error: null,
      });
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
