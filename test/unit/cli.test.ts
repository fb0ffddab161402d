import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findElectron, hasDisplay } from '../../electron/cli/electron-launcher';
import { formatDoctorReport, main } from '../../electron/cli/main';
import { ProgressRenderer, formatEta, progressBar } from '../../electron/cli/progress-renderer';
import { sameText } from '../../electron/common/local-text';
import type { DoctorReport, JobInfo } from '../../electron/common/types';
import { withTempDir } from '../helpers/temp';

const appRoot = fileURLToPath(new URL('../..', import.meta.url));

function capture() {
  let text = '';
  const stream = { write: (s: string) => ((text += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

async function run(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { appRoot, stdout: out.stream, stderr: err.stream, env: {} });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('kdlab CLI', () => {
  it('lists its commands', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['serve', 'start', 'doctor', 'version'])
      expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('exits 2 on an unknown command or option, with usage', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await run(['doctor', '--jsn']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Unknown option '--jsn'[\s\S]*Usage: kdlab doctor/);
  });

  it('has --help for each command', async () => {
    const r = await run(['serve', '--help']);
    expect(r.stdout).toMatch(/--allow-remote/);
  });

  it('rejects an impossible port', async () => {
    const r = await run(['serve', '--port', '99999']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port must be a number from 0 to 65535/);
  });

  it('prints its version', async () => {
    expect((await run(['version'])).stdout).toMatch(/^kdlab \d+\.\d+\.\d+\n$/);
  });
});

describe('doctor report formatting', () => {
  it('shows each check with its fix', () => {
    const report: DoctorReport = {
      host: {
        hostname: 'lab',
        kernel: '6.1.0',
        arch: 'x86_64',
        distro: 'Debian 12',
        cpus: 2,
        memoryBytes: 2 * 1024 ** 3,
        user: 'ann',
        isRoot: false,
      },
      startedAt: '',
      finishedAt: '',
      summary: { ok: 1, warn: 0, missing: 1, error: 0 },
      checks: [
        {
          id: 'gdb',
          title: sameText('gdb'),
          category: 'debugger',
          status: 'ok',
          version: '13.1',
          detail: sameText('/usr/bin/gdb'),
          fix: null,
          durationMs: 3,
        },
        {
          id: 'crash',
          title: sameText('crash'),
          category: 'debugger',
          status: 'missing',
          version: null,
          detail: { en: 'crash not found', 'zh-CN': '找不到 crash' },
          fix: sameText('sudo apt-get install -y crash'),
          durationMs: 1,
        },
      ],
    };
    const text = formatDoctorReport(report);
    expect(text).toMatch(/^ok {6}gdb {3}13\.1 — \/usr\/bin\/gdb$/m);
    expect(text).toMatch(/^MISSING crash crash not found\n {14}fix: sudo apt-get install -y crash$/m);
    expect(text).toMatch(/1 ok, 0 warnings, 1 missing, 0 errors/);
    const zh = formatDoctorReport(report, 'zh-CN');
    expect(zh).toMatch(/^MISSING crash 找不到 crash\n {14}修复: sudo apt-get install -y crash$/m);
  });
});

describe('progress on the command line', () => {
  const job = (over: Partial<JobInfo>): JobInfo => ({
    id: '1',
    kind: 'kernel-build',
    title: 'Build kernel',
    state: 'running',
    createdAt: '',
    endedAt: null,
    error: null,
    logPath: '',
    progress: { fraction: 0.42, message: 'CC kernel/sched/core.o', etaSeconds: 125 },
    ...over,
  });

  it('formats bars and ETAs', () => {
    expect(progressBar(0.5, 10)).toBe('[#####.....]  50%');
    expect(progressBar(null, 4)).toBe('[····]');
    expect(formatEta(125)).toBe('ETA 2m05s');
    expect(formatEta(null)).toBe('');
  });

  it('redraws one line on a TTY', () => {
    let text = '';
    const r = new ProgressRenderer({
      stream: { write: (s: string) => ((text += s), true), isTTY: true, columns: 80 },
    });
    r.update(job({}));
    r.update(job({ progress: { fraction: 0.5, message: 'LD vmlinux', etaSeconds: 10 } }));
    r.update(job({ state: 'succeeded' }));
    expect(text.split('\r\x1b[2K').length).toBeGreaterThan(2);
    expect(text).toMatch(/Build kernel: done\n$/);
  });

  it('prints plain lines, one per 5% step, elsewhere', () => {
    let text = '';
    const r = new ProgressRenderer({ stream: { write: (s: string) => ((text += s), true), isTTY: false } });
    r.update(job({}));
    r.update(job({ progress: { fraction: 0.43, message: 'CC kernel/sched/core.o', etaSeconds: 120 } }));
    r.update(
      job({
        state: 'failed',
        error: { code: 'CANCELLED', message: 'Build kernel was cancelled.', hint: null },
      }),
    );
    expect(text).not.toContain('\r');
    expect(text.trim().split('\n')).toEqual([
      'Build kernel  [##########..............]  42%  CC kernel/sched/core.o  ETA 2m05s',
      'Build kernel: FAILED — Build kernel was cancelled.',
    ]);
  });
});

describe('Electron availability', () => {
  it('reports a missing binary without trying to download it', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'node_modules', 'electron'), { recursive: true });
      await writeFile(join(dir, 'node_modules', 'electron', 'package.json'), '{}');
      const result = findElectron(dir, {});
      expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('npx install-electron') });
    });
  });

  it('finds a downloaded binary through path.txt', async () => {
    await withTempDir(async (dir) => {
      const pkg = join(dir, 'node_modules', 'electron');
      await mkdir(join(pkg, 'dist'), { recursive: true });
      await writeFile(join(pkg, 'package.json'), '{}');
      await writeFile(join(pkg, 'path.txt'), 'electron');
      await writeFile(join(pkg, 'dist', 'electron'), '#!/bin/sh\n');
      await chmod(join(pkg, 'dist', 'electron'), 0o755);
      expect(findElectron(dir, {})).toEqual({ ok: true, binary: join(pkg, 'dist', 'electron') });
    });
  });

  it('needs a display on Linux', () => {
    expect(hasDisplay({})).toBe(process.platform !== 'linux');
    expect(hasDisplay({ DISPLAY: ':0' })).toBe(true);
    expect(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' })).toBe(true);
  });
});
