// The lab images (lab-images/<name>/Dockerfile, listed in lab-images/manifest.json): built through
// the engine's build API, tagged with a hash of their context and base, and reused while unchanged.
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { addAbortSignal } from 'node:stream';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { LabError } from '../../common/errors';
import { findAppRoot } from '../app-root';
import type { Progress } from '../jobs';
import { baseImageRef, ensureDebianBase, inspectImage } from './base-image';
import { diskFullError, dockerError, engineError, isDiskFull, kdlabLabel } from './engine';
import type { DockerEngine } from './engine';
import { readDockerStream } from './json-stream';

const imageName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, . _ -');

export const labImageManifestSchema = z.object({
  images: z
    .array(
      z.object({
        name: imageName,
        /** Build context, relative to lab-images/. */
        context: z
          .string()
          .refine((c) => !c.startsWith('/') && !c.split('/').includes('..'), 'a folder inside lab-images/'),
        /** Shown in the Settings view, in the interface's language. */
        description: z.object({ en: z.string().min(1), 'zh-CN': z.string().min(1) }).strict(),
        /** What `ARG BASE` defaults to in the Dockerfile (a public image). */
        defaultBase: z.string().min(1),
        /** The Debian suite of the local debootstrap base used when defaultBase is not on the engine. */
        localBase: z.object({ suite: z.string().regex(/^[a-z][a-z0-9-]*$/) }).optional(),
      }),
    )
    .min(1),
});

export type LabImageManifest = z.infer<typeof labImageManifestSchema>;
export type LabImageEntry = LabImageManifest['images'][number];

export function defaultLabImagesDir(): string {
  return join(findAppRoot(), 'lab-images');
}

export async function readLabImageManifest(
  labImagesDir: string = defaultLabImagesDir(),
): Promise<LabImageManifest> {
  const file = join(labImagesDir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LabError(
      'NOT_FOUND',
      `Cannot read the lab image manifest ${file}: ${(error as Error).message}`,
      'Reinstall kdlab, or restore lab-images/manifest.json from git.',
    );
  }
  const parsed = labImageManifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new LabError(
      'BAD_REQUEST',
      `${file} is not a valid lab image manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const names = parsed.data.images.map((i) => i.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new LabError('BAD_REQUEST', `${file} lists the image "${twice}" twice.`);
  return parsed.data;
}

export async function findLabImage(
  name: string,
  labImagesDir: string = defaultLabImagesDir(),
): Promise<LabImageEntry> {
  const manifest = await readLabImageManifest(labImagesDir);
  const entry = manifest.images.find((i) => i.name === name);
  if (!entry)
    throw new LabError(
      'NOT_FOUND',
      `There is no lab image "${name}".`,
      `Known images: ${manifest.images.map((i) => i.name).join(', ')} (lab-images/manifest.json).`,
    );
  return entry;
}

/** Every regular file of a build context, as sorted paths relative to it (symlinks refused: they would not hash what is sent). */
export async function contextFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      throw new LabError(
        'NOT_FOUND',
        `Cannot read the build context ${current}: ${(error as Error).message}`,
      );
    }
    for (const name of names.sort()) {
      const full = join(current, name);
      const info = await lstat(full);
      if (info.isDirectory()) await walk(full);
      else if (info.isFile()) out.push(relative(dir, full).split(sep).join('/'));
      else
        throw new LabError(
          'BAD_REQUEST',
          `${full} in a lab image context is not a regular file or folder.`,
          'Copy the file into the context instead of linking it.',
        );
    }
  };
  await walk(dir);
  if (!out.includes('Dockerfile'))
    throw new LabError(
      'NOT_FOUND',
      `${dir} has no Dockerfile.`,
      'A lab image context needs a Dockerfile at its top.',
    );
  return out;
}

/** sha256 over each file's path, mode and content, then the base image id: the image's identity. */
export async function contextHash(
  dir: string,
  files: readonly string[],
  baseImageId: string,
): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    const full = join(dir, file);
    const info = await lstat(full);
    hash.update(`${file}\0${(info.mode & 0o111) !== 0 ? 'x' : '-'}\0`);
    hash.update(
      createHash('sha256')
        .update(await readFile(full))
        .digest('hex'),
    );
    hash.update('\n');
  }
  hash.update(`base\0${baseImageId}\n`);
  return hash.digest('hex');
}

/** Dockerfile instructions in order (continuation lines joined, comments and blank lines dropped). */
export function dockerfileInstructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    current += `${line.replace(/\\$/, '')} `;
    if (!line.endsWith('\\')) {
      out.push(current.trim());
      current = '';
    }
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/**
 * Progress of a classic-builder build from its `stream` lines: which step runs, weighted so a RUN
 * counts far more than an ARG or LABEL, and inside a RUN that installs packages, apt's own counts
 * (downloaded, unpacked, set up out of "N newly installed"). Also keeps the current step's output
 * for the error when it fails.
 */
export class BuildProgress {
  step = 0;
  total = 0;
  stepLine = '';
  imageId: string | null = null;
  #output: string[] = [];
  #pending = '';
  readonly #weights: number[];
  #apt = { total: 0, got: 0, unpacked: 0, setUp: 0 };

  constructor(dockerfile = '') {
    this.#weights = dockerfileInstructions(dockerfile).map((i) =>
      /^RUN\s/i.test(i) ? 20 : /^(FROM|COPY|ADD)\s/i.test(i) ? 2 : 1,
    );
  }

  #fraction(within: number): number {
    const weights = Array.from({ length: Math.max(this.total, 1) }, (_, i) => this.#weights[i] ?? 1);
    const all = weights.reduce((a, b) => a + b, 0);
    const done = weights.slice(0, Math.max(0, this.step - 1)).reduce((a, b) => a + b, 0);
    return Math.min(1, (done + (weights[this.step - 1] ?? 1) * within) / all);
  }

  #aptWithin(): number {
    const { total, got, unpacked, setUp } = this.#apt;
    if (total === 0) return 0.02;
    if (setUp > 0) return 0.7 + 0.3 * Math.min(1, setUp / total);
    if (unpacked > 0) return 0.4 + 0.3 * Math.min(1, unpacked / total);
    return 0.05 + 0.35 * Math.min(1, got / total);
  }

  /** Feeds `stream` text (lines may be split across calls); returns the latest progress update, if any. */
  push(text: string): { fraction: number; message: string } | null {
    let update: { fraction: number; message: string } | null = null;
    const lines = (this.#pending + text).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
      if (step) {
        this.step = Number(step[1]);
        this.total = Number(step[2]);
        this.stepLine = `Step ${this.step}/${this.total} : ${step[3] ?? ''}`;
        this.#output = [];
        this.#apt = { total: 0, got: 0, unpacked: 0, setUp: 0 };
        update = { fraction: this.#fraction(0), message: this.stepLine.slice(0, 160) };
        continue;
      }
      const built = /^Successfully built ([0-9a-f]{12,64})$/.exec(line);
      if (built?.[1]) this.imageId = built[1];
      if (line !== '') this.#output = [...this.#output.slice(-29), raw];
      const installed = /\b(\d+) newly installed\b/.exec(line);
      if (installed) this.#apt.total = Number(installed[1]);
      else if (this.#apt.total > 0 && /^Get:\d+ /.test(line)) this.#apt.got += 1;
      else if (this.#apt.total > 0 && /^Unpacking /.test(line)) this.#apt.unpacked += 1;
      else if (this.#apt.total > 0 && /^Setting up /.test(line)) this.#apt.setUp += 1;
      else continue;
      const { total, got, unpacked, setUp } = this.#apt;
      const what =
        setUp > 0
          ? `${setUp}/${total} set up`
          : unpacked > 0
            ? `${unpacked}/${total} unpacked`
            : `${got}/${total} downloaded`;
      update = {
        fraction: this.#fraction(this.#aptWithin()),
        message: `Step ${this.step}/${this.total}: apt packages ${what}`,
      };
    }
    return update;
  }

  /** The last lines the failing step printed. */
  tail(lines = 15): string {
    return [...this.#output, ...(this.#pending.trim() ? [this.#pending] : [])].slice(-lines).join('\n');
  }
}

export interface ResolvedBase {
  ref: string;
  imageId: string;
  /** True when the public default was absent and the local debootstrap base stands in. */
  local: boolean;
}

/**
 * The base to build on: an explicit --base, else the Dockerfile's public default when the engine
 * has it, else the local debootstrap base. Neither present is an error saying how to make one,
 * unless `makeBase` is given, in which case the debootstrap base is made first.
 */
export async function resolveBase(
  engine: DockerEngine,
  entry: LabImageEntry,
  options: { base?: string; makeBase?: { tmpDir: string; mirror?: string } },
  progress: Progress,
  signal: AbortSignal,
): Promise<ResolvedBase> {
  if (options.base !== undefined) {
    const found = await inspectImage(engine, options.base);
    if (!found)
      throw new LabError(
        'NOT_FOUND',
        `The base image ${options.base} is not on the Docker engine (${engine.endpoint}).`,
        'No registry may be reachable: make a local base with kdlab images base --debootstrap, or docker load one.',
      );
    return { ref: options.base, imageId: found.id, local: options.base !== entry.defaultBase };
  }
  const publicBase = await inspectImage(engine, entry.defaultBase);
  if (publicBase) return { ref: entry.defaultBase, imageId: publicBase.id, local: false };
  const suite = entry.localBase?.suite;
  if (suite !== undefined) {
    const ref = baseImageRef(suite);
    const local = await inspectImage(engine, ref);
    if (local) return { ref, imageId: local.id, local: true };
    if (options.makeBase) {
      const made = await ensureDebianBase(
        engine,
        {
          suite,
          tmpDir: options.makeBase.tmpDir,
          ...(options.makeBase.mirror ? { mirror: options.makeBase.mirror } : {}),
        },
        progress,
        signal,
      );
      return { ref: made.ref, imageId: made.imageId, local: true };
    }
  }
  throw new LabError(
    'NOT_FOUND',
    `The lab image ${entry.name} is missing and there is no base to build it from: neither ${entry.defaultBase}${suite ? ` nor ${baseImageRef(suite)}` : ''} is on the Docker engine (${engine.endpoint}).`,
    suite
      ? `Make the base offline from the Debian mirror: kdlab images base --debootstrap (then kdlab images build ${entry.name}).`
      : `Load ${entry.defaultBase} into the engine (docker load), or build with --base REF.`,
  );
}

export interface LabImageResult {
  /** kdlab/<name>:<hash12> — what containers should run. */
  ref: string;
  imageId: string;
  cacheHit: boolean;
  base: string;
  sizeBytes: number;
}

export interface EnsureLabImageOptions {
  labImagesDir?: string;
  /** Base image to build FROM instead of the manifest's choice. */
  base?: string;
  /** Make the debootstrap base when no base is present (needs root and the Debian mirror). */
  makeBase?: { tmpDir: string; mirror?: string };
  /** Build again even when the tag exists (the engine's layer cache still applies). */
  force?: boolean;
}

export function labImageRepository(name: string): string {
  return `kdlab/${name}`;
}

/** Returns the lab image for the current context and base, building it when it is not there yet. */
export async function ensureLabImage(
  engine: DockerEngine,
  name: string,
  progress: Progress,
  signal: AbortSignal,
  options: EnsureLabImageOptions = {},
): Promise<LabImageResult> {
  const labImagesDir = options.labImagesDir ?? defaultLabImagesDir();
  const entry = await findLabImage(name, labImagesDir);
  const contextDir = join(labImagesDir, entry.context);
  const files = await contextFiles(contextDir);
  progress.report({ fraction: 0, message: `Looking for the base of ${name}` });
  const base = await resolveBase(engine, entry, options, progress, signal);
  const hash = (await contextHash(contextDir, files, base.imageId)).slice(0, 12);
  const repo = labImageRepository(name);
  const ref = `${repo}:${hash}`;
  const latest = `${repo}:latest`;

  const existing = await inspectImage(engine, ref);
  if (existing && !options.force) {
    const latestNow = await inspectImage(engine, latest);
    if (latestNow?.id !== existing.id) await tagImage(engine, existing.id, repo, 'latest');
    progress.report({ fraction: 1, message: `${ref} is up to date (cache hit)` });
    return { ref, imageId: existing.id, cacheHit: true, base: base.ref, sizeBytes: existing.size };
  }

  progress.report({ fraction: 0, message: `Building ${ref} on ${base.ref}` });
  progress.log(
    `Building ${ref} from ${contextDir} on ${base.ref} (${base.imageId.slice(7, 19)}) with ${engine.endpoint}\n`,
  );
  const tracker = new BuildProgress(await readFile(join(contextDir, 'Dockerfile'), 'utf8'));
  let auxId: string | null = null;
  let failure: { message: string } | null = null;
  try {
    const stream = await engine.docker.buildImage(
      { context: contextDir, src: files },
      {
        buildargs: { BASE: base.ref },
        labels: {
          [kdlabLabel]: 'true',
          'io.kdlab.image': name,
          'io.kdlab.context-hash': hash,
          'io.kdlab.base': base.ref,
        },
        // Intermediate containers go even when a step fails, so a failed build leaves nothing running.
        rm: true,
        forcerm: true,
        // The classic builder: its step lines are what we report progress from; BuildKit needs a session.
        version: '1',
        abortSignal: signal,
      },
    );
    // The response body must end when the job is cancelled, not only the request.
    addAbortSignal(signal, stream as Readable);
    await readDockerStream(stream, (message) => {
      if (message.stream !== undefined) {
        progress.log(message.stream);
        const update = tracker.push(message.stream);
        if (update) progress.report(update);
      } else if (message.status !== undefined) {
        progress.log(`${message.status}${message.progress ? ` ${message.progress}` : ''}\n`);
      }
      if (message.aux?.ID) auxId = message.aux.ID;
      if (message.error !== undefined || message.errorDetail?.message !== undefined)
        failure = { message: (message.errorDetail?.message ?? message.error ?? '').trim() };
    });
  } catch (error) {
    if (signal.aborted) throw new LabError('CANCELLED', `Building ${ref} was cancelled; nothing was tagged.`);
    throw await engineError(engine, error, `Building ${ref}`);
  }
  if (failure !== null) {
    const message = (failure as { message: string }).message;
    // The daemon's own ENOSPC (committing a layer) is in the message; a RUN step's is only in its
    // output, behind "returned a non-zero code".
    if (isDiskFull(message) || isDiskFull(tracker.tail()))
      throw await diskFullError(
        engine,
        `Building ${ref} failed ${tracker.stepLine === '' ? 'before the first step' : `at ${tracker.stepLine}`}`,
        isDiskFull(message) ? message : tracker.tail(),
      );
    throw buildFailure(ref, tracker, message);
  }
  if (signal.aborted) throw new LabError('CANCELLED', `Building ${ref} was cancelled; nothing was tagged.`);
  const builtId = auxId ?? tracker.imageId;
  if (builtId === null)
    throw new LabError(
      'IO',
      `The build of ${ref} ended without an image id.`,
      'The job log has the build output.',
    );
  // Tagged only after a complete, successful build: a cancelled or failed build leaves no kdlab tag.
  await tagImage(engine, builtId, repo, hash);
  await tagImage(engine, builtId, repo, 'latest');
  const info = await inspectImage(engine, ref);
  if (!info) throw new LabError('IO', `${ref} was tagged but the engine does not find it.`);
  progress.report({ fraction: 1, message: `Built ${ref}` });
  return { ref, imageId: info.id, cacheHit: false, base: base.ref, sizeBytes: info.size };
}

function buildFailure(ref: string, tracker: BuildProgress, message: string): LabError {
  const where = tracker.stepLine === '' ? 'before the first step' : `at ${tracker.stepLine}`;
  const tail = tracker.tail();
  return new LabError(
    'IO',
    `Building ${ref} failed ${where}: ${message}${tail ? `\nLast output:\n${tail}` : ''}`,
    /apt-get|Could not resolve|Temporary failure/i.test(message + tail)
      ? 'The image installs packages from the Debian mirror: check that containers reach it (docker run --rm kdlab/debian-base:bookworm apt-get update).'
      : 'Fix the Dockerfile step named above; the job log has the whole build output.',
  );
}

async function tagImage(engine: DockerEngine, id: string, repo: string, tag: string): Promise<void> {
  try {
    await engine.docker.getImage(id).tag({ repo, tag });
  } catch (error) {
    throw await engineError(engine, error, `Tagging ${repo}:${tag}`);
  }
}

export interface LabImageInfo {
  id: string;
  tags: string[];
  kind: string;
  sizeBytes: number;
  created: string;
}

/** Every image kdlab made on this engine (bases and lab images), newest first. */
export async function listKdlabImages(engine: DockerEngine): Promise<LabImageInfo[]> {
  try {
    const images = await engine.docker.listImages({ filters: JSON.stringify({ label: [kdlabLabel] }) });
    return images
      .map((image) => ({
        id: image.Id,
        tags: (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        kind: image.Labels?.['io.kdlab.image'] ?? image.Labels?.['io.kdlab.kind'] ?? '',
        sizeBytes: image.Size,
        created: new Date(image.Created * 1000).toISOString(),
      }))
      .sort((a, b) => b.created.localeCompare(a.created));
  } catch (error) {
    throw dockerError(error, 'Listing kdlab images');
  }
}
