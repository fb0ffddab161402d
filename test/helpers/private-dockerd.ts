// A second, private Docker daemon for tests that must not touch the shared one: its data root on a
// small tmpfs (so a disk can really fill up), its own socket, exec root, pid file and containerd,
// no bridge and no iptables rules. Needs root (mount, dockerd). stop() ends only this daemon.
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, spawnTree } from '../../electron/lab/process';

export interface PrivateDockerd {
  /** DOCKER_HOST-style address, e.g. unix:///tmp/kdlab-dfull-abc/docker.sock. */
  host: string;
  /** The daemon's --data-root: the tmpfs. */
  dataRoot: string;
  /** The folder holding everything of this daemon. */
  dir: string;
  /** The daemon's log so far (for failure messages). */
  log: () => Promise<string>;
  /** Mounts another tmpfs of `sizeMiB` at a new folder under dir (e.g. a small workspace). */
  smallDisk: (name: string, sizeMiB: number) => Promise<string>;
  stop: () => Promise<void>;
}

async function mountTmpfs(dir: string, sizeMiB: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const mounted = await runCommand([
    'mount',
    '-t',
    'tmpfs',
    '-o',
    `size=${sizeMiB}m,mode=0755`,
    'kdlab-test',
    dir,
  ]);
  if (mounted.exitCode !== 0) throw new Error(`mount tmpfs on ${dir}: ${mounted.stderr.trim()}`);
}

/** Mount points at or below `dir`, deepest first. */
async function mountsBelow(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startPrivateDockerd(options: { dataMiB: number }): Promise<PrivateDockerd> {
  if (process.getuid?.() !== 0) throw new Error('A private dockerd needs root (mount, dockerd).');
  // Short path: unix socket paths (containerd's below the exec root too) are limited to 107 bytes.
  const dir = await mkdtemp('/tmp/kdlab-dfull-');
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const socket = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  await mountTmpfs(dataRoot, options.dataMiB);
  await mkdir(execRoot);
  const logFd = openSync(logFile, 'a');
  // Its own network namespace: a dockerd with --bridge=none deletes the host's docker0 at start,
  // which would break the shared daemon (and every other Docker test running beside this one).
  // unshare execs dockerd in place, so child.pid is the daemon itself.
  const child = spawnTree(
    [
      'unshare',
      '--net',
      '--',
      'dockerd',
      `--data-root=${dataRoot}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${join(dir, 'dockerd.pid')}`,
      `--host=unix://${socket}`,
      '--storage-driver=overlay2',
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const log = () => readFile(logFile, 'utf8').catch(() => '');

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // SIGTERM to this dockerd only: it stops its containers and its own containerd, then unmounts.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      if (!(await exited(child, 30_000))) {
        process.kill(-child.pid, 'SIGKILL');
        await exited(child, 5_000);
      }
    }
    for (const point of await mountsBelow(dir)) {
      const out = await runCommand(['umount', point]);
      if (out.exitCode !== 0) await runCommand(['umount', '-l', point]);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const host = `unix://${socket}`;
  try {
    for (let i = 0; ; i += 1) {
      const ping = await runCommand(['docker', '-H', host, 'version', '--format', '{{.Server.Version}}']);
      if (ping.exitCode === 0) break;
      if (child.exitCode !== null || i >= 120)
        throw new Error(`The private dockerd did not come up:\n${(await log()).slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    dataRoot,
    dir,
    log,
    smallDisk: async (name, sizeMiB) => {
      const path = join(dir, name);
      await mountTmpfs(path, sizeMiB);
      return path;
    },
    stop,
  };
}
