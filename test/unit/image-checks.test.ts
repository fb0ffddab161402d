import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readElfDeps } from '../../electron/lab/image/elf-deps';
import { checkImage, imageCheckTexts } from '../../electron/lab/image/image-checks';
import type { ImageEntry } from '../../electron/lab/image/image-checks';
import { expectTranslated } from '../helpers/local-text-checks';
import { parseLdd, renderCpioList } from '../../electron/lab/image/initramfs';
import { renderInit } from '../../electron/lab/image/init-templates';

const busybox = readFileSync('/bin/busybox').subarray(0, 65536);
const node = readFileSync(process.execPath); // the dynamic section lies deep in a large binary
const probe = readFileSync(new URL('../../lab-images/kvm-probe/probe.elf', import.meta.url));
const script = (text: string) => new TextEncoder().encode(text);

const base: ImageEntry[] = [
  { path: '/bin', type: 'dir', mode: 0o755 },
  { path: '/bin/busybox', type: 'file', mode: 0o755, content: busybox },
  { path: '/bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
];

const ids = (entries: ImageEntry[]) =>
  checkImage(entries)
    .filter((c) => !c.ok && c.severity === 'error')
    .map((c) => c.id);

describe('pre-boot checks', () => {
  it('accepts a script init whose interpreter is the static busybox', () => {
    const checks = checkImage([
      ...base,
      { path: '/init', type: 'file', mode: 0o755, content: script('#!/bin/sh\nexec sh\n') },
    ]);
    expect(checks).toEqual([expect.objectContaining({ id: 'init', ok: true })]);
  });

  it('refuses a missing /init, naming the panic it prevents', () => {
    const [check] = checkImage(base);
    expect(check).toMatchObject({
      id: 'init-missing',
      wouldSee: 'VFS: Unable to mount root fs on unknown-block(0,0)',
    });
  });

  it('refuses an /init that is not executable', () => {
    expect(
      ids([...base, { path: '/init', type: 'file', mode: 0o644, content: script('#!/bin/sh\n') }]),
    ).toEqual(['init-not-executable']);
  });

  it('refuses a script init whose interpreter is missing', () => {
    const checks = checkImage([
      ...base,
      { path: '/init', type: 'file', mode: 0o755, content: script('#!/bin/bash\necho hi\n') },
    ]);
    expect(checks[0]).toMatchObject({
      id: 'init-interpreter',
      message: {
        en: '/init is a script for /bin/bash, which is not in the image',
        'zh-CN': '/init 是一个由 /bin/bash 执行的脚本，但镜像里没有 /bin/bash',
      },
    });
  });

  it.each(Object.entries(imageCheckTexts))('message %s is in English and Chinese', (key, text) => {
    expectTranslated(text, key);
  });

  it('refuses a binary for the wrong architecture', () => {
    expect(ids([...base, { path: '/init', type: 'file', mode: 0o755, content: probe }])).toEqual(['arch']);
  });

  it('refuses a dynamic init whose loader and libraries are missing (exit 127 / 0x7f00)', () => {
    const checks = checkImage([...base, { path: '/init', type: 'file', mode: 0o755, content: node }]);
    expect(checks.map((c) => c.id)).toEqual(['interpreter', 'libraries']);
    expect(checks[1]?.wouldSee).toMatch(/0x00007f00/);
    expect(checks[1]?.message['zh-CN']).toMatch(/^\/init 需要 \S+.*，但镜像里没有$/);
  });

  it('follows symlinks inside the image', () => {
    const entries: ImageEntry[] = [
      ...base,
      { path: '/sbin', type: 'dir', mode: 0o755 },
      { path: '/sbin/init', type: 'file', mode: 0o755, content: script('#!/bin/sh\n') },
      { path: '/init', type: 'symlink', mode: 0o777, target: 'sbin/init' },
    ];
    expect(ids(entries)).toEqual([]);
  });
});

describe('ELF dependencies', () => {
  it('reads the loader and DT_NEEDED of a dynamic binary', () => {
    const deps = readElfDeps(readFileSync(process.execPath));
    expect(deps?.interpreter).toMatch(/ld-linux-x86-64\.so\.2$/);
    expect(deps?.needed).toContain('libc.so.6');
  });

  it('parses ldd output, loader included', () => {
    const out = `\tlinux-vdso.so.1 (0x00007ffd)\n\tlibxenctrl.so.4.17 => /lib/x86_64-linux-gnu/libxenctrl.so.4.17 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n`;
    expect(parseLdd(out)).toEqual([
      '/lib/x86_64-linux-gnu/libxenctrl.so.4.17',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
});

describe('gen_init_cpio list', () => {
  it('renders dirs, nodes, links and files', () => {
    const list = renderCpioList([
      { path: '/dev', type: 'dir', mode: 0o755 },
      {
        path: '/dev/console',
        type: 'node',
        mode: 0o600,
        device: { kind: 'c', major: 5, minor: 1 },
      } as ImageEntry,
      { path: '/bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
      { path: '/init', type: 'file', mode: 0o755, source: '/tmp/x/init' },
    ]);
    expect(list).toBe(
      'dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nslink /bin/sh busybox 0777 0 0\nfile /init /tmp/x/init 0755 0 0\n',
    );
  });

  it('refuses paths gen_init_cpio cannot store', () => {
    expect(() => renderCpioList([{ path: '/my file', type: 'dir', mode: 0o755 }])).toThrow(/white space/);
  });
});

describe('init templates', () => {
  it('prints the marker kdlab waits for and exits with the asked status', () => {
    expect(renderInit({ kind: 'exit', code: 127 })).toMatch(/KDLAB-INIT-READY[\s\S]*exit 127\n$/);
    expect(renderInit({ kind: 'capture', target: 'virtio-disk', dumpLevel: 31 })).toContain(
      'makedumpfile -l -d 31 /proc/vmcore',
    );
  });
});
