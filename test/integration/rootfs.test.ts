// ext4 rootfs images built with mkfs.ext4 -d (no root needed), booted as /dev/vda in snapshot mode.
import { beforeAll, describe, expect, it } from 'vitest';
import { RootfsBuilder } from '../../electron/lab/image/rootfs';
import { ImageBuilder } from '../../electron/lab/image/initramfs';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { runCommand } from '../../electron/lab/process';
import { VmRunner } from '../../electron/lab/vm/vm-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { sha256File } from '../../electron/lab/workspace';
import { labKernel } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';

let workspace: Workspace;
let kernel: KernelArtifacts;

beforeAll(async () => {
  ({ workspace, kernel } = await labKernel());
}, 1_800_000);

describe('rootfs images', () => {
  it('boots the lab kernel from an ext4 rootfs, answers on its shell, and leaves the image unchanged', async () => {
    const rootfs = await new RootfsBuilder(workspace, new ImageBuilder(workspace)).build(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
    );
    const console = await runCommand(['debugfs', '-R', 'stat /dev/console', rootfs.path]);
    expect(console.stdout).toMatch(/Type: character special/);
    expect(console.stdout).toMatch(/Device major\/minor number: 05:01/);
    const before = await sha256File(rootfs.path);

    const vm = await new VmRunner(workspace).boot({
      kernel: kernel.bzImage,
      rootfs: rootfs.path,
      markers: [{ name: 'ready', pattern: 'KDLAB-INIT-READY' }],
    });
    expect(vm.argv.join(' ')).toContain('snapshot=on');
    expect(vm.argv).not.toContain('-initrd');
    await vm.waitFor((m) => m.kind === 'marker', 60_000);
    expect(vm.consoleText).toMatch(/EXT4-fs \(vda\): mounted filesystem/);
    vm.sendKeys('echo rootfs-$((6*7)) > /root/written; cat /root/written\r');
    await waitFor(() => vm.consoleText.includes('rootfs-42'), 20_000);
    await vm.powerOff();
    expect(await sha256File(rootfs.path)).toBe(before);

    const again = await new RootfsBuilder(workspace, new ImageBuilder(workspace)).build(
      { init: { kind: 'shell' } },
      kernel.genInitCpio,
    );
    expect(again.cacheHit).toBe(true);
  }, 180_000);

  it('panics with "VFS: Unable to mount root fs" when root=/dev/vda names no disk', async () => {
    const vm = await new VmRunner(workspace).boot({ kernel: kernel.bzImage, appendExtra: ['root=/dev/vda'] });
    const hit = await vm.waitFor((m) => m.kind === 'vfs-no-root', 60_000);
    expect(hit.line).toMatch(/VFS: Unable to mount root fs/);
    await vm.exited;
  }, 120_000);
});
