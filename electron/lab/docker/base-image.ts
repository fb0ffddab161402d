// The Debian base image made without a registry: debootstrap a minimal Debian from the apt mirror
// (which is reachable where registries are not), then stream the tree into `docker import`.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import type { Progress } from '../jobs';
import { findExecutable, runCommand, spawnTree, terminateTree } from '../process';
import { diskFullError, dockerError, engineError, isDiskFull, kdlabLabel } from './engine';
import type { DockerEngine } from './engine';
import { readDockerStream } from './json-stream';

export const defaultSuite = 'bookworm';
export const baseRepository = 'kdlab/debian-base';
export const fallbackMirror = 'http://deb.debian.org/debian';

export function baseImageRef(suite = defaultSuite): string {
  return `${baseRepository}:${suite}`;
}

export interface DebianBaseOptions {
  suite?: string;
  /** Debian mirror; default KDLAB_DEBIAN_MIRROR, else the host's apt sources, else deb.debian.org. */
  mirror?: string;
  /** Make it again even when the tag exists. */
  force?: boolean;
  /** Where the temporary root folder goes (it needs a few hundred MB and must allow device nodes). */
  tmpDir: string;
  env?: NodeJS.ProcessEnv;
}

export interface DebianBaseResult {
  ref: string;
  imageId: string;
  reused: boolean;
  mirror: string;
  sizeBytes: number;
}

/** The first Debian archive URL in apt sources (one-line or deb822) that serves `suite`, security archives skipped. */
export function mirrorFromAptSources(texts: readonly string[], suite = defaultSuite): string | null {
  for (const text of texts) {
    // deb822 stanzas are separated by blank lines.
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) =>
        new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const uris = field('URIs');
      const suites = field('Suites');
      const types = field('Types');
      if (uris.length > 0 && suites.includes(suite) && (types.length === 0 || types.includes('deb'))) {
        const uri = uris.find((u) => !/security/.test(u));
        if (uri) return uri.replace(/\/+$/, '');
      }
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      // deb [options] URI suite components…
      const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (match?.[1] && match[2] === suite && !/security/.test(match[1])) return match[1].replace(/\/+$/, '');
    }
  }
  return null;
}

async function hostAptSources(): Promise<string[]> {
  const texts: string[] = [];
  const read = async (file: string) => {
    try {
      texts.push(await readFile(file, 'utf8'));
    } catch {
      // unreadable or absent: other sources may still name a mirror
    }
  };
  await read('/etc/apt/sources.list');
  try {
    for (const name of (await readdir('/etc/apt/sources.list.d')).sort())
      if (name.endsWith('.list') || name.endsWith('.sources'))
        await read(join('/etc/apt/sources.list.d', name));
  } catch {
    // no sources.list.d
  }
  return texts;
}

export async function defaultMirror(
  env: NodeJS.ProcessEnv = process.env,
  suite = defaultSuite,
): Promise<string> {
  if (env.KDLAB_DEBIAN_MIRROR) return env.KDLAB_DEBIAN_MIRROR;
  return mirrorFromAptSources(await hostAptSources(), suite) ?? fallbackMirror;
}

/**
 * Turns debootstrap's `I:` lines into a fraction. Phases are weighted by their measured share of the
 * time; within the download phase the package count is estimated (a minbase bookworm is ~90
 * packages), within the later phases it is the count actually downloaded.
 */
export class DebootstrapProgress {
  #phase: 'index' | 'retrieve' | 'extract' | 'unpack' | 'configure' | 'done' = 'index';
  #retrieved = 0;
  #inPhase = 0;
  #last = 0;
  static readonly expectedPackages = 90;

  /** Feeds one line; returns the new fraction and a message when the line moves progress. */
  line(text: string): { fraction: number; message: string } | null {
    const m = /^I: (\S+)\s*(.*)$/.exec(text.trim());
    if (!m) return null;
    const [, verb = '', rest = ''] = m;
    const pkg = rest.split(/\s+/)[0]?.replace(/\.\.\.$/, '') ?? '';
    if (verb === 'Retrieving' && !/Release|Packages|InRelease/.test(rest)) {
      this.#phase = 'retrieve';
      this.#retrieved += 1;
      const share = Math.min(
        1,
        this.#retrieved / Math.max(DebootstrapProgress.expectedPackages, this.#retrieved + 1),
      );
      return { fraction: 0.05 + 0.45 * share, message: `Downloading ${pkg}` };
    }
    const phase =
      verb === 'Extracting'
        ? 'extract'
        : verb === 'Unpacking'
          ? 'unpack'
          : verb === 'Configuring'
            ? 'configure'
            : verb === 'Base' && /installed successfully/.test(rest)
              ? 'done'
              : null;
    if (phase === null)
      return /Retrieving|Validating|Resolving|Checking|Found/.test(verb) && this.#phase === 'index'
        ? { fraction: 0.02, message: text.trim().slice(3) }
        : null;
    const order = ['index', 'retrieve', 'extract', 'unpack', 'configure', 'done'];
    // debootstrap revisits phases (core packages, then the rest; "Unpacking the base system"
    // after configuring): only a later phase moves on, so the fraction never goes back.
    if (order.indexOf(phase) > order.indexOf(this.#phase)) {
      this.#phase = phase;
      this.#inPhase = 0;
    }
    if (pkg === 'the') return null;
    this.#inPhase += 1;
    const current = this.#phase === 'index' || this.#phase === 'retrieve' ? phase : this.#phase;
    const phases: Record<typeof phase, [number, number]> = {
      extract: [0.5, 0.1],
      unpack: [0.6, 0.2],
      configure: [0.8, 0.15],
      done: [0.95, 0],
    };
    const [start, width] = phases[current];
    const share = Math.min(1, this.#inPhase / Math.max(1, this.#retrieved));
    const verbText = {
      extract: 'Extracting',
      unpack: 'Unpacking',
      configure: 'Configuring',
      done: 'Installed',
    }[phase];
    this.#last = Math.max(this.#last, start + width * share);
    return {
      fraction: this.#last,
      message: phase === 'done' ? 'Base system installed' : `${verbText} ${pkg}`,
    };
  }
}

/** Folders mounted below `dir` (debootstrap mounts proc and sys in the target; a kill can leave them). */
async function mountsBelow(dir: string): Promise<string[]> {
  try {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    return text
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

async function removeRoot(dir: string): Promise<void> {
  for (const point of await mountsBelow(dir)) {
    // Lazy unmount: a process that debootstrap left behind must not keep us from cleaning up.
    await runCommand(['umount', '-l', point]).catch(() => undefined);
  }
  if ((await mountsBelow(dir)).length > 0)
    throw new LabError(
      'IO',
      `Cannot unmount what debootstrap mounted below ${dir}.`,
      `Unmount it by hand (umount -R ${dir}), then remove ${dir}.`,
    );
  await rm(dir, { recursive: true, force: true });
}

export async function inspectImage(
  engine: DockerEngine,
  ref: string,
): Promise<{ id: string; size: number; labels: Record<string, string> } | null> {
  try {
    const info = await engine.docker.getImage(ref).inspect();
    return { id: info.Id, size: info.Size, labels: info.Config.Labels ?? {} };
  } catch (error) {
    const e = dockerError(error, `Inspecting ${ref}`);
    if (e.code === 'NOT_FOUND') return null;
    throw e;
  }
}

/** `tar -C dir -c .` streamed into POST /images/create?fromSrc=-; resolves with the new image id. */
async function importTree(
  engine: DockerEngine,
  dir: string,
  ref: string,
  labels: Record<string, string>,
  progress: Progress,
  signal: AbortSignal,
): Promise<string> {
  const [repo, tag] = ref.split(':') as [string, string];
  const tar = spawnTree(['tar', '--numeric-owner', '--xattrs', '-C', dir, '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onAbort = () => terminateTree(tar);
  signal.addEventListener('abort', onAbort, { once: true });
  let tarError = '';
  tar.stderr?.on('data', (chunk: Buffer) => {
    tarError += chunk.toString('utf8');
  });
  const tarExit = new Promise<number | null>((resolve) => tar.once('close', (code) => resolve(code)));
  let imageId = '';
  try {
    const stream = await engine.docker.importImage(
      tar.stdout as NodeJS.ReadableStream,
      {
        repo,
        tag,
        changes: [
          ...Object.entries(labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`),
          'CMD ["/bin/bash"]',
        ],
        abortSignal: signal,
      } as object,
    );
    await readDockerStream(stream, (message) => {
      if (message.error)
        // A full disk goes on to engineError, which asks the engine where its data is.
        throw isDiskFull(message.error)
          ? new Error(message.error)
          : new LabError('IO', `docker import of ${ref} failed: ${message.error}`);
      if (message.status?.startsWith('sha256:')) imageId = message.status;
      else if (message.status) progress.log(`${message.status}\n`);
    });
  } catch (error) {
    terminateTree(tar);
    if (signal.aborted) throw new LabError('CANCELLED', `Importing ${ref} was cancelled.`);
    throw await engineError(engine, error, `Importing ${ref}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const code = await tarExit;
  if (code !== 0)
    throw new LabError('IO', `tar of the debootstrap tree failed (exit ${code}): ${tarError.trim()}`);
  if (imageId === '') {
    const info = await inspectImage(engine, ref);
    if (!info) throw new LabError('IO', `docker import reported success but ${ref} does not exist.`);
    imageId = info.id;
  }
  return imageId;
}

/** Makes (or reuses) kdlab/debian-base:SUITE from the apt mirror with debootstrap + docker import. */
export async function ensureDebianBase(
  engine: DockerEngine,
  options: DebianBaseOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<DebianBaseResult> {
  const suite = options.suite ?? defaultSuite;
  if (!/^[a-z][a-z0-9-]*$/.test(suite))
    throw new LabError('BAD_REQUEST', `"${suite}" is not a Debian suite name.`, 'Use e.g. bookworm.');
  const ref = baseImageRef(suite);
  const mirror = options.mirror ?? (await defaultMirror(options.env, suite));
  if (!/^(https?|file):\/\/\S+$/.test(mirror))
    throw new LabError(
      'BAD_REQUEST',
      `The mirror "${mirror}" is not an http(s):// or file:// URL.`,
      `Use e.g. ${fallbackMirror}.`,
    );
  const existing = await inspectImage(engine, ref);
  if (existing && !options.force) {
    progress.report({ fraction: 1, message: `${ref} exists (${existing.id.slice(7, 19)}); reused` });
    return {
      ref,
      imageId: existing.id,
      reused: true,
      mirror: existing.labels['io.kdlab.mirror'] ?? mirror,
      sizeBytes: existing.size,
    };
  }
  if (!findExecutable('debootstrap'))
    throw new LabError('TOOL_MISSING', 'debootstrap is not installed.', 'apt-get install -y debootstrap');
  if (process.getuid?.() !== 0)
    throw new LabError(
      'FORBIDDEN',
      'debootstrap needs root (it creates device nodes and chroots into the new tree).',
      'Run it as root: sudo kdlab images base --debootstrap',
    );

  await mkdir(options.tmpDir, { recursive: true });
  const root = await mkdtemp(join(options.tmpDir, `debootstrap-${suite}-`));
  const tracker = new DebootstrapProgress();
  let tail: string[] = [];
  let pending = '';
  try {
    progress.report({ fraction: 0, message: `debootstrap ${suite} from ${mirror}` });
    const started = Date.now();
    const result = await runCommand(['debootstrap', '--variant=minbase', suite, root, mirror], {
      signal,
      installHint: 'apt-get install -y debootstrap',
      onOutput: (chunk) => {
        const text = chunk.toString('utf8');
        progress.log(text);
        const lines = (pending + text).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          tail = [...tail.slice(-19), line];
          const step = tracker.line(line);
          if (step) progress.report({ fraction: 0.9 * step.fraction, message: step.message });
        }
      },
    });
    if (result.exitCode !== 0) {
      const log = existsSync(join(root, 'debootstrap', 'debootstrap.log'))
        ? await readFile(join(root, 'debootstrap', 'debootstrap.log'), 'utf8')
        : '';
      const last = [...tail, ...log.trim().split('\n').slice(-10)]
        .filter((l) => l.trim() !== '')
        .slice(-12)
        .join('\n');
      // wget's "Cannot write … (No space left on device)" may be anywhere in the log, not only at its end.
      const everything = `${tail.join('\n')}\n${log}`;
      if (isDiskFull(everything))
        throw await diskFullError(engine, `debootstrap ${suite} failed`, everything, options.tmpDir);
      throw new LabError(
        'IO',
        `debootstrap ${suite} failed (exit ${result.exitCode ?? result.signal}):\n${last}`,
        `Check that ${mirror} is reachable (curl -I ${mirror}/dists/${suite}/InRelease) or pass --mirror URL.`,
      );
    }
    progress.log(`debootstrap took ${Math.round((Date.now() - started) / 1000)} s\n`);
    // What apt fetched is not part of the image: keep it small.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists'])
      for (const name of await readdir(join(root, dir)).catch(() => [] as string[]))
        if (
          name.endsWith('.deb') ||
          name.endsWith('_Packages') ||
          name.endsWith('Release') ||
          name.endsWith('.gpg')
        )
          await rm(join(root, dir, name), { force: true });
    progress.report({ fraction: 0.9, message: `Importing the tree as ${ref}` });
    const labels = {
      [kdlabLabel]: 'true',
      'io.kdlab.kind': 'base',
      'io.kdlab.suite': suite,
      'io.kdlab.mirror': mirror,
    };
    const imageId = await importTree(engine, root, ref, labels, progress, signal);
    const info = await inspectImage(engine, ref);
    progress.report({ fraction: 1, message: `${ref} made (${imageId.slice(7, 19)})` });
    return { ref, imageId, reused: false, mirror, sizeBytes: info?.size ?? 0 };
  } finally {
    await removeRoot(root);
  }
}
