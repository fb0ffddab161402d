import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostPackages, installCommand } from '../../electron/lab/doctor/host-packages';

describe('host packages', () => {
  it('scripts/setup.sh installs every package the doctor can suggest', () => {
    const script = readFileSync(new URL('../../scripts/setup.sh', import.meta.url), 'utf8');
    const list = /PACKAGES=\(([^)]*)\)/.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    expect(list.sort()).toEqual([...new Set(Object.values(hostPackages))].sort());
  });

  it('prefixes sudo only when not root', () => {
    expect(installCommand(['gdb', 'gdb', 'crash'], true)).toBe('apt-get install -y gdb crash');
    expect(installCommand(['gdb'], false)).toBe('sudo apt-get install -y gdb');
  });
});
