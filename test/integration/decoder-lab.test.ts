// The decoder on crashes this lab produces for real: the lab kernel booted under QEMU with an /init
// that exits 127, segfaults as PID 1, is missing, or loads small test modules that WARN, BUG() and
// dereference NULL; then symbolization of those oopses against the lab's own vmlinux and .ko files.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLog, decodeText } from '../../electron/lab/analyze/decoder';
import type { DecodedReport } from '../../electron/lab/analyze/decoder';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import type { InitramfsSpec } from '../../electron/lab/image/initramfs';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { runCommand } from '../../electron/lab/process';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';

let workspace: Workspace;
let kernel: KernelArtifacts;
let images: ImageBuilder;
let vms: VmRunner;
let scratch: string;
const outDir = join(appRoot, 'test-output', 'decoder-lab');

beforeAll(async () => {
  ({ workspace, kernel } = await labKernel());
  images = new ImageBuilder(workspace);
  vms = new VmRunner(workspace);
  scratch = await mkdtemp(join(tmpdir(), 'kdlab-decoder-lab-'));
  await mkdir(outDir, { recursive: true });
}, 1_800_000);

/** Boots the lab kernel with the given image until QEMU leaves (panic=-1) or a marker shows. */
async function crashConsole(name: string, spec: InitramfsSpec): Promise<string> {
  const image = await images.buildInitramfs(spec, kernel.genInitCpio);
  const vm = await vms.boot({ kernel: kernel.bzImage, initrd: image.path });
  try {
    await vm.waitFor((m) => m.kind === 'panic', 120_000);
    await vm.exited; // panic=-1: QEMU leaves by itself
  } finally {
    // Kept for reading (and for refreshing test/fixtures/lab-logs by hand).
    await writeFile(join(outDir, `${name}.log`), vm.consoleText);
  }
  return vm.consoleText;
}

describe('decoding the lab kernel’s own crashes', () => {
  it('init exiting with 127', async () => {
    const reports = decodeText(await crashConsole('init-exit-127', { init: { kind: 'exit', code: 127 } }));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      kind: 'init-exit',
      panic: true,
      exitCode: '0x00007f00',
      exitStatus: { exited: 127 },
      comm: 'init',
      pid: 1,
      kernelRelease: kernel.manifest.kernelRelease,
    });
    expect(reports[0]!.explanation.likelyCauses.map((c) => c.en).join('\n')).toContain('command not found');
  }, 180_000);

  it('no /init in the initramfs: VFS cannot mount root', async () => {
    const reports = decodeText(
      await crashConsole('missing-init', { init: { kind: 'shell' }, omitInit: true, allowBroken: true }),
    );
    expect(reports[0]).toMatchObject({
      kind: 'vfs-no-root',
      panic: true,
      panicMessage: 'VFS: Unable to mount root fs on unknown-block(0,0)',
      pid: 1,
    });
    expect(reports[0]!.explanation.nextSteps.map((c) => c.en).join('\n')).toContain('/init');
  }, 180_000);

  it('PID 1 dying of SIGSEGV: the segfault line, the panic, and the user Code: disassembled', async () => {
    const src = join(scratch, 'segv.c');
    // padding first, so the 42 bytes the kernel prints before ip are mapped
    await writeFile(
      src,
      '__attribute__((used)) static void pad(void) { __asm__ volatile(".fill 64, 1, 0x90"); }\nvoid _start(void) { *(volatile int *)0x74 = 1; for (;;) ; }\n',
    );
    const bin = join(scratch, 'segv');
    const cc = await runCommand([
      'gcc',
      '-static',
      '-nostdlib',
      '-O0',
      '-no-pie',
      '-fno-pie',
      '-o',
      bin,
      src,
    ]);
    expect(cc.stderr).toBe('');
    const log = await crashConsole('init-sigsegv', {
      init: { kind: 'script', text: '#!/bin/sh\nexec /segv\n' },
      files: [{ source: bin, path: '/segv', mode: 0o755 }],
    });
    const reports = await decodeLog(log, { vmlinux: kernel.vmlinux });
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r).toMatchObject({
      kind: 'user-segfault',
      comm: 'segv',
      pid: 1,
      faultingAddress: '0x74',
      panic: true,
      exitStatus: { signal: 11, signalName: 'SIGSEGV', coreDumped: false },
    });
    expect(r.userSegfault).toMatchObject({ object: 'segv', error: '6' });
    expect(r.userSegfault!.errorDecoded).toBe('user-mode write of a page that is not present');
    const trap = r.code?.disassembly?.find((l) => l.trapping);
    expect(trap?.instruction).toMatch(/^movl \$0x1,/);
    expect(BigInt(trap!.address)).toBe(BigInt(r.userSegfault!.ip));
  }, 180_000);

  describe('modules that WARN, BUG() and dereference NULL', () => {
    let warnThenNull: string;
    let bugLog: string;
    let moduleDir: string;

    beforeAll(async () => {
      moduleDir = join(scratch, 'modules');
      await mkdir(moduleDir, { recursive: true });
      const sources: Record<string, string> = {
        'kdlab_warn.c': `#include <linux/module.h>
static int __init kdlab_warn_init(void)
{
	WARN_ON(1);
	return -EAGAIN;
}
module_init(kdlab_warn_init);
MODULE_LICENSE("GPL");
`,
        // 64 bytes of padding before the fault, so the 42 bytes the kernel prints before RIP are
        // readable; .text rather than .init.text, which the kernel cannot dump.
        'kdlab_bug.c': `#include <linux/module.h>
static noinline void kdlab_do_bug(void)
{
	asm volatile(".fill 64, 1, 0x90");
	BUG();
}
static int __init kdlab_bug_init(void)
{
	kdlab_do_bug();
	return 0;
}
module_init(kdlab_bug_init);
MODULE_LICENSE("GPL");
`,
        'kdlab_null.c': `#include <linux/module.h>
struct kdlab_thing { long pad[14]; int flags; };
static noinline __attribute__((noipa)) int kdlab_read_flags(struct kdlab_thing *t)
{
	asm volatile(".fill 64, 1, 0x90");
	return t->flags;
}
static int __init kdlab_null_init(void)
{
	struct kdlab_thing *volatile t = NULL;
	return kdlab_read_flags(t) ? -EINVAL : -EAGAIN;
}
module_init(kdlab_null_init);
MODULE_LICENSE("GPL");
`,
        Makefile: 'obj-m := kdlab_warn.o kdlab_bug.o kdlab_null.o\n',
      };
      for (const [name, text] of Object.entries(sources)) await writeFile(join(moduleDir, name), text);
      // A private out-of-tree build dir configured exactly like the lab kernel (the shared build
      // tree is reconfigured by other tests), reused between runs.
      const tree = await realpath(
        join(
          workspace.root,
          'build',
          `kernel-${kernel.manifest.sourceHash.slice(0, 12)}-tinyconfig`,
          'source',
        ),
      );
      const build = join(
        workspace.root,
        'build',
        `decoder-test-modules-${kernel.manifest.configHash.slice(0, 12)}`,
      );
      if (!existsSync(join(build, 'scripts', 'mod', 'modpost'))) {
        await mkdir(build, { recursive: true });
        await copyFile(kernel.config, join(build, '.config'));
        const prepare = await runCommand(
          ['make', '-C', tree, `O=${build}`, 'olddefconfig', 'modules_prepare'],
          {
            timeoutMs: 600_000,
          },
        );
        expect(prepare.exitCode, prepare.stderr).toBe(0);
      }
      await copyFile(join(kernel.dir, 'Module.symvers'), join(build, 'Module.symvers'));
      const make = await runCommand(['make', '-C', build, `M=${moduleDir}`, 'modules'], {
        timeoutMs: 300_000,
      });
      expect(make.exitCode, make.stderr).toBe(0);
      // The lab kernel has panic_on_oops=1: one oops per boot.
      const insmod = (mods: string[]) => ({
        init: {
          kind: 'script' as const,
          text: `#!/bin/sh\n/bin/busybox --install -s /bin\n${mods.map((m) => `insmod /lib/modules/${m}.ko\n`).join('')}`,
        },
        modules: mods.map((m) => join(moduleDir, `${m}.ko`)),
      });
      warnThenNull = await crashConsole('module-warn-then-null-deref', insmod(['kdlab_warn', 'kdlab_null']));
      bugLog = await crashConsole('module-bug', insmod(['kdlab_bug']));
    }, 600_000);

    it('finds the reports with their sites in the modules, and the panic the oops caused', () => {
      const reports = decodeText(warnThenNull);
      // busybox insmod retries init_module after finit_module fails: the WARN fires twice
      expect(reports.map((r) => [r.kind, r.function, r.module, r.panicMessage])).toEqual([
        ['warning', 'kdlab_warn_init', 'kdlab_warn', null],
        ['warning', 'kdlab_warn_init', 'kdlab_warn', null],
        ['null-deref', 'kdlab_read_flags', 'kdlab_null', 'Fatal exception'],
      ]);
      const [warn, , nul] = reports as [DecodedReport, DecodedReport, DecodedReport];
      expect(warn.title).toMatch(/kdlab_warn\.c:4 kdlab_warn_init\+0x/);
      expect(warn).toMatchObject({
        comm: 'insmod',
        tainted: 'G O',
        kernelRelease: kernel.manifest.kernelRelease,
      });
      expect(nul).toMatchObject({
        faultingAddress: '0x0000000000000070',
        comm: 'insmod',
        panic: true,
        tainted: 'G W O',
      });
      expect(nul.explanation.summary.en).toContain('field offset of 0x70');
      expect(nul.explanation.likelyCauses.map((c) => c.en).join('\n')).toContain('module kdlab_null');
      const [bug] = decodeText(bugLog);
      expect(bug).toMatchObject({ kind: 'bug', function: 'kdlab_do_bug', module: 'kdlab_bug', panic: true });
      expect(bug!.title).toMatch(/^kernel BUG at .*kdlab_bug\.c:5!$/);
      expect(bug!.oops).toMatch(/invalid opcode/);
    });

    it('symbolizes against the lab vmlinux and the .ko files: file:line with inlines, Code: disassembled', async () => {
      const [, , nul] = await decodeLog(warnThenNull, { vmlinux: kernel.vmlinux, modulesDir: moduleDir });
      expect(nul!.source?.at(-1)).toMatchObject({ function: 'kdlab_read_flags', line: 6 });
      expect(nul!.source?.at(-1)?.file).toMatch(/kdlab_null\.c$/);
      const initcall = nul!.callTrace.find((f) => f.function === 'do_one_initcall');
      expect(initcall?.source?.at(-1)?.file).toMatch(/init\/main\.c$/);
      expect(initcall?.source?.at(-1)?.line).toBeGreaterThan(0);
      const trap = nul!.code?.disassembly?.filter((l) => l.trapping) ?? [];
      expect(trap).toHaveLength(1);
      expect(trap[0]!.instruction).toMatch(/^mov 0x70\(%r\w+\),%e\w+$/);
      const [bug] = await decodeLog(bugLog, { vmlinux: kernel.vmlinux, modulesDir: moduleDir });
      expect(bug!.code?.disassembly?.find((l) => l.trapping)?.instruction).toBe('ud2');
      expect(bug!.source?.at(-1)).toMatchObject({ function: 'kdlab_do_bug', line: 5 });
    }, 120_000);
  });
});
