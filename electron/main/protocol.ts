// The lab:// protocol: the renderer is served from dist/renderer as lab://app/…, never from file://.
// Every response carries the CSP; anything that would leave the renderer folder is refused.
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep, win32 } from 'node:path';
import type { CustomScheme, Protocol } from 'electron';
import { mimeTypes } from '../common/mime-types';
import { contentSecurityPolicy } from '../common/csp';

export const labScheme = 'lab';
export const labHost = 'app';
export const labAppUrl = `${labScheme}://${labHost}/index.html`;

/** Registered before `ready`. No bypassCSP, no corsEnabled: the renderer only talks to itself. */
export const labSchemePrivileges: CustomScheme = {
  scheme: labScheme,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

/** True for lab://app/… and nothing else (other hosts, ports or credentials included). */
export function isLabAppUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    url.protocol === `${labScheme}:` && url.host === labHost && url.username === '' && url.password === ''
  );
}

export function mimeTypeFor(path: string): string {
  return mimeTypes[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export type RendererPath =
  { ok: true; path: string } | { ok: false; status: 400 | 403 | 404; reason: string };

const refused = (status: 400 | 403 | 404, reason: string): RendererPath => ({ ok: false, status, reason });

/**
 * Maps a lab:// URL to a file under `root` by its text alone (symlinks are checked when serving).
 * Refuses other schemes and hosts, `..` segments (also percent-encoded), absolute paths, backslashes
 * and NUL bytes. `/` and folder URLs mean their index.html.
 */
export function resolveRendererPath(root: string, requestUrl: string): RendererPath {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return refused(400, 'not a URL');
  }
  if (url.protocol !== `${labScheme}:` || url.host !== labHost) return refused(403, 'not lab://app');
  // The URL parser has already folded literal and %2e dot segments; decoding can reveal more.
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return refused(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0')) return refused(400, 'NUL in path');
  if (decoded.includes('\\')) return refused(403, 'backslash in path');
  let rel = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  if (rel.startsWith('/') || isAbsolute(rel) || win32.isAbsolute(rel)) return refused(403, 'absolute path');
  if (rel.split('/').includes('..')) return refused(403, 'parent segment in path');
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const path = join(root, rel);
  const fromRoot = relative(root, path);
  if (fromRoot === '' || fromRoot.startsWith('..') || isAbsolute(fromRoot))
    return refused(403, 'outside root');
  return { ok: true, path };
}

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

const baseHeaders = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function errorResponse(status: number, message: string): Response {
  return new Response(`kdlab: ${message}\n`, {
    status,
    headers: { ...baseHeaders, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
  });
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Serves one lab:// request from `root`; every response (errors too) carries the CSP and nosniff. */
export async function serveRendererRequest(root: string, request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return errorResponse(405, 'method not allowed');
  const resolved = resolveRendererPath(root, request.url);
  if (!resolved.ok) return errorResponse(resolved.status, resolved.reason);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return errorResponse(503, `the UI is not built (no ${root}): run npm run build`);
  }
  let file: string;
  try {
    file = await realpath(resolved.path);
  } catch (error) {
    return isMissing(error) ? errorResponse(404, 'not found') : errorResponse(403, 'not readable');
  }
  // A symlink inside the renderer folder must not lead out of it.
  if (!isInside(realRoot, file)) return errorResponse(403, 'outside root');
  try {
    if (!(await stat(file)).isFile()) return errorResponse(404, 'not found');
    const body = request.method === 'HEAD' ? null : new Uint8Array(await readFile(file));
    return new Response(body, {
      status: 200,
      headers: {
        ...baseHeaders,
        'Content-Type': mimeTypeFor(file),
        'Cache-Control': file.endsWith('.html') ? 'no-store' : 'no-cache',
      },
    });
  } catch (error) {
    return isMissing(error) ? errorResponse(404, 'not found') : errorResponse(500, 'read failed');
  }
}

/** Installs the lab:// handler (after `ready`). */
export function registerLabProtocol(protocol: Pick<Protocol, 'handle'>, rendererRoot: string): void {
  protocol.handle(labScheme, (request) => serveRendererRequest(rendererRoot, request));
}
