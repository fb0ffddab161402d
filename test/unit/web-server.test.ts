import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { startWebServer } from '../../electron/server/web-server';
import type { RunningWebServer } from '../../electron/server/web-server';
import { makeTempDir } from '../helpers/temp';
import { connect } from '../helpers/ws-client';

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function upgradeStatus(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    ws.once('error', (e) => (e.message.includes('Unexpected server response') ? undefined : reject(e)));
  });
}

let backend: LabBackend;
let server: RunningWebServer;
let port: number;
let token: string;

beforeAll(async () => {
  const dir = await makeTempDir();
  const rendererDir = join(dir, 'renderer');
  await mkdir(join(rendererDir, 'assets'), { recursive: true });
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>kdlab</title>');
  await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'do not serve');
  backend = await createLabBackend({
    mode: 'web',
    version: 'test',
    workspaceRoot: join(dir, 'ws'),
    appRoot: dir,
  });
  server = await startWebServer({ backend, rendererDir });
  ({ port, token } = server);
});

afterAll(async () => {
  await server.close();
  await backend.dispose();
});

describe('web mode HTTP', () => {
  it('binds loopback and prints a URL carrying the token', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${token}`);
    expect(token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses a request without the token, saying where to get it', async () => {
    const reply = await get(port, '/');
    expect(reply.status).toBe(401);
    expect(reply.body).toMatch(/open the URL that `kdlab serve` printed/);
    expect((await get(port, '/assets/app.js')).status).toBe(401);
  });

  it('refuses a wrong token', async () => {
    expect((await get(port, '/?token=wrong')).status).toBe(401);
    expect((await get(port, '/', { Cookie: 'kdlab_token=wrong' })).status).toBe(401);
  });

  it('trades the token in the URL for an HttpOnly cookie and drops it from the address', async () => {
    const reply = await get(port, `/?token=${token}`);
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/');
    expect(String(reply.headers['set-cookie'])).toMatch(/kdlab_token=.*; HttpOnly; SameSite=Strict; Path=\//);
  });

  it('serves the app with the CSP to a request carrying the cookie', async () => {
    const reply = await get(port, '/', { Cookie: `kdlab_token=${token}` });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('<title>kdlab</title>');
    expect(reply.headers['content-security-policy']).toContain("script-src 'self'");
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    const js = await get(port, '/assets/app.js', { Cookie: `kdlab_token=${token}` });
    expect(js.headers['content-type']).toMatch(/text\/javascript/);
  });

  it('refuses another Host (DNS rebinding) even with the token', async () => {
    const reply = await get(port, '/', { Cookie: `kdlab_token=${token}`, Host: 'evil.example:80' });
    expect(reply.status).toBe(403);
  });

  it.each(['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00'])(
    'does not serve %s',
    async (path) => {
      const reply = await get(port, path, { Cookie: `kdlab_token=${token}` });
      expect(reply.status).toBe(404);
      expect(reply.body).not.toContain('do not serve');
    },
  );

  it('allows only GET and HEAD', async () => {
    expect((await get(port, '/', { Cookie: `kdlab_token=${token}` }, 'POST')).status).toBe(405);
  });

  it('refuses to bind a non-loopback address without the explicit flag', async () => {
    await expect(startWebServer({ backend, rendererDir: '/nonexistent', host: '0.0.0.0' })).rejects.toThrow(
      /--allow-remote/,
    );
  });
});

describe('web mode WebSocket', () => {
  const wsUrl = () => `ws://127.0.0.1:${port}/api`;

  it('refuses an upgrade without the token', async () => {
    const reply = await upgradeStatus(wsUrl(), { Origin: `http://127.0.0.1:${port}` });
    expect(reply.status).toBe(401);
  });

  it('refuses a foreign Origin even with the token', async () => {
    const reply = await upgradeStatus(wsUrl(), {
      Origin: 'https://evil.example',
      Cookie: `kdlab_token=${token}`,
    });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/Origin https:\/\/evil\.example may not use this kdlab server/);
  });

  it('accepts the page origin with the cookie and answers API calls', async () => {
    const client = await connect(wsUrl(), {
      Origin: `http://127.0.0.1:${port}`,
      Cookie: `kdlab_token=${token}`,
    });
    const info = await client.invoke('app.info', {});
    expect(info).toMatchObject({ ok: true, result: { name: 'kdlab', mode: 'web', version: 'test' } });
    client.close();
  });

  it('answers malformed arguments, unknown methods and non-JSON with clear errors', async () => {
    const client = await connect(`${wsUrl()}?token=${token}`);
    expect(await client.invoke('terminal.open', { kind: 'shell', cols: 'wide', rows: 24 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('cols') },
    });
    expect(await client.invoke('fs.read', {})).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
    expect(await client.sendRaw('not json')).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'The message is not JSON.' },
    });
    expect(await client.sendRaw('{"type":"request","method":"app.info"}')).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    client.close();
  });

  it('refuses non-https external links', async () => {
    const client = await connect(`${wsUrl()}?token=${token}`);
    expect(await client.invoke('shell.openExternal', { url: 'file:///etc/passwd' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await client.invoke('shell.openExternal', { url: 'https://www.kernel.org/' })).toEqual({
      ok: true,
      result: { opened: false, url: 'https://www.kernel.org/' },
    });
    client.close();
  });
});
