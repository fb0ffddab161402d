// Kernel sources: Debian's linux-source tarballs found under /usr/src, a local tarball or tree, each
// unpacked once into the workspace cache (a cache entry, so an interrupted unpack never counts).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { LabError } from '../../common/errors';
import { runCommand } from '../process';
import type { CacheStore } from '../workspace';
import { cacheKey } from '../workspace';
import type { LabPatch } from './lab-patches';

export interface SourceCandidate {
  path: string;
  kind: 'tarball' | 'tree';
  version: string | null;
}

const tarballPattern = /^linux-(?:source-)?(\d+\.\d+(?:\.\d+)?)\.tar\.(xz|gz|bz2)$/;

export async function findSources(dir = '/usr/src'): Promise<SourceCandidate[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: SourceCandidate[] = [];
  for (const name of names.sort()) {
    const tarball = tarballPattern.exec(name);
    if (tarball) {
      found.push({ path: join(dir, name), kind: 'tarball', version: tarball[1]! });
      continue;
    }
    const tree = /^linux-source-(\d+\.\d+(?:\.\d+)?)$/.exec(name);
    if (tree && (await isKernelTree(join(dir, name))))
      found.push({ path: join(dir, name), kind: 'tree', version: tree[1]! });
  }
  return found;
}

export async function isKernelTree(dir: string): Promise<boolean> {
  const checks = await Promise.all(
    ['Makefile', 'Kconfig', 'scripts/kconfig/merge_config.sh'].map((f) =>
      stat(join(dir, f)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return checks.every(Boolean);
}

export interface PreparedSource {
  /** The kernel tree to build from (inside the cache for tarballs). */
  tree: string;
  /** Identifies the exact source: the tarball's name, size and mtime, or the tree's path. */
  sourceHash: string;
  origin: string;
  /** Lab compatibility patches applied to this tree (tarballs unpacked by kdlab only). */
  patches: string[];
}

export type FetchLike = (url: string, init: { signal?: AbortSignal }) => Promise<Response>;

export interface DownloadOptions {
  signal?: AbortSignal;
  log?: (text: string) => void;
  /** Bytes received so far and the Content-Length (null when the server does not send one). */
  onProgress?: (received: number, total: number | null) => void;
  /** Only tests pass one (to trust their self-signed certificate); otherwise the global fetch. */
  fetch?: FetchLike;
}

/**
 * A kernel.org tarball URL: downloaded once (streamed to a temp file, progress in the log), kept only
 * when its sha256 is the one given, cached by that hash so a second call does not download.
 */
export async function downloadTarball(
  url: string,
  wantedSha256: string | undefined,
  downloads: CacheStore,
  options: DownloadOptions = {},
): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LabError('BAD_REQUEST', `${url} is not a URL.`);
  }
  if (parsed.protocol !== 'https:')
    throw new LabError(
      'BAD_REQUEST',
      `${url}: only https:// downloads are allowed.`,
      'Use the https://cdn.kernel.org/… URL.',
    );
  const sha256 = wantedSha256?.toLowerCase();
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256))
    throw new LabError(
      'BAD_REQUEST',
      `A kernel tarball URL needs its sha256 (64 hex digits) so kdlab can check what it downloaded.`,
      'kernel.org publishes them in sha256sums.asc next to the tarballs; pass --sha256 HASH.',
    );
  const name = basename(parsed.pathname);
  if (!/\.tar\.(xz|gz|bz2)$/.test(name))
    throw new LabError('BAD_REQUEST', `${url} is not a .tar.xz/.tar.gz/.tar.bz2 tarball.`);
  const key = sha256.slice(0, 32);
  if (await downloads.lookup(key)) return join(downloads.entryDir(key), name);
  options.log?.(`Downloading ${url}…\n`);
  // The staging folder of the cache entry is the temp file's home: any failure removes it.
  const fetched = downloads.commit(key, { url, sha256 }, async (staging) => {
    const response = await (options.fetch ?? ((u, init) => fetch(u, init)))(
      url,
      options.signal ? { signal: options.signal } : {},
    );
    if (!response.ok || !response.body)
      throw new LabError(
        'UNAVAILABLE',
        `Downloading ${url} failed: HTTP ${response.status}.`,
        'Check the URL and your network.',
      );
    const total = Number(response.headers.get('content-length')) || null;
    const hash = createHash('sha256');
    const out = createWriteStream(join(staging, name));
    let received = 0;
    let lastLog = 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        received += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        options.onProgress?.(received, total);
        if (received - lastLog > 8 * 1024 * 1024) {
          lastLog = received;
          options.log?.(
            `  ${(received / 1024 / 1024).toFixed(0)}${total ? ` of ${(total / 1024 / 1024).toFixed(0)}` : ''} MiB\n`,
          );
        }
      }
    } finally {
      await new Promise<void>((r) => out.end(() => r()));
    }
    const got = hash.digest('hex');
    if (got !== sha256)
      throw new LabError(
        'BAD_REQUEST',
        `${url} does not have the expected sha256: expected ${sha256}, got ${got}. Nothing was kept.`,
        "Check the hash against kernel.org's sha256sums.asc, or the URL.",
      );
    return [name];
  });
  try {
    await fetched;
  } catch (error) {
    if (options.signal?.aborted)
      throw new LabError('CANCELLED', `Downloading ${url} was cancelled; nothing was kept.`);
    if (error instanceof LabError) throw error;
    // fetch's own errors say only "fetch failed"; the reason is in `cause`.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    throw new LabError(
      'UNAVAILABLE',
      `Downloading ${url} failed: ${error instanceof Error ? error.message : String(error)}${cause ? ` (${cause})` : ''}. Nothing was kept.`,
      'Check the URL and the network; or download the tarball yourself and pass its path to --source.',
    );
  }
  return join(downloads.entryDir(key), name);
}

/** A tree is used in place; a tarball is unpacked once into the `sources` cache; a URL is downloaded first. */
export async function prepareSource(
  path: string,
  cache: CacheStore,
  options: DownloadOptions & {
    patches?: LabPatch[];
    sha256?: string;
    downloads?: CacheStore;
  } = {},
): Promise<PreparedSource> {
  if (/^[a-z]+:\/\//i.test(path)) {
    if (!options.downloads) throw new LabError('INTERNAL', 'No downloads cache for a source URL.');
    const local = await downloadTarball(path, options.sha256, options.downloads, options);
    return prepareSource(local, cache, { ...options, sha256: undefined });
  }
  const full = resolve(path);
  const info = await stat(full).catch(() => null);
  if (!info)
    throw new LabError(
      'NOT_FOUND',
      `Kernel source ${full} does not exist.`,
      'Install linux-source-6.1 (apt-get install -y linux-source-6.1) or give a kernel tree or tarball path.',
    );
  if (info.isDirectory()) {
    if (!(await isKernelTree(full))) {
      throw new LabError(
        'BAD_REQUEST',
        `${full} is not a kernel source tree (no Makefile, Kconfig and scripts/kconfig/merge_config.sh).`,
      );
    }
    // A user's own tree is built as it is: never patched.
    return { tree: full, sourceHash: cacheKey({ tree: full }), origin: full, patches: [] };
  }
  if (!/\.tar\.(xz|gz|bz2)$/.test(full)) {
    throw new LabError(
      'BAD_REQUEST',
      `${full} is neither a kernel tree nor a .tar.xz/.tar.gz/.tar.bz2 tarball.`,
    );
  }
  const patches = options.patches ?? [];
  const sourceHash = cacheKey({
    tarball: basename(full),
    size: info.size,
    mtimeMs: Math.trunc(info.mtimeMs),
    patches: patches.map((p) => p.id),
  });
  const hit = await cache.lookup(sourceHash);
  const treeIn = async (dir: string) => {
    const entries = (await readdir(dir)).filter((n) => n !== 'manifest.json' && n !== '.unpacked');
    if (entries.length !== 1)
      throw new LabError('INTERNAL', `Unexpected layout of ${full}: ${entries.join(', ')}.`);
    return join(dir, entries[0]!);
  };
  const applied = async (dir: string) =>
    (JSON.parse(await readFile(join(dir, '.unpacked'), 'utf8')) as { patches: string[] }).patches;
  if (hit) {
    const dir = cache.entryDir(sourceHash);
    return { tree: await treeIn(dir), sourceHash, origin: full, patches: await applied(dir) };
  }
  options.log?.(`Unpacking ${full} into the kdlab cache (once)…\n`);
  await cache.commit(sourceHash, { tarball: full, size: info.size }, async (staging) => {
    const result = await runCommand(['tar', '-xf', full, '-C', staging], {
      ...(options.signal ? { signal: options.signal } : {}),
      installHint: 'apt-get install -y tar xz-utils',
    });
    if (result.exitCode !== 0)
      throw new LabError('IO', `tar could not unpack ${full}: ${result.stderr.trim()}`);
    const tree = await treeIn(staging);
    const done: string[] = [];
    for (const patch of patches) {
      if (await patch.apply(tree)) {
        done.push(patch.id);
        options.log?.(`Applied lab patch ${patch.id}: ${patch.description}\n`);
      }
    }
    await writeFile(join(staging, '.unpacked'), JSON.stringify({ tarball: full, patches: done }));
    return ['.unpacked'];
  });
  const dir = cache.entryDir(sourceHash);
  return { tree: await treeIn(dir), sourceHash, origin: full, patches: await applied(dir) };
}
