import { describe, expect, it } from 'vitest';
import {
  checkDefinitions,
  describeKvm,
  extractVersion,
  formatBytes,
  isPortFree,
  parseSourceName,
} from '../../electron/lab/doctor/checks';
import { fmt, sameText } from '../../electron/common/local-text';
import { classifyLinuxProbe, kvmProbeArgv, kvmProbeTexts } from '../../electron/lab/doctor/kvm-probe';
import { createServer } from 'node:net';

// What the tools print on Debian 12 (captured on the lab machine).
const toolOutputs: Record<string, string> = {
  qemu: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard',
  gdb: 'GNU gdb (Debian 13.1-3) 13.1\nCopyright (C) 2023 Free Software Foundation, Inc.',
  crash: '\ncrash 8.0.2\nCopyright (C) 2002-2022  Red Hat, Inc.',
  makedumpfile: 'makedumpfile: version 1.7.2 (released on 20 Oct 2022)\nlzo\tenabled',
  kexec: 'kexec-tools 2.0.25',
  'mkfs-ext4': 'mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0',
  cpio: 'cpio (GNU cpio) 2.13',
  gcc: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0',
  make: 'GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu',
  flex: 'flex 2.6.4',
  bison: 'bison (GNU Bison) 3.8.2',
  bc: 'bc 1.07.1\nCopyright 1991-1994, 1997, 1998, 2000, 2004, 2006, 2008, 2012-2017 Free Software Foundation, Inc.',
  pahole: 'v1.24',
};
const expected: Record<string, string> = {
  qemu: '7.2.22',
  gdb: '13.1',
  crash: '8.0.2',
  makedumpfile: '1.7.2',
  kexec: '2.0.25',
  'mkfs-ext4': '1.47.0',
  cpio: '2.13',
  gcc: '12.2.0',
  make: '4.3',
  flex: '2.6.4',
  bison: '3.8.2',
  bc: '1.07.1',
  pahole: '1.24',
};

describe('doctor version parsing', () => {
  const patterns: Record<string, RegExp> = {
    qemu: /QEMU emulator version (\S+)/,
    gdb: /^GNU gdb .*?(\d+(?:\.\d+)+)\s*$/m,
    crash: /^crash (\S+)/m,
    makedumpfile: /makedumpfile: version (\S+)/,
    kexec: /kexec-tools (\S+)/,
    'mkfs-ext4': /mke2fs (\S+)/,
    cpio: /cpio\)? (\d\S*)/,
    gcc: /^gcc .*?(\d+\.\d+\.\d+)/m,
    make: /GNU Make (\S+)/,
    flex: /flex (\S+)/,
    bison: /bison \(GNU Bison\) (\S+)/,
    bc: /^bc (\S+)/m,
    pahole: /v?(\d+\.\d+)/,
  };
  it.each(Object.keys(toolOutputs))('reads the %s version', (id) => {
    expect(extractVersion(toolOutputs[id]!, patterns[id]!)).toBe(expected[id]);
  });

  it('has a check for every piece the issue lists', () => {
    expect(checkDefinitions.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'qemu',
        'kvm',
        'gdb',
        'gdb-port',
        'crash',
        'makedumpfile',
        'kexec',
        'busybox',
        'gcc',
        'make',
        'flex',
        'bison',
        'bc',
        'libelf',
        'openssl',
        'pahole',
        'kernel-sources',
        'docker',
        'disk',
      ]),
    );
  });
});

describe('kernel sources', () => {
  it.each([
    ['linux-source-6.1.tar.xz', '6.1'],
    ['linux-source-6.12.tar.xz', '6.12'],
    ['linux-source-5.10', '5.10'],
    ['linux-headers-6.1.0-56-amd64', null],
    ['python3.11', null],
  ])('%s → %s', (name, version) => {
    expect(parseSourceName(name)).toBe(version);
  });
});

describe('KVM probe', () => {
  it('boots a Linux kernel on the serial console and never reboots', () => {
    expect(kvmProbeArgv('/usr/bin/qemu-system-x86_64', { kernel: '/boot/vmlinuz-6.1', linux: true })).toEqual(
      [
        '/usr/bin/qemu-system-x86_64',
        '-accel',
        'kvm',
        '-m',
        '256',
        '-nodefaults',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-no-reboot',
        '-kernel',
        '/boot/vmlinuz-6.1',
        '-append',
        'console=ttyS0 panic=-1 loglevel=4',
      ],
    );
    expect(kvmProbeArgv('qemu', { kernel: 'probe.elf', linux: false })).toContain(
      'isa-debug-exit,iobase=0x501,iosize=1',
    );
  });

  it.each([
    [
      '[0.000000] Linux version 6.1.0-56-amd64 (gcc)\n[1.8] Kernel panic - not syncing: VFS: Unable to mount root fs',
      false,
      'works',
    ],
    ['', true, 'hangs'],
    ['[0.0] Linux version 6.1.0 (gcc)\n', true, 'hangs'],
    ['', false, 'fails'],
  ] as const)('classifies %j (timed out: %s) as %s', (output, timedOut, verdict) => {
    expect(classifyLinuxProbe(output, timedOut).verdict).toBe(verdict);
  });

  it('explains each verdict, with a fix where there is one', () => {
    const base = { probe: '/boot/vmlinuz', durationMs: 1200 };
    const works = describeKvm(
      { ...base, verdict: 'works', detail: fmt(kvmProbeTexts.booted, { release: '6.1' }) },
      true,
    );
    expect(works.status).toBe('ok');
    expect(works.detail['zh-CN']).toBe('KVM 可用：在 KVM 下启动了 6.1（探测：/boot/vmlinuz，1.2 秒）');
    const perm = describeKvm(
      { ...base, verdict: 'no-permission', detail: sameText('/dev/kvm exists but…') },
      false,
    );
    expect(perm).toMatchObject({ status: 'warn', fix: { en: expect.stringContaining('usermod -aG kvm') } });
    const hang = describeKvm({ ...base, verdict: 'hangs', detail: kvmProbeTexts.silent }, true);
    expect(hang.detail.en).toMatch(/KVM does not work here, kdlab uses TCG: the guest printed nothing/);
    expect(hang.detail['zh-CN']).toMatch(
      /KVM 在这台机器上不能正常工作，kdlab 使用 TCG：客户机在超时之前没有任何输出/,
    );
  });
});

describe('host helpers', () => {
  it('formats sizes', () => {
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MiB');
  });

  it('sees a busy port as busy', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    const port = (server.address() as { port: number }).port;
    expect(await isPortFree(port)).toBe(false);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await isPortFree(port)).toBe(true);
  });
});
