// The one API contract: request schemas (zod), result types, and the LabApi interface
// implemented by the Electron preload bridge and by the web mode's WebSocket client.
import { z } from 'zod';
import type { LabEventName, LabEvents } from './events';
import type { Result } from './errors';
import type { UiLanguage } from './job-notices';
import type { SaveFileRequest, SaveFileResult } from './save-file';
import type { RecipeProblem } from '../lab/recipes/recipe-problem';
import type {
  AppInfo,
  CrashReport,
  Recipe,
  RecipeRunState,
  DecodedReport,
  DoctorReport,
  FileIdentity,
  GradeResult,
  ImageSummary,
  JobInfo,
  JobLogChunk,
  KernelSource,
  KernelSummary,
  PackSummary,
  PackedImage,
  TerminalInfo,
  VmInfo,
  VmcoreInspection,
  VmcoreSummary,
} from './types';

const id = z.string().min(1).max(100);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(500);
const empty = z.object({}).strict();
const kernelKey = z.string().regex(/^[0-9a-f]{4,64}$/, 'a kernel key (hex)');
const vmId = z.string().regex(/^[\w-]{1,64}$/);
const initTemplate = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('shell') }).strict(),
  z.object({ kind: z.literal('sysrq-crash') }).strict(),
  z.object({ kind: z.literal('exit'), code: z.number().int().min(0).max(255) }).strict(),
]);
const crashTrigger = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sysrq') }).strict(),
  z.object({ kind: z.literal('init-exit'), code: z.number().int().min(0).max(255) }).strict(),
]);
const fragmentName = z.string().regex(/^[\w-]{1,40}$/);
const optionName = z.string().regex(/^[A-Za-z0-9_]{1,80}$/);
/** A file on the back end's host: a dropped file's path (Electron) or its upload in the inbox (web). */
const hostPath = z.string().min(1).max(4096);
/** name[:tag][@digest] (an optional registry host:port/ first), or an image id. */
export const dockerImageRef = z
  .string()
  .max(255)
  .regex(
    /^(?:sha256:[0-9a-f]{12,64}|(?:[a-z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?)$/,
    'a Docker image reference, e.g. kdlab/toolchain:latest',
  );
/** A DOCKER_HOST-style address; the back end parses it fully (ports, TLS) before saving it. */
export const dockerEngineAddress = z
  .string()
  .max(500)
  .regex(
    /^(?:unix:\/\/\/[^\s]+|(?:tcp|ssh|https?):\/\/[^\s/]+\/?)$/,
    'a Docker engine address: unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST',
  );

export const apiRequestSchemas = {
  'app.info': empty,
  'doctor.run': z.object({ kvmProbe: z.boolean().default(true) }).strict(),
  'doctor.last': empty,
  'jobs.list': empty,
  'jobs.cancel': z.object({ id }).strict(),
  'jobs.log': z.object({ id, offset: z.number().int().min(0).default(0) }).strict(),
  'terminal.open': z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('shell'), cols, rows }).strict(),
    z.object({ kind: z.literal('vm-serial'), vmId, cols, rows }).strict(),
    z.object({ kind: z.literal('gdb'), vmId, cols, rows }).strict(),
    z.object({ kind: z.literal('crash'), vmcoreId: vmId, cols, rows }).strict(),
  ]),
  'terminal.list': empty,
  'terminal.write': z.object({ id, data: z.string().max(1_000_000) }).strict(),
  'terminal.resize': z.object({ id, cols, rows }).strict(),
  'terminal.ack': z.object({ id, chars: z.number().int().min(0).max(100_000_000) }).strict(),
  'terminal.close': z.object({ id }).strict(),
  'shell.openExternal': z.object({ url: z.string().max(2048) }).strict(),
  'kernels.sources': empty,
  'kernels.list': empty,
  'kernels.build': z
    .object({
      /** A path from kernels.sources (or any tree/tarball on this host). */
      source: z.string().min(1).max(4096),
      /** A make target, or a .config file on this host (e.g. one dropped on the Kernels view). */
      base: z
        .union([z.enum(['tinyconfig', 'defconfig']), z.object({ configFile: hostPath }).strict()])
        .default('tinyconfig'),
      fragments: z
        .array(fragmentName)
        .max(20)
        .default(['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules']),
      extra: z.record(optionName, z.string().max(200)).default({}),
      optional: z.array(optionName).max(200).default([]),
      jobs: z.number().int().min(1).max(256).optional(),
    })
    .strict(),
  'images.initramfs': z.object({ kernelKey, init: initTemplate.default({ kind: 'shell' }) }).strict(),
  'images.rootfs': z
    .object({
      kernelKey,
      init: initTemplate.default({ kind: 'shell' }),
      /** Free space beyond the contents, in MiB. */
      extraMiB: z.number().int().min(0).max(4096).default(0),
    })
    .strict(),
  'images.list': empty,
  'images.contents': z
    .object({ kind: z.enum(['initramfs', 'rootfs']), key: z.string().regex(/^[\w-]{1,100}$/) })
    .strict(),
  'vms.boot': z
    .object({
      kernelKey,
      init: initTemplate.default({ kind: 'shell' }),
      memoryMiB: z.number().int().min(64).max(65536).optional(),
      cpus: z.number().int().min(1).max(64).optional(),
      crashkernelMiB: z.number().int().min(8).max(4096).optional(),
      gdb: z.boolean().default(false),
      gdbPort: z.number().int().min(1).max(65535).optional(),
      paused: z.boolean().default(false),
      accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    })
    .strict(),
  'vms.list': empty,
  /** Everything the guest printed on its serial console so far (for "Save console log"). */
  'vms.console': z.object({ id: vmId }).strict(),
  'vms.crash': z.object({ id: vmId }).strict(),
  'vms.powerOff': z.object({ id: vmId }).strict(),
  'vms.dumpMemory': z
    .object({ id: vmId, format: z.enum(['elf', 'kdump-zlib']).default('kdump-zlib') })
    .strict(),
  'decoder.decode': z
    .object({
      // Within one WebSocket frame (4 MiB); bigger logs go through `kdlab decode FILE`.
      text: z.string().max(3 * 1024 * 1024),
      /** Optional vmlinux (a path on the back end's host) for file:line and disassembly. */
      vmlinux: z.string().min(1).max(4096).optional(),
    })
    .strict(),
  'recipes.list': empty,
  /** The recipes that do not load, with their FILE:LINE:COL errors (recipes.list shows the others). */
  'recipes.problems': empty,
  'recipes.state': z.object({ id: z.string().regex(/^[a-z0-9-]+$/) }).strict(),
  'recipes.run': z
    .object({
      id: z.string().regex(/^[a-z0-9-]+$/),
      /** The student's answers by step id; a missing or wrong one fails that step (fix it, run again: it resumes). */
      answers: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string().max(500)).default({}),
      /** Answer questions from the run's own facts (a demonstration or CI); the report says so. */
      auto: z.boolean().default(false),
      /** Who the report is for (the Recipes view's name field); the back end's OS user by default. */
      student: z.string().trim().max(100).optional(),
      restart: z.boolean().default(false),
      language: z.enum(['en', 'zh-CN']).default('en'),
    })
    .strict(),
  'recipes.inspectPack': z.object({ path: hostPath }).strict(),
  'recipes.importPack': z.object({ path: hostPath }).strict(),
  'recipes.grade': z
    .object({
      reports: z.array(hostPath).min(1).max(500),
      /** A lab pack file; without one, the packs imported into this workspace. */
      pack: hostPath.optional(),
    })
    .strict(),
  'files.identify': z
    .object({
      path: hostPath,
      /** Refuse anything else, saying what the file is and what was expected. */
      expect: z.enum(['vmcore', 'config', 'pack', 'report', 'log']).optional(),
    })
    .strict(),
  'vmcores.list': empty,
  'vmcores.inspect': z.object({ path: hostPath }).strict(),
  'vmcores.import': z
    .object({ path: hostPath, kernelKey: kernelKey.optional(), vmlinux: hostPath.optional() })
    .strict(),
  'vmcores.analyze': z.object({ id: vmId }).strict(),
  'vmcores.remove': z.object({ id: vmId }).strict(),
  'vmcores.capture': z
    .object({
      kernelKey,
      trigger: crashTrigger.default({ kind: 'sysrq' }),
      memoryMiB: z.number().int().min(256).max(16384).default(1024),
      dumpLevel: z.number().int().min(0).max(31).default(31),
      crashkernelMiB: z.number().int().min(8).max(4096).optional(),
    })
    .strict(),
  'settings.get': empty,
  'settings.setExecutor': z
    .object({
      executor: z.enum(['host', 'docker']),
      /** The lab image Docker steps run in. */
      image: dockerImageRef.optional(),
      /** A saved engine; null forgets it (DOCKER_HOST, else the local socket); absent keeps it. */
      engine: dockerEngineAddress.nullable().optional(),
    })
    .strict(),
  'docker.status': empty,
  'docker.images': empty,
  'docker.buildImage': z
    .object({
      /** A lab image from lab-images/manifest.json. */
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
        .default('toolchain'),
      /** Build FROM this image instead of the manifest's choice. */
      base: z.string().min(1).max(300).optional(),
      force: z.boolean().default(false),
    })
    .strict(),
} as const;

export type ApiMethod = keyof typeof apiRequestSchemas;
export const apiMethods = Object.keys(apiRequestSchemas) as ApiMethod[];

/** What a caller passes (defaults may be omitted). */
export type ApiArgs<M extends ApiMethod> = z.input<(typeof apiRequestSchemas)[M]>;
/** What a handler receives after validation. */
export type ApiParsedArgs<M extends ApiMethod> = z.output<(typeof apiRequestSchemas)[M]>;

/** Where the lab's tools run (state/settings.json); a recipe or a CLI flag may override it per run. */
export interface ExecutorSettingsInfo {
  executor: 'host' | 'docker';
  image: string;
  /** The saved engine, or null: DOCKER_HOST, else the local socket. */
  engine: string | null;
  /** The engine Docker steps go to with these settings (the saved one, else DOCKER_HOST, else the socket). */
  effectiveEngine: string;
}

/** The Docker engine kdlab uses (the saved engine, else DOCKER_HOST, else the local socket). */
export interface DockerStatus {
  endpoint: string;
  isLocal: boolean;
  version: string;
  apiVersion: string;
}

export interface DockerImageSummary {
  id: string;
  tags: string[];
  kind: string;
  sizeBytes: number;
  created: string;
}

export interface DockerBuildResult {
  ref: string;
  imageId: string;
  cacheHit: boolean;
  base: string;
  sizeBytes: number;
}

export interface ApiResults {
  'app.info': AppInfo;
  'doctor.run': DoctorReport;
  'doctor.last': DoctorReport | null;
  'jobs.list': JobInfo[];
  'jobs.cancel': JobInfo;
  'jobs.log': JobLogChunk;
  'terminal.open': TerminalInfo;
  'terminal.list': TerminalInfo[];
  'terminal.write': null;
  'terminal.resize': null;
  'terminal.ack': null;
  'terminal.close': null;
  /** `opened: false` tells a browser client to open the (validated) URL itself. */
  'shell.openExternal': { opened: boolean; url: string };
  'kernels.sources': KernelSource[];
  'kernels.list': KernelSummary[];
  'kernels.build': KernelSummary & { cacheHit: boolean };
  'images.initramfs': ImageSummary;
  'images.rootfs': ImageSummary;
  'images.list': PackedImage[];
  'images.contents': ImageSummary;
  'vms.boot': VmInfo;
  'vms.list': VmInfo[];
  'vms.console': { text: string };
  'vms.crash': null;
  'vms.powerOff': VmInfo;
  'vms.dumpMemory': VmcoreSummary;
  'decoder.decode': DecodedReport[];
  'recipes.list': Recipe[];
  'recipes.problems': RecipeProblem[];
  'recipes.state': RecipeRunState | null;
  'recipes.run': RecipeRunState;
  'recipes.inspectPack': PackSummary;
  'recipes.importPack': PackSummary;
  'recipes.grade': GradeResult;
  'files.identify': FileIdentity;
  'vmcores.list': VmcoreSummary[];
  'vmcores.inspect': VmcoreInspection;
  'vmcores.import': VmcoreSummary;
  'vmcores.analyze': CrashReport;
  'vmcores.remove': null;
  'vmcores.capture': VmcoreSummary;
  'settings.get': ExecutorSettingsInfo;
  'settings.setExecutor': ExecutorSettingsInfo;
  'docker.status': DockerStatus;
  'docker.images': {
    endpoint: string;
    labImages: { name: string; description: { en: string; 'zh-CN': string } }[];
    images: DockerImageSummary[];
  };
  'docker.buildImage': DockerBuildResult;
}

export function isApiMethod(value: unknown): value is ApiMethod {
  return typeof value === 'string' && Object.hasOwn(apiRequestSchemas, value);
}

/** The raw bridge: errors come back as data. Exposed as `window.lab` by the preload. */
export interface LabTransport {
  invoke(method: ApiMethod, args: unknown): Promise<Result<unknown>>;
  on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void;
  /** Electron only: where a dropped or chosen File is on disk (the web mode uploads it instead). */
  pathForFile?(file: File): string;
  /** Electron only: the native save dialog, then the main process writes the file atomically. */
  saveFile?(request: SaveFileRequest): Promise<Result<SaveFileResult>>;
  /** Electron only: the menu and native notifications follow the UI's language. */
  setLanguage?(language: UiLanguage): Promise<Result<null>>;
}

/** The typed API the renderer and the CLI use; failures are thrown as LabError. */
export interface LabApi {
  invoke<M extends ApiMethod>(method: M, args: ApiArgs<M>): Promise<ApiResults[M]>;
  on<E extends LabEventName>(event: E, listener: (payload: LabEvents[E]) => void): () => void;
}

/** External links: only https, no credentials in the URL. */
export function validateExternalUrl(raw: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return null;
  return url;
}

export { ipcChannels } from './ipc-channels';
