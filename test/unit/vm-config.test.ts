import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BootTimeline } from '../../electron/lab/vm/boot-timeline';
import { labAppend, qemuArgv } from '../../electron/lab/vm/qemu-args';

describe('QEMU command line', () => {
  it('is built from the VM config, serial and QMP on sockets, gdb stub and -S on request', () => {
    const argv = qemuArgv({
      accel: 'tcg',
      kernel: '/ws/bzImage',
      initrd: '/ws/initramfs.cpio.gz',
      append: labAppend({ crashkernelMiB: 128, gdb: true }),
      memoryMiB: 1024,
      cpus: 2,
      disks: [{ path: '/ws/dump.img', format: 'raw' }],
      share: { path: '/ws/share', tag: 'kdlab-dump' },
      serialSocket: '/ws/run/serial.sock',
      qmpSocket: '/ws/run/qmp.sock',
      gdbPort: 1234,
      paused: true,
    });
    expect(argv).toEqual([
      'qemu-system-x86_64',
      '-name',
      'kdlab',
      '-machine',
      'q35',
      '-accel',
      'tcg',
      '-m',
      '1024',
      '-smp',
      '2',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      '/ws/bzImage',
      '-initrd',
      '/ws/initramfs.cpio.gz',
      '-append',
      'console=ttyS0,115200 panic=-1 crashkernel=128M nokaslr',
      '-chardev',
      'socket,id=serial0,path=/ws/run/serial.sock,server=on,wait=off',
      '-serial',
      'chardev:serial0',
      '-qmp',
      'unix:/ws/run/qmp.sock,server=on,wait=off',
      '-drive',
      'file=/ws/dump.img,format=raw,if=virtio,index=0',
      '-virtfs',
      'local,path=/ws/share,mount_tag=kdlab-dump,security_model=none,id=kdlab-dump',
      '-gdb',
      'tcp:127.0.0.1:1234',
      '-S',
    ]);
  });

  it('adds nokaslr whenever gdb is used', () => {
    expect(labAppend({ gdb: true })).toContain('nokaslr');
    expect(labAppend({})).not.toContain('nokaslr');
  });
});

describe('boot timeline', () => {
  it('finds the milestones of a sysrq crash in a real console log', () => {
    const log = readFileSync(
      new URL('../fixtures/panic-logs/seed004-sysrq-kexec-capture.log', import.meta.url),
      'utf8',
    );
    let now = 0;
    const timeline = new BootTimeline([], () => now);
    for (const chunk of log.match(/[\s\S]{1,97}/g) ?? []) {
      now += 1;
      timeline.push(chunk);
    }
    timeline.push('\n');
    const kinds = timeline.milestones.map((m) => m.kind);
    expect(kinds).toContain('panic');
    expect(timeline.milestones.find((m) => m.kind === 'panic')?.detail).toBe('sysrq triggered crash');
  });

  it('reports init exiting with its exit code, and user markers', () => {
    const timeline = new BootTimeline([{ name: 'ready', pattern: /KDLAB-INIT-READY/ }]);
    timeline.push(
      '[    0.000000] Linux version 6.1.192 (root@vm) #1 SMP\r\n[    1.02] Run /init as init process\r\nKDLAB-INIT-READY\r\n',
    );
    timeline.push('[    1.30] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00007f00\r\n');
    expect(timeline.milestones.map((m) => [m.kind, m.detail])).toEqual([
      ['kernel', '6.1.192'],
      ['init', '/init'],
      ['marker', 'ready'],
      ['kill-init', '0x00007f00'],
      ['panic', 'Attempted to kill init! exitcode=0x00007f00'],
    ]);
  });
});
