// Just enough ELF to answer "is this binary static, and for which machine?" without running it.

export interface ElfInfo {
  class: 32 | 64;
  machine: string;
  type: 'exec' | 'dyn' | 'rel' | 'core' | 'other';
  /** The program interpreter (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2; null for a static binary. */
  interpreter: string | null;
}

const machines: Record<number, string> = {
  0x03: 'i386',
  0x28: 'arm',
  0x3e: 'x86_64',
  0xb7: 'aarch64',
  0xf3: 'riscv',
};

const PT_INTERP = 3;

export function parseElf(data: Uint8Array): ElfInfo | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 52 || view.getUint32(0) !== 0x7f454c46) return null;
  const cls = data[4] === 2 ? 64 : data[4] === 1 ? 32 : null;
  if (cls === null) return null;
  const little = data[5] === 1;
  const u16 = (o: number) => view.getUint16(o, little);
  const u32 = (o: number) => view.getUint32(o, little);
  const addr = (o: number) => (cls === 64 ? Number(view.getBigUint64(o, little)) : u32(o));
  const typeCode = u16(16);
  const type = ({ 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' } as const)[typeCode as 1 | 2 | 3 | 4] ?? 'other';
  const machine = machines[u16(18)] ?? `machine-0x${u16(18).toString(16)}`;
  const phoff = addr(cls === 64 ? 32 : 28);
  const phentsize = u16(cls === 64 ? 54 : 42);
  const phnum = u16(cls === 64 ? 56 : 44);
  let interpreter: string | null = null;
  for (let i = 0; i < phnum; i += 1) {
    const base = phoff + i * phentsize;
    if (base + phentsize > data.length) break;
    if (u32(base) !== PT_INTERP) continue;
    const offset = addr(cls === 64 ? base + 8 : base + 4);
    const size = addr(cls === 64 ? base + 32 : base + 16);
    if (offset + size > data.length) break;
    interpreter = new TextDecoder().decode(data.subarray(offset, offset + size)).replace(/\0+$/, '');
  }
  return { class: cls, machine, type, interpreter };
}
