// Test modules built against the lab kernel with make M=, loaded by the guest's init: a NULL
// dereference captured by kdump and read by crash; BUG() on the console; a compile error reported.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KdumpCapture } from '../../electron/lab/kdump/kdump-capture';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { ModuleBuilder } from '../../electron/lab/kernel/module-builder';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import { runCommand } from '../../electron/lab/process';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { crashCommands } from '../helpers/crash';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

let workspace: Workspace;
let kernel: KernelArtifacts;
let jobs: JobManager;

beforeAll(async () => {
  ({ workspace, kernel, jobs } = await labKernel());
}, 1_800_000);

const build = (dir: string) =>
  jobs.withProgress({ title: 'module', kind: 'module-build' }, (progress, signal) =>
    new ModuleBuilder(workspace).build(kernel, dir, progress, signal),
  );

describe('test modules', () => {
  it('builds the NULL-dereferencing module, and kdump captures its oops for crash', async () => {
    const [mod] = await build(join(appRoot, 'lab-images/modules/null-deref'));
    expect(mod!.name).toBe('kdlab_null_deref.ko');
    // Read back by binutils, not by the builder's own parser.
    const modinfo = await runCommand(['readelf', '-p', '.modinfo', mod!.ko]);
    expect(/vermagic=(\S+)/.exec(modinfo.stdout)?.[1]).toBe(kernel.manifest.kernelRelease);
    expect(mod!.vermagic?.split(' ')[0]).toBe(kernel.manifest.kernelRelease);
    expect((await build(join(appRoot, 'lab-images/modules/null-deref')))[0]!.cacheHit).toBe(true);

    const captured = await jobs.withProgress({ title: 'Capture', kind: 'capture' }, (progress, signal) =>
      new KdumpCapture(workspace).capture(
        { kernel, trigger: { kind: 'module', file: 'kdlab_null_deref.ko' }, modules: [mod!.ko] },
        progress,
        signal,
      ),
    );
    const console = await readFile(captured.consoleLog!, 'utf8');
    expect(console).toContain('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    expect(captured.meta.panic).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000010');
    const rip = /RIP: 0010:kdlab_null_deref_init\+0x(\w+)\/0x\w+ \[kdlab_null_deref\]/.exec(console);
    expect(rip, 'the Oops names the module function').not.toBeNull();
    const out = await crashCommands(kernel.vmlinux, captured.vmcore, ['sys', 'bt', 'mod']);
    expect(out).toMatch(/PANIC: "Oops: 0000 \[#1\]/);
    // The fault is in the module's init text, which crash names by its section start (the .ko's
    // symbols are not loaded); the offset matches the oops' RIP.
    const exception =
      /exception RIP: (_MODULE_INIT_START_kdlab_null_deref|kdlab_null_deref_init)\+(\d+)/.exec(out);
    expect(exception, out).not.toBeNull();
    expect(Number(exception![2])).toBe(parseInt(rip![1]!, 16));
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

  it('refuses a folder without Kbuild or Makefile, and a file given as the folder', async () => {
    const dir = join(await makeTempDir(), 'no-kbuild');
    await mkdir(dir);
    await writeFile(join(dir, 'm.c'), '#include <linux/module.h>\nMODULE_LICENSE("GPL");\n');
    await expect(build(dir)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('no Kbuild or Makefile'),
      hint: expect.stringContaining('obj-m'),
    });
    await expect(build(join(dir, 'm.c'))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('is a file'),
    });
  });

  it('builds against a kernel whose build dir was pruned, from its sources prepared again', async () => {
    // `kdlab cache prune` may remove a kernel's O= dir while the kernel stays cached (a vmcore needs it).
    const pruned: KernelArtifacts = {
      ...kernel,
      key: `${kernel.key.slice(0, 24)}0b0b0b0b`,
      manifest: { ...kernel.manifest, buildDir: join(workspace.root, 'build', 'pruned-away') },
    };
    try {
      const [mod] = await jobs.withProgress({ title: 'module', kind: 'module-build' }, (progress, signal) =>
        new ModuleBuilder(workspace).build(
          pruned,
          join(appRoot, 'lab-images/modules/bug-on'),
          progress,
          signal,
        ),
      );
      expect(mod!.name).toBe('kdlab_bug_on.ko');
      expect(mod!.vermagic?.split(' ')[0]).toBe(kernel.manifest.kernelRelease);
    } finally {
      await rm(join(workspace.root, 'build', `modules-${pruned.key.slice(0, 16)}`), {
        recursive: true,
        force: true,
      });
    }
  }, 600_000);

  it("says what to do when that kernel's sources changed since it was built", async () => {
    const gone: KernelArtifacts = {
      ...kernel,
      key: 'f'.repeat(32),
      manifest: { ...kernel.manifest, sourceHash: '0'.repeat(32) },
    };
    await expect(
      jobs.withProgress({ title: 'module', kind: 'module-build' }, (progress, signal) =>
        new ModuleBuilder(workspace).build(
          gone,
          join(appRoot, 'lab-images/modules/bug-on'),
          progress,
          signal,
        ),
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('kdlab kernel build') });
  });

  it('refuses, and never caches, a module whose vermagic is not the kernel release', async () => {
    // The same kernel under another key and a release it does not have: kbuild writes 6.1.x.
    const other: KernelArtifacts = {
      ...kernel,
      key: `${kernel.key.slice(0, 24)}deadbeef`,
      manifest: { ...kernel.manifest, kernelRelease: '9.9.9-other' },
    };
    const attempt = () =>
      jobs.withProgress({ title: 'module', kind: 'module-build' }, (progress, signal) =>
        new ModuleBuilder(workspace).build(
          other,
          join(appRoot, 'lab-images/modules/bug-on'),
          progress,
          signal,
        ),
      );
    try {
      const refused = {
        code: 'IO',
        message: expect.stringMatching(
          /kdlab_bug_on\.ko: it was built for "6\.1\.\d+ .*", not for 9\.9\.9-other/,
        ),
      };
      await expect(attempt()).rejects.toMatchObject(refused);
      await expect(attempt()).rejects.toMatchObject(refused);
    } finally {
      await rm(join(workspace.root, 'build', `modules-${other.key.slice(0, 16)}`), {
        recursive: true,
        force: true,
      });
    }
  }, 600_000);
});
