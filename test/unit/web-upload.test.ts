// POST /upload of the web mode: token, same origin, size limit, atomic write into the inbox only.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { inboxDir } from '../../electron/lab/inbox';
import { startWebServer } from '../../electron/server/web-server';
import type { RunningWebServer } from '../../electron/server/web-server';
import { makeTempDir } from '../helpers/temp';

interface Reply {
  status: number;
  body: string;
}

let backend: LabBackend;
let server: RunningWebServer;
let inbox: string;

function post(
  path: string,
  body: Buffer | null,
  headers: Record<string, string> = {},
  options: { method?: string; sendOnly?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'POST',
        headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', (e) =>
      options.sendOnly !== undefined ? resolve({ status: 0, body: e.message }) : reject(e),
    );
    if (body && options.sendOnly !== undefined) {
      // A client that dies mid-upload.
      req.write(body.subarray(0, options.sendOnly), () => setTimeout(() => req.destroy(), 100));
    } else req.end(body ?? undefined);
  });
}

const cookie = () => ({ Cookie: `kdlab_token=${server.token}` });
const inboxFiles = async () => (await readdir(inbox).catch(() => [] as string[])).sort();

beforeAll(async () => {
  const dir = await makeTempDir();
  await mkdir(join(dir, 'renderer'), { recursive: true });
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>kdlab</title>');
  backend = await createLabBackend({
    mode: 'web',
    version: 'test',
    workspaceRoot: join(dir, 'ws'),
    appRoot: dir,
  });
  inbox = inboxDir(backend.workspace);
  server = await startWebServer({
    backend,
    rendererDir: join(dir, 'renderer'),
    uploads: { dir: inbox, maxBytes: 64 * 1024 },
  });
});

afterAll(async () => {
  await server.close();
  await backend.dispose();
});

describe('web mode upload', () => {
  it('writes the body into the inbox under a fresh name and answers with its path', async () => {
    const body = Buffer.from('CONFIG_KGDB=y\n# CONFIG_SMP is not set\n');
    const reply = await post('/upload?name=lab.config', body, {
      ...cookie(),
      Origin: `http://127.0.0.1:${server.port}`,
    });
    expect(reply.status).toBe(201);
    const { result } = JSON.parse(reply.body) as { result: { path: string; name: string; size: number } };
    expect(dirname(result.path)).toBe(inbox);
    expect(result.path).toMatch(/-lab\.config$/);
    expect(result).toMatchObject({ name: 'lab.config', size: body.length });
    expect(await readFile(result.path, 'utf8')).toBe(body.toString());
    // Nothing half-written is left beside it.
    expect((await inboxFiles()).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('keeps a hostile name inside the inbox', async () => {
    const reply = await post(
      `/upload?name=${encodeURIComponent('../../../etc/passwd')}`,
      Buffer.from('x'),
      cookie(),
    );
    expect(reply.status).toBe(201);
    const { result } = JSON.parse(reply.body) as { result: { path: string } };
    expect(dirname(result.path)).toBe(inbox);
    expect(result.path).toMatch(/-passwd$/);
  });

  it('refuses without the token, from another origin, other methods and bad queries', async () => {
    const before = await inboxFiles();
    expect((await post('/upload?name=a', Buffer.from('x'))).status).toBe(401);
    const cross = await post('/upload?name=a', Buffer.from('x'), {
      ...cookie(),
      Origin: 'http://evil.example',
    });
    expect(cross.status).toBe(403);
    expect((await post('/upload?name=a', null, cookie(), { method: 'GET' })).status).toBe(405);
    const noName = await post('/upload', Buffer.from('x'), cookie());
    expect(noName.status).toBe(400);
    expect(noName.body).toMatch(/needs \?name=FILE/);
    expect((await post('/upload?name=a&path=/etc', Buffer.from('x'), cookie())).status).toBe(400);
    expect(await inboxFiles()).toEqual(before);
  });

  it('refuses a file over the size limit before reading it', async () => {
    const before = await inboxFiles();
    const reply = await post('/upload?name=big.vmcore', Buffer.alloc(64 * 1024 + 1), cookie());
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await inboxFiles()).toEqual(before);
  });

  it('leaves nothing behind when the client stops mid-upload', async () => {
    const before = await inboxFiles();
    await post('/upload?name=cut.vmcore', Buffer.alloc(32 * 1024, 1), cookie(), { sendOnly: 1000 });
    await expect.poll(inboxFiles, { timeout: 5_000 }).toEqual(before);
  });
});
