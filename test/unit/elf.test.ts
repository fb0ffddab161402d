import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../electron/lab/doctor/elf';

describe('parseElf', () => {
  it('sees that the lab KVM probe guest is a static i386 executable', () => {
    const info = parseElf(readFileSync(new URL('../../lab-images/kvm-probe/probe.elf', import.meta.url)));
    expect(info).toEqual({ class: 32, machine: 'i386', type: 'exec', interpreter: null });
  });

  it('finds the program interpreter of a dynamic binary', () => {
    const info = parseElf(readFileSync(process.execPath));
    expect(info?.class).toBe(64);
    expect(info?.machine).toBe('x86_64');
    expect(info?.interpreter).toMatch(/ld-linux-x86-64\.so\.2$/);
  });

  it('rejects what is not ELF', () => {
    expect(parseElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64, ' ')))).toBeNull();
    expect(parseElf(Buffer.alloc(10))).toBeNull();
  });
});
