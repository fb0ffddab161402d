import { describe, expect, it } from 'vitest';
import { parseInitOption } from '../../electron/cli/commands/pipeline';
import { parsePipeline } from '../../electron/lab/pipeline/pipeline-file';
import { kernelSpecOf } from '../../electron/lab/pipeline/run-pipeline';

describe('pipeline files', () => {
  it('fills defaults: the lab kernel, sysrq, makedumpfile -d 31 to a virtio disk', () => {
    const p = parsePipeline('{}', '/p/x.yaml');
    expect(p.trigger).toEqual({ kind: 'sysrq' });
    expect(p.spec.kernel.fragments).toEqual(['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules']);
    expect(p.spec.capture).toEqual({ dumpLevel: 31, target: 'virtio-disk' });
    expect(p.spec.vm.memoryMiB).toBe(1024);
  });

  it('resolves module folders against the file and maps triggers', () => {
    const p = parsePipeline(
      'modules: [mods/null-deref]\ntrigger:\n  module: null-deref.ko\n',
      '/labs/one/p.yaml',
    );
    expect(p.modules).toEqual(['/labs/one/mods/null-deref']);
    expect(p.trigger).toEqual({ kind: 'module', file: 'null-deref.ko' });
    expect(parsePipeline('trigger: {init-exit: 127}', '/x').trigger).toEqual({
      kind: 'init-exit',
      code: 127,
    });
  });

  it('turns kernel options into a build spec (booleans to y/n, CONFIG_ prefix dropped)', async () => {
    const p = parsePipeline(
      'kernel:\n  source: /src/linux.tar.xz\n  base: /cfg/my.config\n  set: {CONFIG_DEBUG_INFO_BTF: false, LOG_BUF_SHIFT: 17}\n',
      '/x',
    );
    expect(await kernelSpecOf(p)).toMatchObject({
      source: '/src/linux.tar.xz',
      base: { configFile: '/cfg/my.config' },
      extra: { DEBUG_INFO_BTF: 'n', LOG_BUF_SHIFT: '17' },
    });
  });

  it('reports YAML syntax errors and schema errors with file:line:column', () => {
    expect(() => parsePipeline('kernel: [unclosed', '/p.yaml')).toThrow(/^\/p\.yaml:1:\d+: /);
    expect(() => parsePipeline('capture:\n  dumpLevel: 99\n  target: nfs\n', '/p.yaml')).toThrow(
      /\/p\.yaml:2:14: capture\.dumpLevel: .*\n\/p\.yaml:3:11: capture\.target: /,
    );
    expect(() => parsePipeline('surprise: 1\n', '/p.yaml')).toThrow(
      /\/p\.yaml:1:1: \(top level\): Unrecognized key/,
    );
  });

  it('parses the --init choices of the CLI', () => {
    expect(parseInitOption(undefined)).toEqual({ kind: 'shell' });
    expect(parseInitOption('exit:127')).toEqual({ kind: 'exit', code: 127 });
    expect(parseInitOption('sysrq')).toEqual({ kind: 'sysrq-crash' });
    expect(() => parseInitOption('exit:300')).toThrow(/exit:N/);
  });
});
