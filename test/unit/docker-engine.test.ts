// The Docker engine address (DOCKER_HOST and friends) and the error mapping, on errors made for
// real: sockets that do not exist, refuse, deny, or never answer; a disk that is full (/dev/full);
// an ssh port that does not speak ssh. The daemon itself is exercised in the integration tests.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError } from '../../electron/common/errors';
import {
  dockerError,
  modemOptions,
  openDockerEngine,
  resolveEngineAddress,
} from '../../electron/lab/docker/engine';

const repoRoot = new URL('../..', import.meta.url).pathname;
let dir: string;
const servers: Server[] = [];
const sockets: Socket[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kdlab-docker-engine-'));
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function listen(server: Server, where: string | number): Promise<number> {
  servers.push(server);
  server.on('connection', (s) => sockets.push(s));
  return new Promise((resolve) => {
    if (typeof where === 'string') server.listen(where, () => resolve(0));
    else
      server.listen(where, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function openError(options: Parameters<typeof openDockerEngine>[0]): Promise<LabError> {
  try {
    await openDockerEngine(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error('openDockerEngine succeeded');
}

/** Runs dockerode in a child process (optionally as another user) and returns the error it got, as data. */
function childDockerError(socketPath: string, uid?: number): Promise<Record<string, unknown>> {
  const script = `
    const Docker = require('dockerode');
    new Docker({ socketPath: ${JSON.stringify(socketPath)} }).ping().then(
      () => console.log('{}'),
      (e) => console.log(JSON.stringify({ name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address })),
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: repoRoot,
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`child said: ${out}`));
      }
    });
  });
}

describe('resolveEngineAddress', () => {
  const env = {};
  it.each([
    ['', { kind: 'unix', socketPath: '/var/run/docker.sock', endpoint: 'unix:///var/run/docker.sock' }],
    ['unix://', { kind: 'unix', socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { kind: 'unix', socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://10.0.0.5:2375', { kind: 'tcp', host: '10.0.0.5', port: 2375, tls: false, certPath: null }],
    [
      '10.0.0.5:2375',
      { kind: 'tcp', host: '10.0.0.5', port: 2375, tls: false, endpoint: 'tcp://10.0.0.5:2375' },
    ],
    [
      'tcp://lab.example.org:2376',
      { kind: 'tcp', host: 'lab.example.org', port: 2376, tls: true, tlsVerify: true },
    ],
    ['tcp://[::1]:2376', { kind: 'tcp', host: '::1', port: 2376, tls: true }],
    [
      'ssh://lab@server',
      { kind: 'ssh', host: 'server', port: 22, username: 'lab', endpoint: 'ssh://lab@server' },
    ],
    [
      'ssh://server:2222',
      { kind: 'ssh', host: 'server', port: 2222, username: null, endpoint: 'ssh://server:2222' },
    ],
  ])('%s', (host, expected) => {
    expect(resolveEngineAddress({ host, env })).toMatchObject(expected);
  });

  it('reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH like the docker CLI', () => {
    expect(
      resolveEngineAddress({
        env: { DOCKER_HOST: 'tcp://10.0.0.5:2375', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' },
      }),
    ).toMatchObject({ kind: 'tcp', tls: true, tlsVerify: true, certPath: '/certs' });
    expect(resolveEngineAddress({ env: { DOCKER_HOST: 'unix:///tmp/d.sock' } })).toMatchObject({
      socketPath: '/tmp/d.sock',
    });
  });

  it('lets explicit options win over the environment, and turns verification off only when asked', () => {
    const env2 = { DOCKER_HOST: 'tcp://10.0.0.5:2375' };
    expect(resolveEngineAddress({ host: 'unix:///x.sock', env: env2 })).toMatchObject({ kind: 'unix' });
    expect(
      resolveEngineAddress({ host: 'tcp://h:2376', tlsCertPath: '/c', tlsVerify: false, env }),
    ).toMatchObject({ tls: true, tlsVerify: false, certPath: '/c' });
  });

  it.each([
    ['tcp://lab.example.org', /has no port/],
    ['ftp://h:21', /ftp:, which kdlab does not speak/],
    ['unix://docker.sock', /relative socket path/],
    ['tcp://:2375', /names no machine|not a valid address/],
  ])('refuses %s with a clear message', (host, message) => {
    let error: unknown;
    try {
      resolveEngineAddress({ host, env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).code).toBe('BAD_REQUEST');
    expect((error as LabError).message).toMatch(message);
    expect((error as LabError).hint).toBeTruthy();
  });

  it('gives docker-modem a complete option set, so a DOCKER_HOST in the environment cannot redirect a socket', () => {
    const options = modemOptions(resolveEngineAddress({ host: 'unix:///var/run/docker.sock', env }));
    expect(options).toMatchObject({ socketPath: '/var/run/docker.sock' });
    expect('host' in options && options.host === undefined).toBe(true);
    expect('protocol' in options && options.protocol === undefined).toBe(true);
  });

  it('names the missing TLS file', () => {
    const empty = mkdtempSync(join(dir, 'certs-'));
    let error: unknown;
    try {
      modemOptions(resolveEngineAddress({ host: 'tcp://127.0.0.1:2376', tlsCertPath: empty, env }));
    } catch (e) {
      error = e;
    }
    expect((error as LabError).code).toBe('NOT_FOUND');
    expect((error as LabError).message).toContain(join(empty, 'ca.pem'));
  });
});

describe('errors from a Docker engine that is not there', () => {
  it('no socket: UNAVAILABLE, the daemon is not running, with the start command', async () => {
    const error = await openError({ host: `unix://${join(dir, 'missing.sock')}` });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/daemon is not running \(no socket at .*missing\.sock\)/);
    expect(error.hint).toMatch(/dockerd/);
  });

  it('a socket file nobody listens on: UNAVAILABLE', async () => {
    const path = join(dir, 'stale.sock');
    // A child binds the socket and exits without closing it: the file stays, nothing listens.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
      ]);
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    const error = await openError({ host: `unix://${path}` });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/nothing listens on .*stale\.sock/);
  });

  it('a socket the user may not open: FORBIDDEN, permission denied, with the docker group hint', async () => {
    const path = join(dir, 'denied.sock');
    await listen(createServer(), path);
    chmodSync(path, 0o600);
    const uid = process.getuid?.() ?? 0;
    // Root ignores file permissions, so the attempt is made as nobody (65534) when we are root.
    const shape = await childDockerError(path, uid === 0 ? 65534 : undefined);
    expect(shape.code).toBe('EACCES');
    const error = dockerError(Object.assign(new Error(String(shape.message)), shape), 'Pinging');
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain(`permission denied on ${path}`);
    expect(error.hint).toMatch(/docker group/);
  });

  it('an engine that accepts but never answers: UNAVAILABLE after the timeout', async () => {
    const path = join(dir, 'silent.sock');
    await listen(createServer(), path);
    const error = await openError({ host: `unix://${path}`, timeoutMs: 300 });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/did not answer within 0\.3 s/);
  });

  it('a tcp port that refuses: UNAVAILABLE naming the address', async () => {
    const port = await closedPort();
    const error = await openError({ host: `tcp://127.0.0.1:${port}` });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(`127.0.0.1:${port} (ECONNREFUSED)`);
    expect(error.hint).toMatch(/DOCKER_HOST/);
  });

  it('ssh to a port that does not speak ssh: UNAVAILABLE with the ssh hint', async () => {
    const port = await listen(
      createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')),
      0,
    );
    const error = await openError({ host: `ssh://lab@127.0.0.1:${port}`, timeoutMs: 5_000 });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(`ssh://lab@127.0.0.1:${port}`);
    expect(error.hint).toMatch(/ssh USER@HOST docker version/);
  });

  it('ssh to a closed port: UNAVAILABLE', async () => {
    const port = await closedPort();
    const error = await openError({ host: `ssh://lab@127.0.0.1:${port}` });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });
});

describe('dockerError', () => {
  it('a full disk (a real ENOSPC from /dev/full): IO, disk full, with what to prune', () => {
    let enospc: unknown;
    try {
      writeFileSync('/dev/full', 'x');
    } catch (e) {
      enospc = e;
    }
    const error = dockerError(enospc, 'Building kdlab/toolchain');
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(/disk is full/);
    expect(error.hint).toMatch(/prune/);
    // As the daemon reports it inside a build stream.
    const fromDaemon = dockerError(
      new Error(
        'failed to register layer: write /var/lib/docker/overlay2/x/diff/usr/bin/gdb: no space left on device',
      ),
      'Building',
    );
    expect(fromDaemon.message).toMatch(/disk is full/);
  });

  it('an HTTP 404 for an image: NOT_FOUND with the build hint; other statuses: IO with the daemon message', () => {
    const notFound = Object.assign(
      new Error('(HTTP code 404) no such image - No such image: kdlab/nope:1 '),
      {
        statusCode: 404,
        json: { message: 'No such image: kdlab/nope:1' },
      },
    );
    const error = dockerError(notFound, 'Inspecting kdlab/nope:1');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('Inspecting kdlab/nope:1: No such image: kdlab/nope:1.');
    expect(error.hint).toMatch(/kdlab images/);
    const conflict = Object.assign(new Error('(HTTP code 409) conflict - in use '), {
      statusCode: 409,
      json: { message: 'conflict: unable to delete (image is in use)' },
    });
    expect(dockerError(conflict, 'Removing').message).toContain('answered 409: conflict: unable to delete');
  });

  it('keeps LabErrors and reports an abort as CANCELLED', () => {
    const own = new LabError('TOOL_MISSING', 'x');
    expect(dockerError(own, 'y')).toBe(own);
    const controller = new AbortController();
    controller.abort();
    let abort: unknown;
    try {
      controller.signal.throwIfAborted();
    } catch (e) {
      abort = e;
    }
    expect(dockerError(abort, 'Building').code).toBe('CANCELLED');
  });
});
