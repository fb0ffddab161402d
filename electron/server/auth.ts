// Web mode access control: a random token (query once, then an HttpOnly cookie), Host and Origin checks.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { tokenCookieName, tokenQueryName } from '../common/ws-protocol';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokensEqual(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

export interface AccessPolicy {
  token: string;
  /** Host header values accepted (DNS-rebinding defence); null accepts any (explicit remote mode). */
  allowedHosts: Set<string> | null;
}

export type AccessDecision =
  { ok: true; via: 'cookie' | 'query' } | { ok: false; status: 401 | 403; reason: string };

export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://kdlab.invalid');
}

export function checkHost(req: IncomingMessage, policy: AccessPolicy): AccessDecision | null {
  const host = req.headers.host ?? '';
  if (policy.allowedHosts && !policy.allowedHosts.has(host.toLowerCase())) {
    return { ok: false, status: 403, reason: `Host ${JSON.stringify(host)} is not this kdlab server.` };
  }
  return null;
}

export function checkToken(req: IncomingMessage, policy: AccessPolicy): AccessDecision {
  const hostFailure = checkHost(req, policy);
  if (hostFailure) return hostFailure;
  if (tokensEqual(policy.token, readCookie(req.headers.cookie, tokenCookieName)))
    return { ok: true, via: 'cookie' };
  if (tokensEqual(policy.token, requestUrl(req).searchParams.get(tokenQueryName)))
    return { ok: true, via: 'query' };
  return {
    ok: false,
    status: 401,
    reason:
      'This kdlab server needs its access token: open the URL that `kdlab serve` printed (it ends in ?token=…).',
  };
}

/** WebSocket upgrades: a browser's Origin must be the page's own origin (same host and port). */
export function checkOrigin(req: IncomingMessage): AccessDecision | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null; // not a browser; the token still applies
  const host = req.headers.host ?? '';
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return { ok: false, status: 403, reason: `Malformed Origin ${JSON.stringify(origin)}.` };
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.host.toLowerCase() !== host.toLowerCase()
  ) {
    return { ok: false, status: 403, reason: `Origin ${origin} may not use this kdlab server.` };
  }
  return null;
}

export function tokenCookie(token: string): string {
  return `${tokenCookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
