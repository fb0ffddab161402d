// Result and event payload types shared by the engine, both transports and the renderer.
import type { LabErrorData } from './errors';
import type { LocalText } from './local-text';

export type CheckStatus = 'ok' | 'warn' | 'missing' | 'error';

export type CheckCategory =
  'emulator' | 'debugger' | 'kdump' | 'image' | 'toolchain' | 'sources' | 'docker' | 'host';

export interface DoctorCheck {
  id: string;
  title: LocalText;
  category: CheckCategory;
  status: CheckStatus;
  /** The version the tool printed, when it has one. */
  version: string | null;
  /** What was found, in a sentence (path, probe outcome, free space…). */
  detail: LocalText;
  /** The exact command that fixes a missing or broken piece (the same in every language unless it has a comment). */
  fix: LocalText | null;
  durationMs: number;
}

export interface HostInfo {
  hostname: string;
  kernel: string;
  arch: string;
  distro: string;
  cpus: number;
  memoryBytes: number;
  user: string;
  isRoot: boolean;
}

export interface DoctorReport {
  host: HostInfo;
  startedAt: string;
  finishedAt: string;
  checks: DoctorCheck[];
  summary: Record<CheckStatus, number>;
}

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobProgress {
  /** 0..1, or null while the amount of work is unknown. */
  fraction: number | null;
  message: string;
  etaSeconds: number | null;
}

export interface JobInfo {
  id: string;
  kind: string;
  title: string;
  /** The title in every interface language (jobs started from the UI); `title` is its English. */
  titleText?: LocalText;
  state: JobState;
  progress: JobProgress;
  createdAt: string;
  endedAt: string | null;
  error: LabErrorData | null;
  logPath: string;
}

export interface JobLogChunk {
  text: string;
  nextOffset: number;
  size: number;
}

export type TerminalKind = 'shell' | 'vm-serial' | 'gdb' | 'crash';

export interface TerminalInfo {
  id: string;
  kind: TerminalKind;
  title: string;
  cols: number;
  rows: number;
  pid: number | null;
}

export interface AppInfo {
  name: 'kdlab';
  version: string;
  mode: 'electron' | 'web';
  workspace: string;
  platform: string;
  node: string;
}

/** Flow control of terminal output (the VS Code scheme): the source pauses above HIGH unacknowledged chars. */
export const terminalFlow = {
  highWatermarkChars: 500_000,
  lowWatermarkChars: 100_000,
  ackChunkChars: 50_000,
  /** Output is batched into at most one event per frame or per this many chars. */
  batchIntervalMs: 16,
  batchMaxChars: 200_000,
} as const;

export interface VmMilestone {
  kind: string;
  atMs: number;
  line: string;
  detail: string | null;
}

export interface VmInfo {
  id: string;
  state: 'running' | 'paused' | 'panicked' | 'stopped';
  kernelKey: string;
  kernelRelease: string;
  accel: 'kvm' | 'tcg';
  /** Why this accelerator (the KVM probe's verdict). */
  /** Why KVM or TCG, in every interface language. */
  accelReason: LocalText;
  gdbPort: number | null;
  argv: string[];
  startedAt: string;
  milestones: VmMilestone[];
  runDir: string;
  /** Where QEMU runs: "host", or the Docker image and engine. */
  executor: string;
  /** Why a stopped guest stopped, when kdlab did not stop it (e.g. its container killed from outside). */
  exitReason: LabErrorData | null;
}

export interface KernelSummary {
  key: string;
  release: string;
  base: string;
  fragments: string[];
  dir: string;
  buildId: string | null;
  buildSeconds: number;
  /** Requested options and what the final .config has (the verification). */
  verification: {
    ok: boolean;
    checks: {
      option: string;
      fragment: string;
      wanted: string;
      got: string;
      status: 'ok' | 'dropped' | 'changed';
      optional: boolean;
      /** Why kconfig did not keep it, in every interface language. */
      reason: LocalText | null;
    }[];
  };
  artifacts: { name: string; path: string; size: number }[];
  modules: number;
  /** Where make ran ("host", or the Docker image and engine); null for builds made before executors. */
  executor: string | null;
  /** When the cache entry was made (ISO time), so a cache hit can say when it was really built. */
  builtAt: string | null;
}

export interface KernelSource {
  kind: string;
  path: string;
  version: string | null;
}

export interface VmcoreSummary {
  id: string;
  dir: string;
  vmcore: string;
  consoleLog: string | null;
  captureDmesg: string | null;
  meta: {
    id: string;
    kernelRelease: string;
    buildId: string | null;
    vmlinux?: string;
    createdAt: string;
    method?: string;
    format?: string;
    trigger: { kind: string };
    dumpLevel: number | null;
    size: number;
    guestMemoryMiB: number;
    crashkernelMiB: number | null;
    panic: string | null;
    timings: { bootToPanicMs: number | null; panicToHostMs: number | null };
    /** Where QEMU and the dump tools ran; absent for captures made before executors. */
    executor?: string;
  };
}

/** One entry of a packed image, as read back from the image itself. */
export interface ImageEntryInfo {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'node';
  /** Permission bits (07777). */
  mode: number;
  /** Regular files: bytes. */
  size?: number;
  target?: string;
  device?: { kind: 'c' | 'b'; major: number; minor: number };
  /** Where the builder took the file from (freshly packed images only). */
  source?: string;
}

export interface ImageSummary {
  kind: 'initramfs' | 'rootfs';
  key: string;
  path: string;
  size: number;
  cacheHit: boolean;
  createdAt?: string;
  init: string | null;
  entries: ImageEntryInfo[];
  /** Pre-boot checks; the message in every interface language. */
  checks: { id: string; ok: boolean; severity: string; message: LocalText }[];
}

/** An image packed earlier in this workspace (from its cache manifest). */
export interface PackedImage {
  kind: 'initramfs' | 'rootfs';
  key: string;
  path: string;
  size: number;
  createdAt: string;
  /** The initramfs whose contents it has (itself, for an initramfs); null if the manifest does not say. */
  contentKey: string | null;
}

// The decoder's report type is pure data defined beside the decoder; the contract re-exports it.
export type { DecodedReport } from '../lab/analyze/decoder/types';
// Recipes and their run state are plain data defined beside the recipe engine.
export type { Recipe } from '../lab/recipes/recipe-schema';
export type { RecipeRunState, StepResult } from '../lab/recipes/recipe-state';
export type { RecipeProblem } from '../lab/recipes/recipe-problem';
export type { CrashReport } from '../lab/analyze/crash/types';
// Files handed to kdlab (drop, upload, open), imported vmcores, lab packs and grading.
export type { FileIdentity, InboxKind } from '../lab/inbox';
export type { VmcoreInspection } from '../lab/kdump/vmcore-import';
export type { ArtifactCheck, GradeResult, GradedReport } from '../lab/recipes/grading';

/** A lab pack's pack.json without the per-file hashes (counted instead). */
export interface PackSummary {
  path: string;
  createdAt: string;
  recipes: string[];
  kernels: { key: string; release: string; buildId: string | null }[];
  modules: string[];
  files: number;
  /** After an import: pack recipes with a shipped recipe's id, which the pack's version now replaces here. */
  replacesShipped?: string[];
}
