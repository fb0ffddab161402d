// The web mode: the built renderer over HTTP and the LabApi over a WebSocket, bound to loopback
// unless the user explicitly asks otherwise, every route behind the token.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { contentSecurityPolicy } from '../common/csp';
import { mimeTypes } from '../common/mime-types';
import type { LabEventName, LabEvents } from '../common/events';
import { LabError, toErrorData } from '../common/errors';
import { tokenQueryName, uploadPath, wsPath } from '../common/ws-protocol';
import type { WsServerFrame } from '../common/ws-protocol';
import type { ClientContext } from '../lab/dispatcher';
import type { LabBackend } from '../lab/lab-backend';
import { checkOrigin, checkToken, generateToken, requestUrl, tokenCookie } from './auth';
import type { AccessDecision, AccessPolicy } from './auth';
import { defaultMaxUploadBytes, receiveUpload } from './upload';

export interface WebServerOptions {
  backend: Pick<LabBackend, 'dispatch' | 'events' | 'terminals'>;
  rendererDir: string;
  host?: string;
  port?: number;
  /** Binding a non-loopback address must be asked for explicitly. */
  allowRemote?: boolean;
  token?: string;
  /** Where POST /upload writes (the workspace's inbox); no upload route without it. */
  uploads?: { dir: string; maxBytes?: number };
}

export interface RunningWebServer {
  url: string;
  host: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

const securityHeaders = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(`kdlab: ${message}\n`);
}

function refuseUpgrade(socket: Duplex, decision: Extract<AccessDecision, { ok: false }>): void {
  const text = decision.status === 401 ? 'Unauthorized' : 'Forbidden';
  const body = `kdlab: ${decision.reason}\n`;
  socket.end(
    `HTTP/1.1 ${decision.status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Maps a URL path into the renderer folder; null when it would leave it. */
export async function resolveStatic(rendererDir: string, pathname: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = normalize(decoded === '/' ? '/index.html' : decoded).replace(/^([/\\])+/, '');
  if (relative.split(/[/\\]/).includes('..')) return null;
  try {
    const root = await realpath(rendererDir);
    const full = await realpath(join(root, relative));
    if (full !== root && !full.startsWith(root + sep)) return null;
    if (!(await stat(full)).isFile()) return null;
    return full;
  } catch {
    return null;
  }
}

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote) {
    throw new Error(
      `Refusing to bind ${host}: it is not a loopback address. Pass --allow-remote to expose kdlab on the network.`,
    );
  }
  const token = options.token ?? generateToken();
  const policy: AccessPolicy = { token, allowedHosts: new Set() };
  const { backend } = options;

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const decision = checkToken(req, policy);
    if (!decision.ok) {
      refuse(res, decision.status, decision.reason);
      return;
    }
    if (options.uploads && requestUrl(req).pathname === uploadPath) {
      await handleUpload(req, res, options.uploads);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      refuse(res, 405, `${req.method ?? '?'} is not allowed here.`);
      return;
    }
    const url = requestUrl(req);
    if (decision.via === 'query') {
      // Trade the token in the URL for a cookie, and drop it from the address bar and history.
      url.searchParams.delete(tokenQueryName);
      res.writeHead(303, {
        ...securityHeaders,
        'Set-Cookie': tokenCookie(token),
        Location: `${url.pathname}${url.search}`,
        'Cache-Control': 'no-store',
      });
      res.end();
      return;
    }
    const file = await resolveStatic(options.rendererDir, url.pathname);
    if (!file) {
      const built = await stat(join(options.rendererDir, 'index.html')).then(
        () => true,
        () => false,
      );
      if (!built)
        refuse(res, 503, `the UI is not built (no ${options.rendererDir}/index.html): run npm run build`);
      else refuse(res, 404, `${url.pathname} not found.`);
      return;
    }
    const type = mimeTypes[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, {
      ...securityHeaders,
      'Content-Type': type,
      'Cache-Control': file.endsWith('.html') ? 'no-store' : 'private, max-age=3600',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const handleUpload = async (
    req: IncomingMessage,
    res: ServerResponse,
    uploads: NonNullable<WebServerOptions['uploads']>,
  ): Promise<void> => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, {
        ...securityHeaders,
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        ...(status >= 400 ? { Connection: 'close' } : {}),
      });
      res.end(JSON.stringify(body));
      // A refused upload is not read: stop the client sending the rest.
      if (status >= 400) req.destroy();
    };
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      reply(405, { ok: false, error: { code: 'BAD_REQUEST', message: 'POST the file here.', hint: null } });
      return;
    }
    // Same-origin pages only (the cookie is SameSite=Strict too); tools without Origin use the token.
    const origin = checkOrigin(req);
    if (origin && !origin.ok) {
      reply(origin.status, { ok: false, error: { code: 'FORBIDDEN', message: origin.reason, hint: null } });
      return;
    }
    try {
      const result = await receiveUpload(req, requestUrl(req), {
        dir: uploads.dir,
        maxBytes: uploads.maxBytes ?? defaultMaxUploadBytes,
      });
      reply(201, { ok: true, result });
    } catch (error) {
      const data = toErrorData(error);
      const tooBig = error instanceof LabError && /uploads are limited/.test(error.message);
      reply(tooBig ? 413 : data.code === 'BAD_REQUEST' ? 400 : 500, { ok: false, error: data });
    }
  };

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      if (!res.headersSent) refuse(res, 500, (error as Error).message);
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    const failure =
      url.pathname !== wsPath ? ({ ok: false, status: 403, reason: 'Unknown path.' } as const) : null;
    const decision = failure ?? checkOrigin(req) ?? checkToken(req, policy);
    if (!decision.ok) {
      refuseUpgrade(socket, decision);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ws));
  });

  const serveConnection = (ws: WebSocket): void => {
    const send = (frame: WsServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const client: ClientContext = {
      clientId: `ws-${randomUUID()}`,
      emit<E extends LabEventName>(event: E, payload: LabEvents[E]) {
        send({ type: 'event', event, payload } as WsServerFrame);
      },
    };
    const detach = backend.events.attach(client);
    ws.on('message', (raw: RawData) => {
      void handleMessage(raw);
    });
    const handleMessage = async (raw: RawData): Promise<void> => {
      let frame: unknown;
      try {
        frame = JSON.parse(
          Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(raw as Buffer[]).toString('utf8'),
        );
      } catch {
        send({
          type: 'response',
          id: -1,
          ok: false,
          error: { code: 'BAD_REQUEST', message: 'The message is not JSON.', hint: null },
        });
        return;
      }
      const f = frame as { type?: unknown; id?: unknown; method?: unknown; args?: unknown };
      const id = typeof f.id === 'number' && Number.isSafeInteger(f.id) ? f.id : -1;
      if (f.type !== 'request' || id < 0) {
        send({
          type: 'response',
          id,
          ok: false,
          error: {
            code: 'BAD_REQUEST',
            message: 'Expected {type:"request", id:<integer>, method, args}.',
            hint: null,
          },
        });
        return;
      }
      const result = await backend.dispatch(f.method, f.args, client);
      send({ type: 'response', id, ...result });
    };
    ws.on('close', () => {
      detach();
      backend.terminals.closeAllOf(client.clientId);
    });
    ws.on('error', () => ws.terminate());
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  if (isLoopback(host)) {
    policy.allowedHosts = new Set([
      `${urlHost}:${port}`,
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
    ]);
  } else {
    policy.allowedHosts = null;
  }
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : urlHost;
  return {
    url: `http://${displayHost}:${port}/?${tokenQueryName}=${token}`,
    host,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
