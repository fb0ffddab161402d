// What `kdlab cache prune` removes, decided from facts the workspace scan gathered (cache-usage.ts):
// pure, so the rules are tested on their own. Protection always wins; staleness and a removed Docker
// image come next; age last, and an old entry that something kept still needs stays.
import { isInside } from './workspace';

/** The parts of the workspace an entry can live in. */
export type UsageArea = 'cache' | 'build' | 'jobs' | 'run' | 'tmp' | 'inbox' | 'vmcores';

/** A build folder: whose kernel it is and where it was built. */
export interface BuildFolderInfo {
  /** `kernel`: an O= tree; `modules`: a module build tree for one kernel; `other`: not kdlab's naming. */
  type: 'kernel' | 'modules' | 'other';
  sourceHash: string | null;
  base: string | null;
  /** Keys of the cached kernels built in this folder (their manifests' buildDir), or the kernel a modules tree is for. */
  kernelKeys: string[];
  releases: string[];
  /** `host`, or the Docker toolchain image id (the 12 hex digits the folder name carries). */
  executor: 'host' | { dockerImage: string };
  /** Whether that image is still on the engine; `unknown` when Docker did not answer (never guessed). */
  imageExists: boolean | 'unknown' | null;
}

/** A leftover: a staging folder, a half entry, a temp file of a process that may be gone. */
export interface Leftover {
  reason: string;
  /** The process named in it (temp names carry the pid), and whether it still runs. */
  ownerPid: number | null;
  ownerAlive: boolean | null;
  /** Without a known owner, how long after its last change it counts as abandoned. */
  graceMs: number;
}

export interface UsageEntry {
  area: UsageArea;
  /** The cache kind (kernels, sources, …), or the area again for the others. */
  kind: string;
  key: string;
  path: string;
  /** Bytes on disk (allocated blocks), every hard-linked file counted once in the whole workspace. */
  bytes: number;
  files: number;
  createdAt: string | null;
  /** Newest of its files' modification and (when the filesystem records them) access times. */
  lastUsedAt: string | null;
  /** A cache entry CacheStore.lookup would accept (manifest present, every output with its size). */
  valid: boolean | null;
  /** Who refers to it, for the listing (vmcores, packs, build folders, kernels). */
  referencedBy: string[];
  /** Why it must never be removed (a vmcore's kernel, a pack's files, a running guest…). */
  protectedBy: string[];
  /** Paths of other entries this one needs (a build folder needs its sources). */
  needs: string[];
  leftover: Leftover | null;
  build: BuildFolderInfo | null;
}

export interface PrunePolicy {
  olderThanDays: number;
  now: number;
}

export interface PruneDecision {
  entry: UsageEntry;
  reason: string;
}

export interface PrunePlan {
  remove: PruneDecision[];
  keep: PruneDecision[];
  bytes: number;
}

const dayMs = 24 * 60 * 60 * 1000;

function ageDays(iso: string | null, now: number): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? (now - t) / dayMs : null;
}

function removalReason(entry: UsageEntry, policy: PrunePolicy): { remove: boolean; reason: string } {
  if (entry.area === 'vmcores')
    return { remove: false, reason: 'the vmcore library (kdlab vmcores rm ID removes a dump)' };
  if (entry.protectedBy.length > 0) return { remove: false, reason: entry.protectedBy.join('; ') };
  const leftover = entry.leftover;
  if (leftover) {
    if (leftover.ownerAlive === true)
      return { remove: false, reason: `${leftover.reason}, process ${leftover.ownerPid} still runs` };
    if (leftover.ownerAlive === false)
      return { remove: true, reason: `${leftover.reason}, process ${leftover.ownerPid} has ended` };
    const changed = entry.lastUsedAt === null ? null : policy.now - Date.parse(entry.lastUsedAt);
    if (changed !== null && changed > leftover.graceMs)
      return { remove: true, reason: `${leftover.reason}, untouched for ${formatAge(changed)}` };
    return { remove: false, reason: `${leftover.reason}, but recent (may still be in use)` };
  }
  const build = entry.build;
  if (build && build.executor !== 'host' && build.imageExists === false)
    return {
      remove: true,
      reason: `built in Docker image ${build.executor.dockerImage}, which is no longer on the engine`,
    };
  const age = ageDays(entry.lastUsedAt, policy.now);
  if (age === null) return { remove: false, reason: 'last use unknown' };
  if (age > policy.olderThanDays) return { remove: true, reason: `not used for ${Math.floor(age)} days` };
  return { remove: false, reason: `used ${formatAge(age * dayMs)} ago` };
}

export function formatAge(ms: number): string {
  if (ms >= dayMs) return `${Math.floor(ms / dayMs)} d`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)} h`;
  return `${Math.max(0, Math.floor(ms / 60_000))} min`;
}

/** Which entries go and why (and why the others stay). */
export function planPrune(entries: UsageEntry[], policy: PrunePolicy): PrunePlan {
  if (!Number.isFinite(policy.olderThanDays) || policy.olderThanDays < 0)
    throw new RangeError(`olderThanDays must be a number ≥ 0, not ${policy.olderThanDays}`);
  const decided = entries.map((entry) => ({ entry, ...removalReason(entry, policy) }));
  // Only age-based removals yield to a kept entry that needs them: a leftover or a build folder of a
  // removed image goes whatever refers to it. Repeated until nothing changes (needs can chain).
  const ageBased = (d: (typeof decided)[number]) =>
    d.remove && d.entry.leftover === null && !(d.entry.build?.imageExists === false);
  for (let changed = true; changed;) {
    changed = false;
    for (const keeper of decided.filter((d) => !d.remove)) {
      for (const need of keeper.entry.needs) {
        for (const d of decided) {
          if (ageBased(d) && isInside(d.entry.path, need)) {
            d.remove = false;
            d.reason = `needed by ${keeper.entry.area}/${keeper.entry.key}`;
            changed = true;
          }
        }
      }
    }
  }
  const remove = decided.filter((d) => d.remove).map(({ entry, reason }) => ({ entry, reason }));
  const keep = decided.filter((d) => !d.remove).map(({ entry, reason }) => ({ entry, reason }));
  return { remove, keep, bytes: remove.reduce((sum, d) => sum + d.entry.bytes, 0) };
}

/** Per area/kind totals for `kdlab cache list`. */
export function summarize(
  entries: UsageEntry[],
): { area: UsageArea; kind: string; entries: number; bytes: number }[] {
  const rows = new Map<string, { area: UsageArea; kind: string; entries: number; bytes: number }>();
  for (const e of entries) {
    const id = `${e.area}/${e.kind}`;
    const row = rows.get(id) ?? { area: e.area, kind: e.kind, entries: 0, bytes: 0 };
    row.entries += 1;
    row.bytes += e.bytes;
    rows.set(id, row);
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}
