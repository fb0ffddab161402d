// Kernel tarballs from an https URL with a required sha256, against a local HTTPS server (self-signed
// certificate made here): verified, unpacked once, cached; a wrong hash or a cancel leaves nothing.
import { once } from 'node:events';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSource } from '../../electron/lab/kernel/sources';
import type { FetchLike } from '../../electron/lab/kernel/sources';
import { runCommand } from '../../electron/lab/process';
import { Workspace, sha256File } from '../../electron/lab/workspace';
import { makeTempDir } from '../helpers/temp';

let server: Server;
let base: string;
let cert: string;
let tarball: Buffer;
let tarballSha: string;
let requests = 0;

/** fetch that trusts the test's own certificate (the production path uses the global fetch). */
const testFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const req = request(url, { ca: cert, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
      resolve(
        new Response(Readable.toWeb(res) as ReadableStream, { status: res.statusCode ?? 500, headers }),
      );
    });
    req.once('error', reject);
    req.end();
  });

beforeAll(async () => {
  const dir = await makeTempDir();
  const gen = await runCommand([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  expect(gen.exitCode, gen.stderr).toBe(0);
  cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  const tree = join(dir, 'linux-9.9.1');
  await mkdir(join(tree, 'scripts', 'kconfig'), { recursive: true });
  await writeFile(join(tree, 'Makefile'), 'VERSION = 9\nPATCHLEVEL = 9\nSUBLEVEL = 1\n');
  await writeFile(join(tree, 'Kconfig'), 'mainmenu "fake"\n');
  await writeFile(join(tree, 'scripts', 'kconfig', 'merge_config.sh'), '#!/bin/sh\n');
  expect(
    (await runCommand(['tar', '-C', dir, '-cJf', join(dir, 'linux-9.9.1.tar.xz'), 'linux-9.9.1'])).exitCode,
  ).toBe(0);
  tarball = await readFile(join(dir, 'linux-9.9.1.tar.xz'));
  tarballSha = await sha256File(join(dir, 'linux-9.9.1.tar.xz'));
  server = createServer({ key: await readFile(join(dir, 'key.pem')), cert }, (req, res) => {
    requests += 1;
    if (req.url?.includes('missing')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(tarball.length) });
    if (req.url?.includes('slow')) {
      // Half now, the rest much later: long enough to cancel in between.
      res.write(tarball.subarray(0, tarball.length >> 1));
      setTimeout(() => res.end(tarball.subarray(tarball.length >> 1)), 5_000);
    } else res.end(tarball);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => server?.close());

async function fresh() {
  const ws = await Workspace.open(join(await makeTempDir(), 'ws'));
  return { ws, sources: ws.cache('sources'), downloads: ws.cache('downloads') };
}

describe('kernel tarball URLs', () => {
  it('downloads, verifies the sha256, unpacks once, and does not download again', async () => {
    const { sources, downloads } = await fresh();
    const before = requests;
    const seen: [number, number | null][] = [];
    const first = await prepareSource(`${base}/pub/linux-9.9.1.tar.xz`, sources, {
      sha256: tarballSha,
      downloads,
      fetch: testFetch,
      onProgress: (received, total) => seen.push([received, total]),
    });
    expect(await readFile(join(first.tree, 'Makefile'), 'utf8')).toContain('PATCHLEVEL = 9');
    expect(seen.at(-1)).toEqual([tarball.length, tarball.length]);
    // kernel.org's sums are lowercase, but a hash pasted in capitals is the same hash.
    const second = await prepareSource(`${base}/pub/linux-9.9.1.tar.xz`, sources, {
      sha256: tarballSha.toUpperCase(),
      downloads,
      fetch: testFetch,
    });
    expect(second.tree).toBe(first.tree);
    expect(requests - before).toBe(1);
  });

  it('refuses a tarball whose sha256 differs, naming both, and keeps nothing', async () => {
    const { sources, downloads } = await fresh();
    const wrong = 'f'.repeat(64);
    await expect(
      prepareSource(`${base}/pub/linux-9.9.1.tar.xz`, sources, {
        sha256: wrong,
        downloads,
        fetch: testFetch,
      }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining(`expected ${wrong}, got ${tarballSha}`),
    });
    expect(await readdir(downloads.dir).catch(() => [])).toEqual([]);
    expect(await readdir(sources.dir).catch(() => [])).toEqual([]);
  });

  it('leaves nothing behind when the download is cancelled', async () => {
    const { sources, downloads } = await fresh();
    const controller = new AbortController();
    let received = 0;
    await expect(
      prepareSource(`${base}/slow/linux-9.9.1.tar.xz`, sources, {
        sha256: tarballSha,
        downloads,
        fetch: testFetch,
        signal: controller.signal,
        // The server sends half, then waits: cancel once the first bytes are on disk.
        onProgress: (n) => {
          received = n;
          controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(tarball.length);
    expect(await readdir(downloads.dir)).toEqual([]);
    expect(await readdir(sources.dir).catch(() => [])).toEqual([]);
  });

  it('reports a failed download (HTTP error, no server) and keeps nothing', async () => {
    const { sources, downloads } = await fresh();
    await expect(
      prepareSource(`${base}/missing/linux-9.9.1.tar.xz`, sources, {
        sha256: tarballSha,
        downloads,
        fetch: testFetch,
      }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('HTTP 404') });
    // The real fetch (no test hook) against a port nobody listens on.
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    closed.close();
    await once(closed, 'close');
    await expect(
      prepareSource(`https://127.0.0.1:${port}/linux-9.9.1.tar.xz`, sources, {
        sha256: tarballSha,
        downloads,
      }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(await readdir(downloads.dir)).toEqual([]);
    expect(await readdir(sources.dir).catch(() => [])).toEqual([]);
  });

  it('refuses http:// and URLs without a sha256', async () => {
    const { sources, downloads } = await fresh();
    await expect(
      prepareSource('http://cdn.kernel.org/pub/linux-6.1.tar.xz', sources, { sha256: tarballSha, downloads }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('only https://'),
    });
    await expect(
      prepareSource(`${base}/pub/linux-9.9.1.tar.xz`, sources, { downloads }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('needs its sha256'),
    });
  });
});
