// The pipeline commands of the built `kdlab`, as a user runs them, on the real lab kernel.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { VmcoreEntry } from '../../electron/lab/kdump/vmcore-library';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

const execFileAsync = promisify(execFile);
let kernelKey: string;

beforeAll(async () => {
  ensureBuilt();
  kernelKey = (await labKernel()).kernel.key;
}, 1_800_000);

async function kdlab(
  args: string[],
  timeout = 240_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot };
  delete env.DISPLAY;
  return execFileAsync('node', ['electron/cli/bin.cjs', ...args], {
    cwd: appRoot,
    env,
    timeout,
    maxBuffer: 64 << 20,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe('kdlab pipeline commands', () => {
  it('kernel list shows the lab kernel', async () => {
    const r = await kdlab(['kernel', 'list', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { key: string }[]).map((k) => k.key)).toContain(kernelKey);
  });

  it('boot --until waits for a console pattern and prints the boot timeline', async () => {
    const r = await kdlab([
      'boot',
      '--kernel',
      kernelKey.slice(0, 10),
      '--until',
      'KDLAB-INIT-READY',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      ok: boolean;
      milestones: { kind: string }[];
      accel: { accel: string };
    };
    expect(result.ok).toBe(true);
    expect(result.milestones.map((m) => m.kind)).toEqual(
      expect.arrayContaining(['kernel', 'init', 'marker']),
    );
  }, 120_000);

  it('boot --until fails with the panic when init exits with 127 first', async () => {
    const r = await kdlab(['boot', '--init', 'exit:127', '--until', 'never-printed', '--timeout', '60']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('the guest panicked first');
    expect(r.stdout).toContain('Attempted to kill init! exitcode=0x00007f00');
  }, 120_000);

  it('gdb --batch attaches to a paused guest, stops in start_kernel and runs lx-dmesg', async () => {
    const { kernel, workspace } = await labKernel();
    const image = await import('../../electron/lab/image/initramfs').then((m) =>
      new m.ImageBuilder(workspace).buildInitramfs({ init: { kind: 'shell' } }, kernel.genInitCpio),
    );
    const vm = await new VmRunner(workspace).boot({
      kernel: kernel.bzImage,
      initrd: image.path,
      gdb: { port: 'next-free' },
      paused: true,
    });
    try {
      const r = await kdlab([
        'gdb',
        '--kernel',
        kernel.key,
        '--port',
        String(vm.gdbPort),
        '--batch',
        'hbreak start_kernel',
        '--batch',
        'continue',
        '--batch',
        'info symbol $pc',
        '--batch',
        'delete',
        '--batch',
        'hbreak kernel_init',
        '--batch',
        'continue',
        '--batch',
        'lx-dmesg',
        '--batch',
        'lx-ps',
        '--json',
      ]);
      const result = JSON.parse(r.stdout) as { output: string; argv: string[] };
      expect(result.argv).toContain('target remote 127.0.0.1:' + String(vm.gdbPort));
      r.stdout = result.output;
      expect(r.stdout).toMatch(/start_kernel \(\) at .*init\/main\.c/);
      expect(r.stdout).toMatch(/Linux version 6\.1\.\d+/);
      expect(r.stdout).toMatch(/swapper/);
    } finally {
      vm.stop();
      await vm.exited;
    }
  }, 240_000);

  it('run captures a vmcore from a pipeline file and vmcores lists it', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'trigger: sysrq\ncapture:\n  dumpLevel: 31\n');
    const r = await kdlab(['run', file, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { vmcore: VmcoreEntry; kernel: { key: string } };
    expect(result.kernel.key).toBe(kernelKey);
    expect(result.vmcore.meta.panic).toBe('sysrq triggered crash');
    const listed = await kdlab(['vmcores', 'show', result.vmcore.meta.id, '--json']);
    expect((JSON.parse(listed.stdout) as VmcoreEntry).vmcore).toBe(result.vmcore.vmcore);
    const removed = await kdlab(['vmcores', 'rm', result.vmcore.meta.id]);
    expect(removed.code).toBe(0);
    expect((await kdlab(['vmcores', 'show', result.vmcore.meta.id])).stderr).toMatch(
      /No vmcore .* in the library/,
    );
  }, 300_000);

  it('run refuses a bad pipeline file with file:line:column, before building anything', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'kernel:\n  base: tinyconfig\n  fragments: [kgdb]\ntrigger:\n  module: not-a-module\nvm:\n  memoryMiB: 12\n',
    );
    const r = await kdlab(['run', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:5:11: trigger.module: a module file name such as null-deref.ko`);
    expect(r.stderr).toMatch(new RegExp(`${file}:7:14: vm.memoryMiB`));
  });
});
