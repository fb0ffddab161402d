// The Docker executor against the real daemon: run, exit codes, output, stdin, cancel, a missing
// tool, files owned by the invoking (or a given) uid, exec terminals with a TTY and resize, the
// remote path (putArchive/getArchive into a named volume), ports on 127.0.0.1, leftovers cleaned,
// a container killed from outside reported as such —
// and after every test no container of the test's workspace remains. No Docker → the tests fail.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DockerEngine } from '../../electron/lab/docker/engine';
import { kdlabLabel, openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor, cleanupLeftovers } from '../../electron/lab/exec/docker-executor';
import type { TerminalSource } from '../../electron/lab/terminals/terminal-source';
import { ensureBusyboxImage } from '../helpers/docker-test-image';

let engine: DockerEngine;
let workspace: string;
let executor: DockerExecutor;

async function containersOfWorkspace(): Promise<string[]> {
  const list = await engine.docker.listContainers({
    all: true,
    filters: { label: [`${kdlabLabel}=true`, `io.kdlab.workspace=${workspace}`] },
  });
  return list.map((c) => `${c.Names.join(',')} ${c.State}`);
}

/** AutoRemove happens just after the exit is reported: give the daemon a moment. */
async function expectNoContainers(): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if ((await containersOfWorkspace()).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await containersOfWorkspace()).toEqual([]);
}

function collect(source: TerminalSource): { text: () => string } {
  let text = '';
  source.onData((chunk) => (text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()));
  return { text: () => text };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  // Docker missing must fail here with the engine's own explanation, not skip.
  engine = await openDockerEngine();
  await ensureBusyboxImage();
  workspace = await mkdtemp(join(tmpdir(), 'kdlab-docker-exec-'));
  executor = await DockerExecutor.create({ engine, image: 'kdlab-test/busybox:1', workspace, job: 'test' });
});

afterEach(async () => {
  await expectNoContainers();
});

afterAll(async () => {
  await executor?.dispose();
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

describe('DockerExecutor.run', () => {
  it('reports exit codes and both output streams, and says where it ran', async () => {
    const r = await executor.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect((await executor.run(['true'])).exitCode).toBe(0);
    expect(executor.describe()).toMatch(/^docker kdlab-test\/busybox:1 \([0-9a-f]{12}\) on unix:\/\//);
    expect(executor.cacheIdentity).toMatch(/^docker:sha256:[0-9a-f]{64}$/);
  });

  it('passes stdin, streams output as it comes, and sets HOME inside the workspace', async () => {
    const chunks: string[] = [];
    const r = await executor.run(['sh', '-c', 'cat; echo "home=$HOME"; echo "path=$PATH"'], {
      input: 'from stdin\n',
      onOutput: (chunk) => chunks.push(chunk.toString()),
    });
    expect(r.stdout).toBe(`from stdin\nhome=${executor.home}\npath=/bin\n`);
    expect(chunks.join('')).toBe(r.stdout);
  });

  it('runs as the invoking user, so files written into the workspace are theirs', async () => {
    const file = join(workspace, 'mine.txt');
    const r = await executor.run(['sh', '-c', `id -u; id -g; echo hi > ${file}`], { cwd: workspace });
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([String(process.getuid!()), String(process.getgid!())]);
    const info = await stat(file);
    expect([info.uid, info.gid]).toEqual([process.getuid!(), process.getgid!()]);
  });

  it('runs as another uid:gid when told to (the mapping is not just "root stays root")', async () => {
    const other = await DockerExecutor.create({
      engine,
      image: 'kdlab-test/busybox:1',
      workspace,
      user: { uid: 4321, gid: 4322 },
    });
    const dir = join(workspace, 'shared');
    await mkdir(dir);
    await chmod(workspace, 0o711);
    await chmod(dir, 0o777);
    const r = await other.run(['sh', '-c', `touch ${dir}/theirs && id -u`]);
    expect(r).toMatchObject({ exitCode: 0, stdout: '4321\n' });
    const info = await stat(join(dir, 'theirs'));
    expect([info.uid, info.gid]).toEqual([4321, 4322]);
  });

  it('cancels a running step: the container is killed and removed, the call rejects with CANCELLED', async () => {
    const controller = new AbortController();
    const running = executor.run(['sleep', '300'], { signal: controller.signal });
    await until(() => false, 'nothing', 1_000).catch(() => undefined);
    expect((await containersOfWorkspace()).length).toBe(1);
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('a container killed from outside (docker kill, docker rm -f) rejects with IO naming what happened', async () => {
    for (const how of [
      (id: string) => engine.docker.getContainer(id).kill(),
      (id: string) => engine.docker.getContainer(id).remove({ force: true }),
    ]) {
      const running = executor.run(['sleep', '300']).then(
        () => null,
        (error: unknown) => error,
      );
      let id = '';
      for (let i = 0; i < 300 && !id; i += 1) {
        const list = await engine.docker.listContainers({
          filters: { label: [`${kdlabLabel}=true`, `io.kdlab.workspace=${workspace}`] },
        });
        id = list[0]?.Id ?? '';
        if (!id) await new Promise((r) => setTimeout(r, 50));
      }
      await how(id);
      expect(await running).toMatchObject({
        code: 'IO',
        message: expect.stringMatching(
          new RegExp(
            `^sleep did not finish: its container ${id.slice(0, 12)} (was killed \\(SIGKILL, exit 137\\)|disappeared)`,
          ),
        ) as string,
        hint: expect.stringContaining('run it again') as string,
      });
    }
  });

  it('times out like runCommand: killed, timedOut set', async () => {
    const r = await executor.run(['sleep', '300'], { timeoutMs: 1_500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).not.toBe(0);
  });

  it('names a tool the image lacks as TOOL_MISSING', async () => {
    await expect(executor.run(['make', '--version'])).rejects.toMatchObject({
      code: 'TOOL_MISSING',
      message: expect.stringContaining('make is not in the lab image kdlab-test/busybox:1') as string,
    });
  });

  it('mounts declared inputs outside the workspace read-only at the same path', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'kdlab-docker-input-'));
    try {
      await writeFile(join(outside, 'in.txt'), 'input\n');
      const r = await executor.run(['sh', '-c', `cat ${outside}/in.txt; touch ${outside}/x 2>&1 || true`], {
        inputs: [outside],
      });
      expect(r.stdout).toMatch(/^input\n.*Read-only file system/s);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('refuses a missing image with what to do', async () => {
    await expect(
      DockerExecutor.create({ engine, image: 'kdlab-test/no-such-image:0', workspace }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: expect.stringContaining('kdlab images build') as string,
    });
  });
});

describe('DockerExecutor.spawn', () => {
  it('runs a long-lived process with stdin and streams; kill stops the container', async () => {
    const proc = await executor.spawn(['sh', '-c', 'while read line; do echo "got $line"; done'], {
      stdin: true,
    });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stdin!.write('one\n');
    await until(() => out.includes('got one'), 'the echo');
    proc.kill();
    const exit = await proc.wait();
    expect(exit.signal).toBe('SIGTERM');
  });

  it('publishes a port on 127.0.0.1 only', async () => {
    const port = 24_000 + Math.floor(Math.random() * 1000);
    const proc = await executor.spawn(
      ['nc', '-l', '-p', String(port), '-e', 'echo', 'hello-from-container'],
      {
        ports: [port],
      },
    );
    try {
      const [binding] = (
        await engine.docker.listContainers({
          filters: { label: [`io.kdlab.workspace=${workspace}`] },
        })
      )[0]!.Ports;
      expect(binding).toMatchObject({ IP: '127.0.0.1', PrivatePort: port, PublicPort: port });
      let got = '';
      for (let i = 0; i < 50 && !got.includes('hello'); i += 1) {
        got = await new Promise<string>((resolve) => {
          let text = '';
          const socket = createConnection({ host: '127.0.0.1', port });
          socket.on('data', (c) => (text += c.toString()));
          socket.on('close', () => resolve(text));
          socket.on('error', () => resolve(''));
        });
        if (!got) await new Promise((r) => setTimeout(r, 100));
      }
      expect(got).toContain('hello-from-container');
    } finally {
      proc.kill();
      await proc.wait();
    }
  });
});

describe("reaching another step's port (gdb → the QEMU stub)", () => {
  it("a container asking for a published port gets the publisher's 127.0.0.1", async () => {
    const port = 25_000 + Math.floor(Math.random() * 1000);
    const listener = await executor.spawn(['nc', '-l', '-p', String(port), '-e', 'echo', 'stub-here'], {
      ports: [port],
    });
    try {
      let out = '';
      for (let i = 0; i < 20 && !out.includes('stub-here'); i += 1) {
        out = (await executor.run(['nc', '-w', '3', '127.0.0.1', String(port)], { reachPort: port })).stdout;
        if (!out) await new Promise((r) => setTimeout(r, 200));
      }
      expect(out).toContain('stub-here');
    } finally {
      listener.kill();
      await listener.wait();
    }
  });
});

describe('exec terminals', () => {
  it('gives a TTY; resize reaches it (stty size); killing it removes its container', async () => {
    const term = await executor.openTerminal(['sh'], { cols: 80, rows: 24 });
    const out = collect(term);
    let exited = false;
    term.onExit(() => (exited = true));
    term.write('tty; stty size\r');
    await until(() => /24 80/.test(out.text()), 'stty size 24 80');
    expect(out.text()).toMatch(/\/dev\/pts\/\d+/);
    term.resize(132, 43);
    await new Promise((r) => setTimeout(r, 300));
    term.write('stty size\r');
    await until(() => /43 132/.test(out.text()), 'stty size 43 132');
    term.kill();
    await until(() => exited, 'the terminal to exit');
  });

  it('an exec beside a running process sees its files (the serial-console pattern)', async () => {
    const proc = await executor.spawn(['sh', '-c', 'echo marker > /tmp/state; sleep 300']);
    try {
      await until(() => false, 'nothing', 500).catch(() => undefined);
      const term = await proc.openTerminal(['cat', '/tmp/state'], { cols: 80, rows: 24 });
      const out = collect(term);
      const code = await new Promise<number | null>((resolve) => term.onExit((e) => resolve(e.exitCode)));
      expect(out.text()).toContain('marker');
      expect(code).toBe(0);
    } finally {
      proc.kill();
      await proc.wait();
    }
  });

  it('pausing the stream holds the output back (backpressure), resume lets it through', async () => {
    const term = await executor.openTerminal(['sh'], { cols: 80, rows: 24 });
    const out = collect(term);
    term.write('echo ready\r');
    await until(() => out.text().includes('ready\r\n'), 'the shell');
    term.pause();
    const before = out.text().length;
    term.write('yes | head -c 2000000\r');
    await new Promise((r) => setTimeout(r, 700));
    expect(out.text().length - before).toBeLessThan(200_000);
    term.resume();
    await until(() => out.text().length - before > 1_900_000, 'the rest of the output', 30_000);
    term.kill();
  });
});

describe('remote engine path (putArchive/getArchive, workspace in a named volume)', () => {
  it('copies declared inputs in and outputs back; nothing else crosses', async () => {
    const volume = `kdlab-test-vol-${process.pid}`;
    const remote = await DockerExecutor.create({
      engine,
      image: 'kdlab-test/busybox:1',
      workspace,
      forceRemote: true,
      volume,
    });
    try {
      expect(remote.describe()).toContain('remote');
      const dir = join(workspace, 'remote-step');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'input.txt'), 'round trip\n');
      await writeFile(join(dir, 'undeclared.txt'), 'stays home\n');
      const out = join(dir, 'out');
      const r = await remote.run(
        [
          'sh',
          '-c',
          `mkdir -p ${out} && tr a-z A-Z < ${dir}/input.txt > ${out}/upper.txt && ls ${dir} && test ! -e ${dir}/undeclared.txt`,
        ],
        { inputs: [join(dir, 'input.txt')], outputs: [out] },
      );
      expect(r.exitCode).toBe(0);
      expect(await readFile(join(out, 'upper.txt'), 'utf8')).toBe('ROUND TRIP\n');
      const info = await stat(join(out, 'upper.txt'));
      expect(info.uid).toBe(process.getuid!());
      // The volume keeps the workspace between steps, as a remote engine's copy of it.
      const again = await remote.run(['cat', join(out, 'upper.txt')]);
      expect(again.stdout).toBe('ROUND TRIP\n');
    } finally {
      await remote.dispose();
      await expectNoContainers();
      await engine.docker
        .getVolume(volume)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });
});

describe('cleanupLeftovers', () => {
  it('removes containers of dead kdlab processes in this workspace and keeps live ones', async () => {
    const common = {
      Image: 'kdlab-test/busybox:1',
      Cmd: ['sleep', '300'],
      HostConfig: { AutoRemove: false },
    };
    const dead = await engine.docker.createContainer({
      ...common,
      Labels: {
        [kdlabLabel]: 'true',
        'io.kdlab.workspace': workspace,
        'io.kdlab.owner': `${(await import('node:os')).hostname()}:999999`,
      },
    });
    const live = await engine.docker.createContainer({
      ...common,
      Labels: {
        [kdlabLabel]: 'true',
        'io.kdlab.workspace': workspace,
        'io.kdlab.owner': `${(await import('node:os')).hostname()}:${process.pid}`,
      },
    });
    await dead.start();
    try {
      const removed = await cleanupLeftovers(engine, workspace);
      expect(removed).toEqual([dead.id]);
      expect((await containersOfWorkspace()).length).toBe(1);
    } finally {
      await live.remove({ force: true });
      await dead.remove({ force: true }).catch(() => undefined);
    }
  });
});
