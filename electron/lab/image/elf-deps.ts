// What a binary needs to run inside an image: its ELF machine, its program interpreter and its
// DT_NEEDED libraries, read from the file itself (no execution, works for foreign binaries too).
import { parseElf } from '../doctor/elf';
import type { ElfInfo } from '../doctor/elf';

export interface ElfDeps extends ElfInfo {
  needed: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

export function readElfDeps(data: Uint8Array): ElfDeps | null {
  const info = parseElf(data);
  if (!info) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const little = data[5] === 1;
  const is64 = info.class === 64;
  const u16 = (o: number) => view.getUint16(o, little);
  const u32 = (o: number) => view.getUint32(o, little);
  const word = (o: number) => (is64 ? Number(view.getBigUint64(o, little)) : u32(o));
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dynamic: { offset: number; size: number } | null = null;
  for (let i = 0; i < phnum; i += 1) {
    const b = phoff + i * phentsize;
    if (b + phentsize > data.length) break;
    const type = u32(b);
    const offset = word(is64 ? b + 8 : b + 4);
    const vaddr = word(is64 ? b + 16 : b + 8);
    const filesz = word(is64 ? b + 32 : b + 16);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
  }
  const needed: string[] = [];
  if (dynamic) {
    const entrySize = is64 ? 16 : 8;
    const neededOffsets: number[] = [];
    let strtabAddr: number | null = null;
    for (
      let o = dynamic.offset;
      o + entrySize <= dynamic.offset + dynamic.size && o + entrySize <= data.length;
      o += entrySize
    ) {
      const tag = word(o);
      const value = word(o + entrySize / 2);
      if (tag === 0) break;
      if (tag === DT_NEEDED) neededOffsets.push(value);
      if (tag === DT_STRTAB) strtabAddr = value;
    }
    const load =
      strtabAddr === null
        ? undefined
        : loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
    if (load && strtabAddr !== null) {
      const strtab = load.offset + (strtabAddr - load.vaddr);
      for (const off of neededOffsets) {
        let end = strtab + off;
        while (end < data.length && data[end] !== 0) end += 1;
        needed.push(new TextDecoder().decode(data.subarray(strtab + off, end)));
      }
    }
  }
  return { ...info, needed };
}
