import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../helpers/temp';

const dir = fileURLToPath(new URL('../../lab-images/kvm-probe/', import.meta.url));

describe('KVM probe guest', () => {
  it('the shipped probe.elf is what probe.S assembles to', async () => {
    await withTempDir(async (tmp) => {
      execFileSync('bash', [join(dir, 'build.sh'), join(tmp, 'probe.elf')]);
      expect(readFileSync(join(tmp, 'probe.elf')).equals(readFileSync(join(dir, 'probe.elf')))).toBe(true);
    });
  });

  it('runs under TCG and prints its marker on the serial port', () => {
    // isa-debug-exit turns the guest's write of 0x31 into QEMU's exit status (0x31 << 1) | 1 = 99.
    const run = spawnSync(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-m',
        '32',
        '-nodefaults',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-no-reboot',
        '-kernel',
        join(dir, 'probe.elf'),
        '-device',
        'isa-debug-exit,iobase=0x501,iosize=1',
      ],
      { timeout: 20_000, encoding: 'utf8' },
    );
    expect(run.stdout).toContain('KDLAB-KVM-PROBE-OK');
    expect(run.status).toBe(99);
  });
});
