// The connection to a Docker engine: a local unix socket, tcp:// (optionally TLS with client
// certificates), or ssh://user@host. We parse DOCKER_HOST ourselves and hand docker-modem a complete
// option set, because docker-modem merges its own reading of the environment under ours and would
// otherwise send an explicit socket path to whatever DOCKER_HOST names.
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { LabError } from '../../common/errors';

/** Label put on every image and container kdlab creates, so they can be found and cleaned up. */
export const kdlabLabel = 'io.kdlab.managed';

export const defaultSocketPath = '/var/run/docker.sock';

export interface DockerEngine {
  docker: Dockerode;
  /** Where the engine is, e.g. unix:///var/run/docker.sock, tcp://127.0.0.1:2376, ssh://lab@server. */
  endpoint: string;
  /** A unix socket on this machine: the engine sees this machine's files, so bind mounts work. */
  isLocal: boolean;
  /** The daemon's version, e.g. 20.10.24+dfsg1. */
  version: string;
  apiVersion: string;
}

export interface DockerEngineOptions {
  /** unix:///path, tcp://host:port, ssh://user@host[:port]; default DOCKER_HOST, else the local socket. */
  host?: string;
  /** Folder with ca.pem, cert.pem and key.pem (docker's DOCKER_CERT_PATH layout). */
  tlsCertPath?: string;
  /** Verify the daemon's certificate against ca.pem (default: on whenever TLS is used). */
  tlsVerify?: boolean;
  /** Give up on the first ping after this long (default 10 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export type EngineAddress =
  | { kind: 'unix'; endpoint: string; socketPath: string }
  | {
      kind: 'tcp';
      endpoint: string;
      host: string;
      port: number;
      tls: boolean;
      tlsVerify: boolean;
      certPath: string | null;
    }
  | { kind: 'ssh'; endpoint: string; host: string; port: number; username: string | null };

const badHostHint =
  'Use unix:///var/run/docker.sock, tcp://HOST:2376 (TLS, with DOCKER_CERT_PATH) or ssh://USER@HOST.';

/** Works out where the engine is from explicit options, then DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH. */
export function resolveEngineAddress(options: DockerEngineOptions = {}): EngineAddress {
  const env = options.env ?? process.env;
  const raw = (options.host ?? env.DOCKER_HOST ?? '').trim();
  if (raw === '')
    return { kind: 'unix', endpoint: `unix://${defaultSocketPath}`, socketPath: defaultSocketPath };
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length) || defaultSocketPath;
    if (!socketPath.startsWith('/'))
      throw new LabError('BAD_REQUEST', `The Docker host ${raw} has a relative socket path.`, badHostHint);
    return { kind: 'unix', endpoint: `unix://${socketPath}`, socketPath };
  }
  // docker accepts a bare host:port as tcp.
  const withScheme = raw.includes('://') ? raw : `tcp://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LabError('BAD_REQUEST', `The Docker host "${raw}" is not a valid address.`, badHostHint);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '')
    throw new LabError('BAD_REQUEST', `The Docker host "${raw}" names no machine.`, badHostHint);
  if (url.protocol === 'ssh:') {
    const port = url.port === '' ? 22 : Number(url.port);
    const username = url.username === '' ? null : decodeURIComponent(url.username);
    const who = username === null ? host : `${username}@${host}`;
    return { kind: 'ssh', endpoint: `ssh://${who}${port === 22 ? '' : `:${port}`}`, host, port, username };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LabError(
      'BAD_REQUEST',
      `The Docker host "${raw}" uses ${url.protocol}, which kdlab does not speak.`,
      badHostHint,
    );
  if (url.port === '')
    throw new LabError(
      'BAD_REQUEST',
      `The Docker host "${raw}" has no port.`,
      'Add the port: 2376 for TLS, 2375 for plain TCP (only on a trusted network).',
    );
  const port = Number(url.port);
  const envVerify =
    env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
  const tlsVerify = options.tlsVerify ?? envVerify;
  const explicitCerts = options.tlsCertPath ?? env.DOCKER_CERT_PATH;
  // As the docker CLI: TLS when verification is asked for, certificates are given, https:// is
  // written, or the port is docker's TLS port.
  const tls = tlsVerify || explicitCerts !== undefined || url.protocol === 'https:' || port === 2376;
  const certPath = tls ? (explicitCerts ?? join(homedir(), '.docker')) : null;
  return {
    kind: 'tcp',
    endpoint: `tcp://${url.host}`,
    host,
    port,
    tls,
    // With TLS the daemon's certificate is checked unless verification was turned off explicitly.
    tlsVerify: tls && (options.tlsVerify ?? true),
    certPath,
  };
}

function readPem(dir: string, name: string, required: boolean): Buffer | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new LabError(
      'NOT_FOUND',
      `The TLS file ${path} does not exist.`,
      'Point DOCKER_CERT_PATH (or --tls-cert-path) at the folder with ca.pem, cert.pem and key.pem for this engine.',
    );
  }
  return readFileSync(path);
}

function sshPrivateKey(): Buffer | undefined {
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const path = join(homedir(), '.ssh', name);
    if (existsSync(path)) return readFileSync(path);
  }
  return undefined;
}

/** The complete docker-modem options for an address (every key set, so the environment cannot leak in). */
export function modemOptions(
  address: EngineAddress,
  env: NodeJS.ProcessEnv = process.env,
): Dockerode.DockerOptions {
  const blank = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    username: undefined,
  };
  switch (address.kind) {
    case 'unix':
      return { ...blank, socketPath: address.socketPath };
    case 'ssh': {
      const agent = env.SSH_AUTH_SOCK;
      const privateKey = agent ? undefined : sshPrivateKey();
      return {
        ...blank,
        protocol: 'ssh',
        host: address.host,
        port: address.port,
        username: address.username ?? env.USER ?? undefined,
        sshOptions: {
          ...(agent ? { agent } : {}),
          ...(privateKey ? { privateKey } : {}),
          readyTimeout: 10_000,
        },
      };
    }
    case 'tcp': {
      if (!address.tls) return { ...blank, protocol: 'http', host: address.host, port: address.port };
      const dir = address.certPath ?? join(homedir(), '.docker');
      const ca = readPem(dir, 'ca.pem', address.tlsVerify);
      const cert = readPem(dir, 'cert.pem', false);
      const key = readPem(dir, 'key.pem', false);
      const options: Dockerode.DockerOptions & { agent?: HttpsAgent } = {
        ...blank,
        protocol: 'https',
        host: address.host,
        port: address.port,
        ca,
        cert,
        key,
      };
      // docker-modem passes no rejectUnauthorized; an agent is the way to turn verification off.
      if (!address.tlsVerify) options.agent = new HttpsAgent({ rejectUnauthorized: false });
      return options;
    }
  }
}

function startHint(): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `Start it: ${sudo}systemctl start docker, or without systemd: ${sudo}sh -c 'dockerd >/var/log/dockerd.log 2>&1 &' (scripts/dockerd.sh does this and waits).`;
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

interface ErrorShape {
  code?: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  statusCode?: number;
  reason?: string;
  json?: unknown;
  level?: string;
}

function daemonMessage(e: ErrorShape, fallback: string): string {
  const json = e.json as { message?: unknown } | Buffer | null | undefined;
  if (json && !Buffer.isBuffer(json) && typeof json.message === 'string') return json.message.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  return fallback.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

/** Turns a dockerode / docker-modem / socket error into a LabError that says what to do. */
export function dockerError(error: unknown, what: string): LabError {
  if (error instanceof LabError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape & Error;
  const text = typeof e.message === 'string' ? e.message : String(error);
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR')
    return new LabError('CANCELLED', `${what}: cancelled.`);
  if (e.name === 'TimeoutError')
    return new LabError('UNAVAILABLE', `${what}: the Docker engine did not answer in time.`, startHint());
  if (isDiskFull(error))
    return new LabError(
      'IO',
      `${what}: the disk is full (no space left on device).`,
      'Free space where Docker keeps its data (/var/lib/docker): docker image prune, docker builder prune, or remove old kdlab images (kdlab images list).',
    );
  const socket = e.address;
  if ((e.code === 'ENOENT' || e.code === 'ECONNREFUSED') && (socket?.startsWith('/') ?? e.code === 'ENOENT'))
    return new LabError(
      'UNAVAILABLE',
      `${what}: the Docker daemon is not running (${e.code === 'ENOENT' ? 'no socket at' : 'nothing listens on'} ${socket ?? defaultSocketPath}).`,
      startHint(),
    );
  if (e.code === 'EACCES' || e.code === 'EPERM')
    return new LabError(
      'FORBIDDEN',
      `${what}: permission denied on ${socket ?? defaultSocketPath}.`,
      'Add yourself to the docker group (sudo usermod -aG docker $USER), then log out and in again — or run kdlab as root.',
    );
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'EHOSTUNREACH' ||
    e.code === 'ENETUNREACH' ||
    e.code === 'ETIMEDOUT' ||
    e.code === 'ENOTFOUND' ||
    e.code === 'EAI_AGAIN'
  )
    return new LabError(
      'UNAVAILABLE',
      `${what}: cannot reach the Docker engine at ${socket ?? 'the remote host'}${e.port ? `:${e.port}` : ''} (${e.code}).`,
      'Check DOCKER_HOST and that the daemon listens there (dockerd -H tcp://0.0.0.0:2376 --tlsverify …).',
    );
  if (
    e.code !== undefined &&
    (tlsCodes.has(e.code) || e.code.startsWith('ERR_SSL') || e.code.startsWith('ERR_TLS'))
  )
    return new LabError(
      'FORBIDDEN',
      `${what}: the TLS handshake with the Docker engine failed (${e.code}: ${text}).`,
      'Use the ca.pem, cert.pem and key.pem issued for this engine (DOCKER_CERT_PATH or --tls-cert-path); the client certificate must be signed by the CA the daemon trusts.',
    );
  if (e.code === 'ECONNRESET' || /socket hang up/i.test(text))
    return new LabError(
      'UNAVAILABLE',
      `${what}: the Docker engine closed the connection (${text}).`,
      'With TLS this usually means the daemon refused the client certificate; otherwise check the daemon log (/var/log/dockerd.log).',
    );
  if (e.level !== undefined || /authentication|handshake|ssh/i.test(text))
    return new LabError(
      'UNAVAILABLE',
      `${what}: the ssh connection to the Docker engine failed (${text}).`,
      'Check that `ssh USER@HOST docker version` works without a password prompt (ssh-agent or ~/.ssh/id_ed25519), and that USER may use docker there.',
    );
  if (e.statusCode === 404)
    return new LabError(
      'NOT_FOUND',
      `${what}: ${daemonMessage(e, text)}.`,
      /image/i.test(text)
        ? 'Build it first: kdlab images base --debootstrap, then kdlab images build.'
        : null,
    );
  if (e.statusCode !== undefined)
    return new LabError(
      'IO',
      `${what}: the Docker engine answered ${e.statusCode}: ${daemonMessage(e, text)}.`,
    );
  return new LabError('IO', `${what}: ${text}`);
}

/** True when an error or a tool's output says a disk filled up. */
export function isDiskFull(error: unknown): boolean {
  if (typeof error === 'string') return /no space left on device/i.test(error);
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: string;
    message?: unknown;
  };
  return e.code === 'ENOSPC' || (typeof e.message === 'string' && /no space left on device/i.test(e.message));
}

/** The last line that names the full disk (the daemon's or the tool's own words), for the message. */
function diskFullDetail(error: unknown): string | null {
  const raw =
    typeof error === 'string'
      ? error
      : typeof error === 'object' && error !== null
        ? (error as { message?: unknown }).message
        : undefined;
  const text = typeof raw === 'string' ? raw : '';
  const lines = text
    // The classic builder colours a step's stderr with ANSI escapes (control characters by nature).
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => /no space left on device/i.test(l));
  return lines.at(-1)?.trim().slice(0, 300) ?? null;
}

/** Where the engine keeps images, layers and containers (its --data-root), or null when it does not say. */
export async function engineDataRoot(engine: Pick<DockerEngine, 'docker'>): Promise<string | null> {
  try {
    const info = (await engine.docker.info()) as { DockerRootDir?: unknown };
    return typeof info.DockerRootDir === 'string' && info.DockerRootDir !== '' ? info.DockerRootDir : null;
  } catch {
    // A daemon too unwell to answer: the message still says the disk is full, just not where.
    return null;
  }
}

/**
 * The error for a disk that filled up during Docker work, saying which disk: `path` when the caller
 * knows it (a workspace folder bind-mounted into the step), else the engine's data root, where image
 * layers, build steps and containers' own files live. The daemon's messages name paths inside a
 * layer (`write /big: …`), not the disk, so the engine is asked.
 */
export async function diskFullError(
  engine: Pick<DockerEngine, 'docker' | 'endpoint' | 'isLocal'>,
  what: string,
  cause: unknown,
  path?: string,
): Promise<LabError> {
  const detail = diskFullDetail(cause);
  const said = detail ? ` (${detail})` : '';
  if (path !== undefined)
    return new LabError(
      'IO',
      `${what}: the disk is full — no space left on device in ${path}${said}.`,
      `Free space on the disk holding ${path} (df -h ${path}): remove vmcores you no longer need (kdlab vmcores) or old builds under the workspace's cache/, or set KDLAB_HOME to a folder on a bigger disk. Then run it again: nothing half-written was kept.`,
    );
  const root = await engineDataRoot(engine);
  const other = engine.endpoint !== `unix://${defaultSocketPath}`;
  const host = engine.isLocal ? '' : ' on the Docker host';
  const where = root
    ? `the Docker engine's data folder ${root}${host} (${engine.endpoint})`
    : `the Docker engine's data folder${host} (${engine.endpoint})`;
  return new LabError(
    'IO',
    `${what}: the disk is full — no space left on device in ${where}${said}.`,
    `Free space on the disk holding ${root ?? "the engine's data root (docker info: Docker Root Dir)"}${host}${other ? `, with DOCKER_HOST=${engine.endpoint}` : ''}: docker builder prune -f, docker container prune -f, docker image prune, and remove kdlab images you no longer need (kdlab images list)${root ? `; df -h ${root} shows what is free` : ''}. Then run it again: kdlab kept nothing half-made.`,
  );
}

/** dockerError, with a full disk named precisely (which engine, which folder). */
export async function engineError(
  engine: Pick<DockerEngine, 'docker' | 'endpoint' | 'isLocal'>,
  error: unknown,
  what: string,
): Promise<LabError> {
  if (isDiskFull(error) && !(error instanceof LabError)) return diskFullError(engine, what, error);
  return dockerError(error, what);
}

/** Connects to a Docker engine and pings it; the error says why when it does not answer. */
export async function openDockerEngine(options: DockerEngineOptions = {}): Promise<DockerEngine> {
  const env = options.env ?? process.env;
  const address = resolveEngineAddress(options);
  const docker = new Dockerode(modemOptions(address, env));
  const what = `Docker engine ${address.endpoint}`;
  try {
    const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    // dockerode honours abortSignal on ping/version; its typings only lack the parameter.
    const withSignal = { abortSignal: signal };
    await (docker.ping as (opts: typeof withSignal) => Promise<unknown>).call(docker, withSignal);
    const version = await (
      docker.version as (opts: typeof withSignal) => Promise<Dockerode.DockerVersion>
    ).call(docker, withSignal);
    return {
      docker,
      endpoint: address.endpoint,
      isLocal: address.kind === 'unix',
      version: version.Version,
      apiVersion: version.ApiVersion,
    };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'AbortError' || e.name === 'TimeoutError')
      throw new LabError(
        'UNAVAILABLE',
        `${what} did not answer within ${(options.timeoutMs ?? 10_000) / 1000} s.`,
        address.kind === 'unix'
          ? startHint()
          : 'Check that the daemon runs there and that nothing blocks the port.',
      );
    const mapped = dockerError(error, what);
    const hungUp = (e as NodeJS.ErrnoException).code === 'ECONNRESET' || /socket hang up/i.test(e.message);
    // With TLS 1.3 a daemon that rejects the client certificate just closes the connection after
    // the handshake; knowing the address, we can say so.
    if (hungUp && address.kind === 'tcp' && address.tls)
      throw new LabError(
        'FORBIDDEN',
        `${what} closed the TLS connection: it did not accept the client certificate (${join(address.certPath ?? '', 'cert.pem')}).`,
        'Use the cert.pem and key.pem issued by the CA this engine trusts (dockerd --tlscacert); DOCKER_CERT_PATH or --tls-cert-path names their folder.',
      );
    if (hungUp && address.kind === 'tcp')
      throw new LabError(
        'UNAVAILABLE',
        `${what} closed the connection without answering.`,
        'If the engine uses TLS (port 2376, dockerd --tlsverify), give its certificates: DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or --tls-cert-path.',
      );
    throw mapped;
  }
}
