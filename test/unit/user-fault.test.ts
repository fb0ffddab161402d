import { describe, expect, it } from 'vitest';
import { decodeText } from '../../electron/lab/analyze/decoder';
import {
  executableSegmentStart,
  markInstruction,
  parseAddr2line,
  userFaultSite,
} from '../../electron/lab/analyze/user-fault';

/** A 64-bit little-endian ELF header with these PT_LOAD segments (vaddr, flags), nothing else. */
function elfWithLoads(loads: { vaddr: number; flags: number }[]): Uint8Array {
  const phoff = 64;
  const data = new Uint8Array(phoff + loads.length * 56);
  const view = new DataView(data.buffer);
  data.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  view.setUint16(16, 3, true); // ET_DYN
  view.setUint16(18, 0x3e, true);
  view.setBigUint64(32, BigInt(phoff), true);
  view.setUint16(54, 56, true);
  view.setUint16(56, loads.length, true);
  loads.forEach((l, i) => {
    const b = phoff + i * 56;
    view.setUint32(b, 1, true); // PT_LOAD
    view.setUint32(b + 4, l.flags, true);
    view.setBigUint64(b + 8, BigInt(l.vaddr), true); // p_offset = p_vaddr, as ld lays out a .so
    view.setBigUint64(b + 16, BigInt(l.vaddr), true);
  });
  return data;
}

// libmbase.so of seed 000: read-only headers, then the text segment at 0x7000 (R E).
const libmbase = elfWithLoads([
  { vaddr: 0, flags: 4 },
  { vaddr: 0x7000, flags: 5 },
  { vaddr: 0x1e000, flags: 4 },
  { vaddr: 0x23d88, flags: 6 },
]);
const seedLine =
  '[82062.787587] init[1]: segfault at 3ab8 ip 00007f8315dbc1e2 sp 00007ffde990f410 error 4 in libmbase.so[7f8315dbb000+17000] likely on CPU 1 (core 1, socket 0)\n' +
  '[82062.814934] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n';

describe('user segfault → place in the library', () => {
  it('finds the page-aligned start of the executable segment', () => {
    expect(executableSegmentStart(libmbase)).toBe(0x7000n);
    // Old layout: one R E segment from the file's start.
    expect(executableSegmentStart(elfWithLoads([{ vaddr: 0, flags: 5 }]))).toBe(0n);
    // A segment starting mid-page maps from the page below it.
    expect(executableSegmentStart(elfWithLoads([{ vaddr: 0x1234, flags: 5 }]))).toBe(0x1000n);
    expect(executableSegmentStart(elfWithLoads([{ vaddr: 0, flags: 6 }]))).toBeNull();
    expect(
      executableSegmentStart(new TextEncoder().encode('#!/bin/sh\necho not an ELF file at all\n')),
    ).toBeNull();
  });

  it("redoes seed 000's arithmetic: offset 0x11e2, address 0x81e2 in libmbase.so", () => {
    const [report] = decodeText(seedLine);
    const segfault = report!.userSegfault!;
    expect(segfault).toMatchObject({
      object: 'libmbase.so',
      base: '0x7f8315dbb000',
      offsetInObject: '0x11e2',
    });
    expect(userFaultSite(segfault, libmbase)).toEqual({ offset: '0x11e2', address: '0x81e2' });
  });

  it('refuses a line without a mapping, and a file without an executable segment', () => {
    const [report] = decodeText(
      'init[1]: segfault at 0 ip 0000000000000000 sp 00007ffc3e1b5e40 error 14 likely on CPU 0 (core 0, socket 0)\n',
    );
    expect(() => userFaultSite(report!.userSegfault!, libmbase)).toThrow(/no "in OBJECT\[BASE\+SIZE\]" part/);
    const [seed] = decodeText(seedLine);
    expect(() => userFaultSite(seed!.userSegfault!, elfWithLoads([{ vaddr: 0, flags: 4 }]))).toThrow(
      /not an ELF file with an executable segment/,
    );
  });

  it('reads addr2line -f output, unknowns as null', () => {
    expect(parseAddr2line('kdlab_print_err_msg\n/r/src/libkdlab.c:31\n')).toEqual({
      function: 'kdlab_print_err_msg',
      sourceFile: '/r/src/libkdlab.c',
      line: 31,
    });
    expect(parseAddr2line('f\n/r/a.c:7 (discriminator 2)\n')).toMatchObject({ line: 7 });
    expect(parseAddr2line('??\n??:0\n')).toEqual({ function: null, sourceFile: null, line: null });
  });

  it('marks the faulting instruction in objdump -d output', () => {
    const objdump = [
      '',
      'libmbase.so:     file format elf64-x86-64',
      '',
      'Disassembly of section .text:',
      '',
      '0000000000008160 <print_err_msg>:',
      '    81d2:\t48 8b 2d cf bd 01 00 \tmov    0x1bdcf(%rip),%rbp        # 23fa8 <g_dbg_zone@Base>',
      '    81de:\t48 8b 45 00          \tmov    0x0(%rbp),%rax',
      '    81e2:\tf6 80 b8 3a 00 00 02 \ttestb  $0x2,0x3ab8(%rax)',
      '    81e9:\t75 2d                \tjne    8218 <print_err_msg+0xb8>',
    ].join('\n');
    const marked = markInstruction(objdump, '0x81e2');
    expect(marked.instruction).toBe('testb $0x2,0x3ab8(%rax)');
    expect(marked.disassembly.split('\n')).toEqual([
      '0000000000008160 <print_err_msg>:',
      '    81d2:\t48 8b 2d cf bd 01 00 \tmov    0x1bdcf(%rip),%rbp        # 23fa8 <g_dbg_zone@Base>',
      '    81de:\t48 8b 45 00          \tmov    0x0(%rbp),%rax',
      '=> 81e2:\tf6 80 b8 3a 00 00 02 \ttestb  $0x2,0x3ab8(%rax)',
      '    81e9:\t75 2d                \tjne    8218 <print_err_msg+0xb8>',
    ]);
    expect(markInstruction(objdump, '0x81e3').instruction).toBeNull();
  });
});
