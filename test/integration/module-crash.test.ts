// Test modules built against the lab kernel with make M=, loaded by the guest's init: a NULL
// dereference captured by kdump and read by crash; BUG() on the console; a compile error reported.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { ModuleBuilder } from '../../electron/lab/kernel/module-builder';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

let workspace: Workspace;
let kernel: KernelArtifacts;
let jobs: JobManager;

beforeAll(async () => {
  ({ workspace, kernel, jobs } = await labKernel());
}, 1_800_000);

function crash(vmlinux: string, vmcore: string, commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('crash', ['-s', vmlinux, vmcore], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out));
    child.stdin.end(`${commands.join('\n')}\nquit\n`);
  });
}

const build = (dir: string) =>
  jobs.withProgress({ title: 'module', kind: 'module-build' }, (progress, signal) =>
    new ModuleBuilder(workspace).build(kernel, dir, progress, signal),
  );

describe('test modules', () => {
  it('builds the NULL-dereferencing module, and kdump captures its oops for crash', async () => {
    const [mod] = await build(join(appRoot, 'lab-images/modules/null-deref'));
    expect(mod!.name).toBe('kdlab_null_deref.ko');
    expect(mod!.vermagic).toMatch(new RegExp(`^${kernel.manifest.kernelRelease.replace(/\./g, '\\.')} `));
    expect((await build(join(appRoot, 'lab-images/modules/null-deref')))[0]!.cacheHit).toBe(true);

    const captured = await jobs.withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
      new KdumpCapture(workspace).capture(
        { kernel, trigger: { kind: 'module', file: 'kdlab_null_deref.ko' }, modules: [mod!.ko] },
        progress,
        signal,
      ),
    );
    const { readFile } = await import('node:fs/promises');
    const console = await readFile(captured.consoleLog!, 'utf8');
    expect(console).toContain('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(captured.meta.panic).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(console).toMatch(
      /RIP: 0010:kdlab_(read_flags|null_deref_init)\+0x\w+\/0x\w+ \[kdlab_null_deref\]/,
    );
    const out = await crash(kernel.vmlinux, captured.vmcore, ['sys', 'bt', 'mod']);
    expect(out).toMatch(/PANIC: "Oops: 0000 \[#1\]/);
    // The fault is in the module's init text, which crash names by its section start (the .ko's
    // symbols are not loaded); the offset matches the oops' RIP.
    expect(out).toMatch(/exception RIP: (_MODULE_INIT_START_kdlab_null_deref|kdlab_null_deref_init)\+\d+/);
    expect(out).toMatch(/do_init_module/);
    expect(out).toMatch(/kdlab_null_deref\s/);
  }, 600_000);

  it('shows BUG() with its file and line when the module is loaded', async () => {
    const [mod] = await build(join(appRoot, 'lab-images/modules/bug-on'));
    const image = await new ImageBuilder(workspace).buildInitramfs(
      {
        init: {
          kind: 'script',
          text: '#!/bin/sh\n/bin/busybox mount -t proc proc /proc\n/bin/busybox insmod /lib/modules/kdlab_bug_on.ko\n',
        },
        modules: [mod!.ko],
      },
      kernel.genInitCpio,
    );
    const vm = await new VmRunner(workspace).boot({ kernel: kernel.bzImage, initrd: image.path });
    const panic = await vm.waitFor((m) => m.kind === 'panic', 120_000);
    await vm.exited;
    expect(vm.consoleText).toMatch(/kernel BUG at .*kdlab_bug_on\.c:12!/);
    expect(panic.detail).toBe('Fatal exception');
  }, 180_000);

  it('reports a compile error with the compiler line, naming the user file', async () => {
    const dir = join(await makeTempDir(), 'broken');
    await mkdir(dir);
    await writeFile(join(dir, 'Kbuild'), 'obj-m := broken.o\n');
    await writeFile(
      join(dir, 'broken.c'),
      '#include <linux/module.h>\nstatic int __init b(void) { return undefined_thing; }\nmodule_init(b);\nMODULE_LICENSE("GPL");\n',
    );
    await expect(build(dir)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        new RegExp(`${dir}/broken\\.c:2:\\d+: error: .undefined_thing. undeclared`),
      ),
    });
    await expect(build(join(dir, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 300_000);
});
