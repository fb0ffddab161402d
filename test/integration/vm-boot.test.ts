// Real QEMU (TCG here) booting the lab kernel with kdlab's initramfs images.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { labKernel } from '../helpers/lab-kernel';

const run = promisify(execFile);
let workspace: Workspace;
let kernel: KernelArtifacts;
let images: ImageBuilder;
let vms: VmRunner;

beforeAll(async () => {
  ({ workspace, kernel } = await labKernel());
  images = new ImageBuilder(workspace);
  vms = new VmRunner(workspace);
}, 1_800_000);

describe('booting the lab kernel', () => {
  it('reaches the init marker, answers a command typed on the serial console, powers off over QMP', async () => {
    const image = await images.buildInitramfs({ init: { kind: 'shell' } }, kernel.genInitCpio);
    const vm = await vms.boot({
      kernel: kernel.bzImage,
      initrd: image.path,
      markers: [{ name: 'ready', pattern: 'KDLAB-INIT-READY' }],
    });
    expect(vm.accel.reason.en.length).toBeGreaterThan(0);
    expect(vm.accel.reason['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    await vm.waitFor((m) => m.kind === 'marker' && m.detail === 'ready', 60_000);
    const kinds = vm.milestones.map((m) => m.kind);
    expect(kinds.slice(0, 3)).toEqual(['kernel', 'init', 'marker']);
    vm.sendKeys('echo vm-$((6*7))-ok\r');
    await waitForText(() => vm.consoleText, /\nvm-42-ok/, 20_000);
    await vm.powerOff();
    expect((await vm.exited).signal).toBeNull();
  });

  it('detects init exiting as "Attempted to kill init!" with its exit code', async () => {
    const image = await images.buildInitramfs({ init: { kind: 'exit', code: 0 } }, kernel.genInitCpio);
    const vm = await vms.boot({ kernel: kernel.bzImage, initrd: image.path });
    const killInit = await vm.waitFor((m) => m.kind === 'kill-init', 60_000);
    expect(killInit.detail).toBe('0x00000000');
    const panic = await vm.waitFor((m) => m.kind === 'panic', 10_000);
    expect(panic.detail).toBe('Attempted to kill init! exitcode=0x00000000');
    await vm.exited; // panic=-1 and -no-reboot: QEMU leaves by itself
  });

  it('refuses an initramfs without /init before booting it', async () => {
    await expect(
      images.buildInitramfs({ init: { kind: 'shell' }, omitInit: true }, kernel.genInitCpio),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('there is no /init in the initramfs'),
      hint: expect.stringContaining('VFS: Unable to mount root fs on unknown-block(0,0)'),
    });
  });

  it('reports a busy gdb port instead of starting QEMU', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
    const port = (blocker.address() as { port: number }).port;
    await expect(vms.boot({ kernel: kernel.bzImage, gdb: { port } })).rejects.toMatchObject({
      code: 'PORT_BUSY',
      message: `TCP port ${port} for the gdb stub is already in use.`,
    });
    blocker.close();
  });

  it('stops in start_kernel under gdb on the stub, and the lx- scripts read the kernel log', async () => {
    const image = await images.buildInitramfs({ init: { kind: 'shell' } }, kernel.genInitCpio);
    const vm = await vms.boot({
      kernel: kernel.bzImage,
      initrd: image.path,
      gdb: { port: 'next-free' },
      paused: true,
    });
    expect(vm.argv).toContain('-S');
    expect(vm.argv.join(' ')).toContain('nokaslr');
    const { stdout } = await run(
      'gdb',
      [
        '-batch',
        '-nx',
        '-iex',
        `add-auto-load-safe-path ${kernel.dir}`,
        '-ex',
        `target remote :${vm.gdbPort}`,
        '-ex',
        'hbreak start_kernel',
        '-ex',
        'continue',
        '-ex',
        'info symbol $pc',
        '-ex',
        'delete',
        '-ex',
        'hbreak kernel_init',
        '-ex',
        'continue',
        '-ex',
        'lx-dmesg',
        kernel.vmlinux,
      ],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/start_kernel \(\) at .*init\/main\.c/);
    expect(stdout).toMatch(/Linux version 6\.1\.\d+/);
    vm.stop();
    await vm.exited;
  }, 240_000);
});

async function waitForText(read: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!pattern.test(read())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not seen: ${pattern}\n${read().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
