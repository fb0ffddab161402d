// The host executor is the old direct path: same exit codes, output, errors and whole-tree cancel
// as runCommand/spawnTree, and a pty terminal like the terminal service's. Opening the Docker
// executor from the settings reports an engine that is not there or not ours to use.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../electron/common/errors';
import { HostExecutor, hostExecutor } from '../../electron/lab/exec/host-executor';
import { runCommand } from '../../electron/lab/process';
import * as settings from '../../electron/lab/exec/executor-settings';
import { Workspace } from '../../electron/lab/workspace';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('HostExecutor', () => {
  it('identifies as the host and keeps cache keys unchanged', () => {
    expect(hostExecutor.kind).toBe('host');
    expect(hostExecutor.describe()).toBe('host');
    expect(hostExecutor.cacheIdentity).toBeNull();
    expect(hostExecutor.listenHost).toBe('127.0.0.1');
  });

  it('returns exactly what runCommand returns', async () => {
    const argv = ['sh', '-c', 'echo out; echo err >&2; exit 7'];
    const direct = await runCommand(argv);
    const viaExecutor = await hostExecutor.run(argv, { inputs: ['/nonexistent'], outputs: ['/x'] });
    expect(viaExecutor).toEqual(direct);
    expect(viaExecutor).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect(await hostExecutor.run(['cat'], { input: 'piped' })).toMatchObject({ stdout: 'piped' });
  });

  it('reports a missing tool as TOOL_MISSING with the install hint', async () => {
    await expect(
      hostExecutor.run(['kdlab-no-such-tool'], { installHint: 'apt-get install -y nothing' }),
    ).rejects.toMatchObject({ code: 'TOOL_MISSING', hint: 'apt-get install -y nothing' });
    await expect(hostExecutor.spawn(['kdlab-no-such-tool'])).rejects.toMatchObject({ code: 'TOOL_MISSING' });
    expect(await hostExecutor.which('sh')).toMatch(/\/sh$/);
    expect(await hostExecutor.which('kdlab-no-such-tool')).toBeNull();
  });

  it('cancel kills the whole tree, grandchildren included', async () => {
    const controller = new AbortController();
    let grandchild = 0;
    const running = hostExecutor.run(['sh', '-c', 'sleep 300 & echo $!; wait'], {
      signal: controller.signal,
      onOutput: (chunk) => (grandchild ||= Number(chunk.toString().trim())),
    });
    await until(() => grandchild > 0, 'the grandchild pid');
    expect(alive(grandchild)).toBe(true);
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    await until(() => !alive(grandchild), 'the grandchild to die');
  });

  it('spawn: streams, stdin, wait, and kill takes the tree down', async () => {
    const proc = await hostExecutor.spawn(['sh', '-c', 'sleep 300 & echo $!; cat'], { stdin: true });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await until(() => /^\d+\n/.test(out), 'the pid line');
    const grandchild = Number(out.split('\n')[0]);
    proc.stdin!.write('echoed\n');
    await until(() => out.includes('echoed'), 'cat');
    expect(proc.pid).toBeGreaterThan(0);
    proc.kill();
    const exit = await proc.wait();
    expect(exit.signal).toBe('SIGTERM');
    await until(() => !alive(grandchild), 'the grandchild to die');
  });

  it('spawn: the exit status of a process that ends on its own', async () => {
    const proc = await new HostExecutor().spawn(['sh', '-c', 'exit 5']);
    expect(await proc.wait()).toEqual({ exitCode: 5, signal: null });
  });

  it('openTerminal runs under a pty with the asked size', async () => {
    const term = await hostExecutor.openTerminal(['sh', '-c', 'stty size; tty'], { cols: 101, rows: 33 });
    let text = '';
    term.onData((c) => (text += typeof c === 'string' ? c : Buffer.from(c).toString()));
    const exit = await new Promise<number | null>((resolve) => term.onExit((e) => resolve(e.exitCode)));
    await until(() => text.includes('/dev/pts'), 'the output');
    expect(text).toContain('33 101');
    expect(exit).toBe(0);
  });
});

describe('executor settings', () => {
  it('defaults to the host, saves the choice beside other settings, and refuses unknown kinds', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kdlab-exec-settings-'));
    try {
      const workspace = await Workspace.open(root);
      expect(await settings.readExecutorSettings(workspace)).toEqual(settings.defaultExecutorSettings);
      expect(await settings.openExecutor(workspace)).toBe(hostExecutor);
      await writeFile(join(workspace.stateDir, 'settings.json'), JSON.stringify({ theme: 'dark' }));
      await settings.writeExecutorSettings(workspace, { executor: 'docker', dockerHost: 'tcp://lab:2376' });
      expect(await settings.readExecutorSettings(workspace)).toEqual({
        executor: 'docker',
        image: 'kdlab/toolchain:latest',
        dockerHost: 'tcp://lab:2376',
      });
      const raw = JSON.parse(await readFile(join(workspace.stateDir, 'settings.json'), 'utf8')) as object;
      expect(raw).toMatchObject({ theme: 'dark', executor: 'docker' });
      // A flag wins over the setting.
      expect(await settings.openExecutor(workspace, { executor: 'host' })).toBe(hostExecutor);
      expect(settings.parseExecutorKind('docker', '--executor')).toBe('docker');
      expect(() => settings.parseExecutorKind('podman', '--executor')).toThrow(
        /--executor: executor podman: expected host or docker/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('opening the Docker executor: engine errors through the executor path', () => {
  const repoRoot = new URL('../..', import.meta.url).pathname;

  it('DOCKER_HOST naming a socket that does not exist: UNAVAILABLE, the daemon is not running', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kdlab-exec-engine-'));
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(root, 'missing.sock')}`;
    try {
      const workspace = await Workspace.open(join(root, 'ws'));
      const error = await settings.openExecutor(workspace, { executor: 'docker' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LabError);
      expect(error).toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/daemon is not running \(no socket at .*missing\.sock\)/) as string,
        hint: expect.stringMatching(/dockerd/) as string,
      });
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the saved engine is a socket the user may not open (mode 000): FORBIDDEN, permission denied', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kdlab-exec-engine-'));
    await chmod(root, 0o755);
    const socket = join(root, 'docker.sock');
    const server = createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      await chmod(socket, 0o000);
      const workspace = await Workspace.open(join(root, 'ws'));
      await settings.writeExecutorSettings(workspace, { executor: 'docker', dockerHost: `unix://${socket}` });
      // Root opens any socket, so when we are root the attempt is made by nobody (65534), in a child
      // running the same openExecutor through jiti.
      const uid = process.getuid?.() ?? 0;
      const nobody = uid === 0 ? 65534 : undefined;
      if (nobody !== undefined) await chownTree(workspace.root, nobody);
      const script = join(root, 'open.ts');
      await writeFile(
        script,
        [
          `import { openExecutor } from ${JSON.stringify(join(repoRoot, 'electron/lab/exec/executor-settings'))};`,
          `import { Workspace } from ${JSON.stringify(join(repoRoot, 'electron/lab/workspace'))};`,
          'const workspace = await Workspace.open(process.argv[2]!);',
          'await openExecutor(workspace).then(',
          "  () => console.log('{}'),",
          '  (e: { code: string; message: string; hint: string }) =>',
          '    console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })),',
          ');',
        ].join('\n'),
      );
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [join(repoRoot, 'node_modules/.bin/jiti'), script, workspace.root],
          {
            cwd: repoRoot,
            env: { PATH: process.env.PATH, HOME: root },
            ...(nobody !== undefined ? { uid: nobody, gid: nobody } : {}),
          },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
        code: 'FORBIDDEN',
        message: `Docker engine unix://${socket}: permission denied on ${socket}.`,
        hint: expect.stringMatching(/docker group/) as string,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid);
    else await chown(path, uid, uid);
  }
}
