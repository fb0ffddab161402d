// The Docker engine over TLS for real: a CA, server and client certificates made with openssl, and a
// TLS endpoint (node's tls, client certificates required) in front of the real daemon's socket —
// the path a classroom's tcp://server:2376 takes. Plus the local socket and a real 404.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError } from '../../electron/common/errors';
import { dockerError, openDockerEngine } from '../../electron/lab/docker/engine';
import { runCommand } from '../../electron/lab/process';

let dir: string;
let server: Server;
let port = 0;
const open: Socket[] = [];

async function openssl(...args: string[]): Promise<void> {
  const result = await runCommand(['openssl', ...args], { cwd: dir });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A CA, and a certificate signed by it with the given extensions. */
async function issue(ca: string, name: string, cn: string, ext: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), ext);
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}-key.pem`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}-key.pem`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

async function makeCa(name: string): Promise<void> {
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}-key.pem`,
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  );
}

/** A DOCKER_CERT_PATH-style folder: ca.pem, cert.pem, key.pem. */
function certDir(name: string, ca: string, client: string): string {
  const path = join(dir, name);
  mkdirSync(path);
  writeFileSync(join(path, 'ca.pem'), readFileSync(join(dir, `${ca}.pem`)));
  writeFileSync(join(path, 'cert.pem'), readFileSync(join(dir, `${client}.pem`)));
  writeFileSync(join(path, 'key.pem'), readFileSync(join(dir, `${client}-key.pem`)));
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdlab-docker-tls-'));
  await makeCa('ca');
  await makeCa('other-ca');
  await issue('ca', 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue('ca', 'client', 'kdlab-student', 'extendedKeyUsage=clientAuth\n');
  await issue('other-ca', 'stranger', 'kdlab-stranger', 'extendedKeyUsage=clientAuth\n');
  certDir('good', 'ca', 'client');
  certDir('wrong-client', 'ca', 'stranger');
  certDir('wrong-ca', 'other-ca', 'client');

  // Like dockerd --tlsverify: only clients with a certificate from our CA get through.
  server = createServer(
    {
      key: readFileSync(join(dir, 'server-key.pem')),
      cert: readFileSync(join(dir, 'server.pem')),
      ca: readFileSync(join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      const daemon = connect('/var/run/docker.sock');
      open.push(client, daemon);
      client.pipe(daemon).pipe(client);
      client.on('error', () => daemon.destroy());
      daemon.on('error', () => client.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function openError(options: Parameters<typeof openDockerEngine>[0]): Promise<LabError> {
  try {
    await openDockerEngine(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error('openDockerEngine succeeded');
}

describe('Docker engines', () => {
  it('the local socket: a local engine with its version', async () => {
    const engine = await openDockerEngine({ env: {} });
    expect(engine).toMatchObject({ endpoint: 'unix:///var/run/docker.sock', isLocal: true });
    expect(engine.version).toMatch(/^\d+\.\d+/);
  });

  it('the local socket even when DOCKER_HOST in the process environment names another engine', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    try {
      const engine = await openDockerEngine({ host: 'unix:///var/run/docker.sock' });
      expect(engine.isLocal).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('tcp:// with TLS and a client certificate: a remote engine, the same daemon behind it', async () => {
    const engine = await openDockerEngine({
      host: `tcp://127.0.0.1:${port}`,
      tlsCertPath: join(dir, 'good'),
      env: {},
    });
    expect(engine).toMatchObject({ endpoint: `tcp://127.0.0.1:${port}`, isLocal: false });
    const local = await openDockerEngine({ env: {} });
    const [remoteInfo, localInfo] = await Promise.all([engine.docker.info(), local.docker.info()]);
    expect((remoteInfo as { ID: string }).ID).toBe((localInfo as { ID: string }).ID);
  });

  it('the same through DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const engine = await openDockerEngine({
      env: {
        DOCKER_HOST: `tcp://127.0.0.1:${port}`,
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: join(dir, 'good'),
      },
    });
    expect(engine.isLocal).toBe(false);
  });

  it('a client certificate from another CA is refused by the engine, with a clear error', async () => {
    const error = await openError({
      host: `tcp://127.0.0.1:${port}`,
      tlsCertPath: join(dir, 'wrong-client'),
      env: {},
    });
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain(
      `did not accept the client certificate (${join(dir, 'wrong-client', 'cert.pem')})`,
    );
    expect(error.hint).toMatch(/CA this engine trusts/);
  });

  it('an engine whose certificate our CA did not sign is refused by us: FORBIDDEN', async () => {
    const error = await openError({
      host: `tcp://127.0.0.1:${port}`,
      tlsCertPath: join(dir, 'wrong-ca'),
      env: {},
    });
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(
      /TLS handshake .* failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)/,
    );
  });

  it('plain http to the TLS port is a clear error, not a hang', async () => {
    const error = await openError({ host: `tcp://127.0.0.1:${port}`, env: {}, timeoutMs: 5_000 });
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(`tcp://127.0.0.1:${port} closed the connection without answering`);
    expect(error.hint).toMatch(/DOCKER_TLS_VERIFY=1/);
  });

  it('an image the engine does not have: NOT_FOUND', async () => {
    const engine = await openDockerEngine({ env: {} });
    let caught: unknown;
    try {
      await engine.docker.getImage('kdlab/no-such-image:0').inspect();
    } catch (e) {
      caught = e;
    }
    const error = dockerError(caught, 'Inspecting kdlab/no-such-image:0');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/no such image/i);
  });
});
