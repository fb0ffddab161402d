// The built `kdlab` command as a user runs it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../electron/common/types';
import { appRoot, ensureBuilt } from '../helpers/build';
import { startServed } from '../helpers/serve';
import { makeTempDir } from '../helpers/temp';

const run = promisify(execFile);
let home: string;

beforeAll(async () => {
  ensureBuilt();
  home = join(await makeTempDir(), 'ws');
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: home, ...extra };
  delete e.DISPLAY;
  delete e.WAYLAND_DISPLAY;
  return e;
}

describe('kdlab CLI', () => {
  it("images list describes the lab images in the user's language (LANG)", async () => {
    const list = (lang: string) =>
      run('node', ['electron/cli/bin.cjs', 'images', 'list'], {
        cwd: appRoot,
        env: env({ LANG: lang, LC_ALL: '' }),
      });
    expect((await list('C.UTF-8')).stdout).toMatch(/toolchain\s+Kernel build toolchain, QEMU/);
    expect((await list('zh_CN.UTF-8')).stdout).toMatch(/toolchain\s+内核编译工具链、QEMU/);
  });

  it('doctor --json prints a report of this host', async () => {
    const { stdout } = await run('node', ['electron/cli/bin.cjs', 'doctor', '--json', '--no-kvm-probe'], {
      cwd: appRoot,
      env: env(),
    }).catch((e: { stdout: string }) => e);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.checks.find((c) => c.id === 'qemu')?.status).toBe('ok');
    expect(report.host.cpus).toBeGreaterThan(0);
  });

  it('serve binds loopback, prints a tokened URL and stops cleanly on SIGTERM', async () => {
    const app = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env());
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
    const denied = await fetch(`${app.origin}/`);
    expect(denied.status).toBe(401);
    const allowed = await fetch(app.url, { redirect: 'manual' });
    expect(allowed.status).toBe(303);
    expect(await app.stop()).toBe(0);
  });

  it('serve says clearly when the port is taken', async () => {
    const first = await startServed(['node', 'electron/cli/bin.cjs', 'serve'], env());
    const port = new URL(first.url).port;
    const second = await run('node', ['electron/cli/bin.cjs', 'serve', '--port', port], {
      cwd: appRoot,
      env: env(),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(second).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`),
    });
    await first.stop();
  });

  it('serve warns when exposed beyond loopback on request', async () => {
    const app = await startServed(
      ['node', 'electron/cli/bin.cjs', 'serve', '--host', '0.0.0.0', '--allow-remote'],
      env(),
    );
    expect(app.output()).toMatch(/WARNING: listening on 0\.0\.0\.0/);
    await app.stop();
    const refused = await run('node', ['electron/cli/bin.cjs', 'serve', '--host', '0.0.0.0'], {
      cwd: appRoot,
      env: env(),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('--allow-remote') });
  });

  it('npm start falls back to the web mode in one line when Electron cannot run, without hanging', async () => {
    const app = await startServed(['npm', 'start', '--silent'], env({ CI: 'true' }), 120_000);
    const lines = app.output().split('\n');
    const reason = lines.find((l) => l.startsWith('kdlab: Electron cannot start here'));
    expect(reason).toMatch(/starting the web mode instead\.$/);
    expect(app.output()).toContain('kdlab web mode: http://127.0.0.1:');
    const login = await fetch(app.url, { redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await fetch(`${app.origin}/`, { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"');
    await app.stop();
  });
});
