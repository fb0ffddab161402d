import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobInfo } from '../../electron/common/types';
import { JobManager } from '../../electron/lab/jobs';
import { runCommand } from '../../electron/lab/process';
import { waitFor, withTempDir } from '../helpers/temp';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('JobManager', () => {
  it('records success, progress and a log on disk', async () => {
    await withTempDir(async (dir) => {
      const updates: JobInfo[] = [];
      const logs: string[] = [];
      const jobs = new JobManager({
        logDir: dir,
        onUpdate: (j) => updates.push(j),
        onLog: (_id, t) => logs.push(t),
        updateIntervalMs: 0,
      });
      const value = await jobs.withProgress({ title: 'Build', kind: 'kernel-build' }, async (progress) => {
        progress.report({ fraction: 0.5, message: 'CC init/main.o', etaSeconds: 30 });
        progress.log('line 1\n');
        progress.report({ fraction: 7 });
        return 42;
      });
      expect(value).toBe(42);
      const [job] = jobs.list();
      expect(job).toMatchObject({ title: 'Build', kind: 'kernel-build', state: 'succeeded', error: null });
      expect(job?.progress.fraction).toBe(1);
      expect(updates.map((u) => u.state)).toContain('running');
      expect(updates.some((u) => u.progress.fraction === 0.5 && u.progress.etaSeconds === 30)).toBe(true);
      // Fractions are clamped into 0..1.
      expect(
        updates.every(
          (u) => u.progress.fraction === null || (u.progress.fraction >= 0 && u.progress.fraction <= 1),
        ),
      ).toBe(true);
      expect(logs).toEqual(['line 1\n']);
      await waitFor(() => updates.at(-1)?.state === 'succeeded');
      expect(await readFile(join(dir, `${job?.id}.log`), 'utf8')).toBe('line 1\n');
    });
  });

  it('records a failure with its error data and re-throws', async () => {
    await withTempDir(async (dir) => {
      const jobs = new JobManager({ logDir: dir });
      await expect(
        jobs.withProgress({ title: 'Boot', kind: 'boot' }, () =>
          runCommand(['kdlab-no-such-tool'], { installHint: 'apt-get install -y x' }),
        ),
      ).rejects.toMatchObject({ code: 'TOOL_MISSING' });
      const [job] = jobs.list();
      expect(job?.state).toBe('failed');
      expect(job?.error).toEqual({
        code: 'TOOL_MISSING',
        message: 'kdlab-no-such-tool is not installed (not found on PATH).',
        hint: 'apt-get install -y x',
      });
      const log = await jobs.readLog(job!.id, 0);
      expect(log.text).toContain('TOOL_MISSING');
      expect(log.text).toContain('hint: apt-get install -y x');
    });
  });

  it('cancel kills the whole child process tree', async () => {
    await withTempDir(async (dir) => {
      const jobs = new JobManager({ logDir: dir });
      const pidFile = join(dir, 'grandchild.pid');
      const { job, result } = jobs.start({ title: 'Long', kind: 'test' }, (progress, signal) =>
        runCommand(['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], {
          signal,
          onOutput: (c) => progress.log(c.toString()),
        }),
      );
      let grandchild = 0;
      await waitFor(() => {
        try {
          grandchild = Number(readFileSync(pidFile, 'utf8'));
        } catch {
          return false;
        }
        return grandchild > 0;
      });
      expect(isAlive(grandchild)).toBe(true);
      jobs.cancel(job.id);
      await expect(result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(jobs.get(job.id).state).toBe('cancelled');
      await waitFor(() => !isAlive(grandchild), 5_000);
    });
  });

  it('reads a log in chunks without splitting a UTF-8 character', async () => {
    await withTempDir(async (dir) => {
      const jobs = new JobManager({ logDir: dir });
      const text = '内核崩溃 '.repeat(70_000); // > 256 KiB of 3-byte characters
      const { job, result } = jobs.start({ title: 'Log', kind: 'test' }, async (progress) => {
        progress.log(text);
        return null;
      });
      await result;
      await jobs.settled(job.id);
      await new Promise((r) => setTimeout(r, 50));
      let offset = 0;
      let read = '';
      for (;;) {
        const chunk = await jobs.readLog(job.id, offset);
        if (chunk.text === '') break;
        read += chunk.text;
        offset = chunk.nextOffset;
      }
      expect(read).toBe(text);
    });
  });

  it('reports an unknown job id as NOT_FOUND', async () => {
    await withTempDir(async (dir) => {
      const jobs = new JobManager({ logDir: dir });
      expect(() => jobs.cancel('nope')).toThrow(/No job with id nope/);
    });
  });
});

describe('runCommand', () => {
  it('captures output and the exit code', async () => {
    const r = await runCommand(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  it('times out and kills the tree', async () => {
    const r = await runCommand(['sh', '-c', 'sleep 30'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGTERM');
  });

  it('names a missing tool and how to install it', async () => {
    await expect(
      runCommand(['qemu-system-nonexistent'], { installHint: 'apt-get install -y qemu-system-x86' }),
    ).rejects.toMatchObject({
      code: 'TOOL_MISSING',
      message: 'qemu-system-nonexistent is not installed (not found on PATH).',
      hint: 'apt-get install -y qemu-system-x86',
    });
  });
});
