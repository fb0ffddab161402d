import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../electron/common/csp';
import {
  isLabAppUrl,
  labSchemePrivileges,
  mimeTypeFor,
  registerLabProtocol,
  resolveRendererPath,
} from '../../electron/main/protocol';
import { makeTempDir } from '../helpers/temp';
import { app, protocol, resetElectronMock } from '../mocks/electron';
import { rm } from 'node:fs/promises';

const root = '/srv/kdlab/dist/renderer';

describe('resolveRendererPath', () => {
  it.each([
    ['lab://app/index.html', `${root}/index.html`],
    ['lab://app/', `${root}/index.html`],
    ['lab://app', `${root}/index.html`],
    ['lab://app/assets/index-abc123.js', `${root}/assets/index-abc123.js`],
    ['lab://app/assets/', `${root}/assets/index.html`],
    ['lab://app/index.html?x=1#/jobs', `${root}/index.html`],
    ['lab://app/fonts/JetBrains%20Mono.woff2', `${root}/fonts/JetBrains Mono.woff2`],
    // The URL parser folds literal and %2e dot segments before we see them: these stay inside.
    ['lab://app/../../etc/passwd', `${root}/etc/passwd`],
    ['lab://app/%2e%2e/%2E%2E/etc/passwd', `${root}/etc/passwd`],
    ['lab://app/assets/.%2e/index.html', `${root}/index.html`],
  ])('maps %s inside the root', (url, path) => {
    expect(resolveRendererPath(root, url)).toEqual({ ok: true, path });
  });

  it.each([
    ['encoded slashes around ..', 'lab://app/..%2f..%2fetc%2fpasswd', 403],
    ['encoded .. with encoded slash', 'lab://app/%2e%2e%2f%2e%2e%2fetc/passwd', 403],
    ['double-encoded dots that decode to ..', 'lab://app/assets/..%2F..%2F..%2Fetc/passwd', 403],
    ['an encoded .. even when it would stay inside', 'lab://app/assets/..%2Findex.html', 403],
    ['backslash segments', 'lab://app/..%5c..%5cetc%5cpasswd', 403],
    ['literal backslashes', 'lab://app/a\\..\\..\\b', 403],
    ['an absolute path via //', 'lab://app//etc/passwd', 403],
    ['an absolute path via %2F', 'lab://app/%2Fetc/passwd', 403],
    ['a Windows drive path', 'lab://app/C:%5CWindows%5Cwin.ini', 403],
    ['another host', 'lab://evil/index.html', 403],
    ['a port', 'lab://app:1234/index.html', 403],
    ['another scheme', 'file:///srv/kdlab/dist/renderer/index.html', 403],
    ['https', 'https://app/index.html', 403],
    ['a NUL byte', 'lab://app/index.html%00.js', 400],
    ['broken percent-encoding', 'lab://app/%E0%A4%A', 400],
    ['not a URL', 'index.html', 400],
  ])('refuses %s', (_name, url, status) => {
    expect(resolveRendererPath(root, url)).toMatchObject({ ok: false, status });
  });
});

describe('lab:// scheme', () => {
  it('is standard, secure and fetchable, and does not bypass the CSP', () => {
    expect(labSchemePrivileges).toEqual({
      scheme: 'lab',
      privileges: { standard: true, secure: true, supportFetchAPI: true },
    });
  });

  it.each([
    ['lab://app/index.html', true],
    ['lab://app', true],
    ['lab://application/', false],
    ['lab://app.evil.example/', false],
    ['https://app/', false],
  ])('isLabAppUrl(%s) is %s', (url, expected) => {
    expect(isLabAppUrl(url)).toBe(expected);
  });

  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['a.JS', 'text/javascript; charset=utf-8'],
    ['a.css', 'text/css; charset=utf-8'],
    ['a.svg', 'image/svg+xml'],
    ['a.woff2', 'font/woff2'],
    ['a.wasm', 'application/wasm'],
    ['LICENSE', 'application/octet-stream'],
  ])('serves %s as %s', (file, type) => {
    expect(mimeTypeFor(file)).toBe(type);
  });
});

describe('the lab:// handler on a real folder', () => {
  let dir: string;
  let rendererRoot: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    rendererRoot = join(dir, 'dist', 'renderer');
    mkdirSync(join(rendererRoot, 'assets'), { recursive: true });
    writeFileSync(join(rendererRoot, 'index.html'), '<!doctype html><title>kdlab</title>');
    writeFileSync(join(rendererRoot, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
    symlinkSync(join(dir, 'secret.txt'), join(rendererRoot, 'assets', 'escape.txt'));
    symlinkSync(dir, join(rendererRoot, 'up'));
    symlinkSync(join(rendererRoot, 'assets', 'app.js'), join(rendererRoot, 'alias.js'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    resetElectronMock();
    app.markReady();
    registerLabProtocol(protocol, rendererRoot);
  });

  it('serves index.html with the CSP, nosniff and its MIME type', async () => {
    const response = await protocol.fetch('lab://app/index.html');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(contentSecurityPolicy);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('<title>kdlab</title>');
  });

  it('serves scripts as JavaScript, / as index.html, HEAD without a body', async () => {
    const script = await protocol.fetch('lab://app/assets/app.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log(1)');
    expect(await (await protocol.fetch('lab://app/')).text()).toContain('kdlab');
    const head = await protocol.fetch('lab://app/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('follows a symlink that stays inside the renderer folder', async () => {
    const response = await protocol.fetch('lab://app/alias.js');
    expect(response.status).toBe(200);
  });

  it.each([
    ['a symlinked file leading out', 'lab://app/assets/escape.txt', 403],
    ['a symlinked folder leading out', 'lab://app/up/secret.txt', 403],
    ['encoded traversal', 'lab://app/..%2f..%2fsecret.txt', 403],
    ['traversal folded by the URL parser', 'lab://app/../../secret.txt', 404],
    ['%2e%2e folded by the URL parser', 'lab://app/%2e%2e/%2e%2e/secret.txt', 404],
    ['an absolute path', 'lab://app//etc/passwd', 403],
    ['another host', 'lab://other/index.html', 403],
    ['a missing file', 'lab://app/nope.js', 404],
    ['a folder without index.html', 'lab://app/assets', 404],
  ])('refuses %s with %i, still with the CSP', async (_name, url, status) => {
    const response = await protocol.fetch(url);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-security-policy')).toBe(contentSecurityPolicy);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).not.toContain('TOP SECRET');
  });

  it('refuses methods other than GET and HEAD', async () => {
    const response = await protocol.fetch('lab://app/index.html', { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
  });

  it('says the UI is not built when the renderer folder is missing', async () => {
    resetElectronMock();
    app.markReady();
    registerLabProtocol(protocol, join(dir, 'not-built'));
    const response = await protocol.fetch('lab://app/index.html');
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/npm run build/);
  });
});
