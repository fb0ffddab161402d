// From a user segfault line to the source (seed 000): `init[1]: segfault at 18 ip 00007f…1b9 …
// in libkdlab.so[7f…000+1000]`. The bracket is the mapping that holds ip — the library's executable
// segment, not its load base — so ip − base is an offset into that segment, and the address to look
// up in the file is the segment's first page (its p_vaddr, page-aligned) plus that offset. Then
// addr2line names the function and line, and objdump shows the faulting instruction — both where the
// executor runs (the host, or the lab container that compiled the program in Docker mode).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { LabError } from '../../common/errors';
import type { Executor } from '../exec/executor';
import { hostExecutor } from '../exec/host-executor';
import type { UserSegfault } from './decoder';

const PT_LOAD = 1;
const PF_X = 1;
const pageSize = 0x1000n;

/** The page-aligned link address of the first executable PT_LOAD segment, or null (not ELF, none). */
export function executableSegmentStart(data: Uint8Array): bigint | null {
  if (data.length < 52 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46)
    return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const is64 = data[4] === 2;
  const little = data[5] === 1;
  const u16 = (o: number) => view.getUint16(o, little);
  const u32 = (o: number) => view.getUint32(o, little);
  const word = (o: number) => (is64 ? view.getBigUint64(o, little) : BigInt(u32(o)));
  const phoff = Number(word(is64 ? 32 : 28));
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i += 1) {
    const b = phoff + i * phentsize;
    if (b + phentsize > data.length) break;
    const flags = u32(is64 ? b + 4 : b + 24);
    if (u32(b) !== PT_LOAD || (flags & PF_X) === 0) continue;
    const vaddr = word(is64 ? b + 16 : b + 8);
    return vaddr - (vaddr % pageSize);
  }
  return null;
}

export interface UserFaultSite {
  /** ip − base, as printed math would give it: 0x1b9. */
  offset: string;
  /** The address in the file to disassemble and addr2line: segment start + offset. */
  address: string;
}

/** Where in the object the fault is, from the decoded line and the object's ELF headers. */
export function userFaultSite(segfault: UserSegfault, elf: Uint8Array): UserFaultSite {
  if (!segfault.base || !segfault.object)
    throw new LabError(
      'BAD_REQUEST',
      `The segfault line has no "in OBJECT[BASE+SIZE]" part (ip ${segfault.ip}): the kernel could not name the mapping.`,
      'Without a base there is no offset to compute; the ip is in an anonymous mapping (JIT code, a smashed stack).',
    );
  const start = executableSegmentStart(elf);
  if (start === null)
    throw new LabError('BAD_REQUEST', `${segfault.object} is not an ELF file with an executable segment.`);
  const offset = BigInt(segfault.ip) - BigInt(segfault.base);
  return { offset: `0x${offset.toString(16)}`, address: `0x${(start + offset).toString(16)}` };
}

export interface LocatedUserFault extends UserFaultSite {
  object: string;
  /** The workspace copy that was read (built with -g). */
  file: string;
  ip: string;
  base: string;
  faultAddress: string | null;
  function: string | null;
  sourceFile: string | null;
  line: number | null;
  /** The source line itself, when the file is readable. */
  sourceText: string | null;
  /** The instruction at the address, as objdump prints it. */
  instruction: string | null;
  /** The function's disassembly, the faulting instruction marked with `=>`. */
  disassembly: string;
}

/** `addr2line -f` output: the function, then FILE:LINE (`??` when unknown). */
export function parseAddr2line(output: string): {
  function: string | null;
  sourceFile: string | null;
  line: number | null;
} {
  const [fn, where] = output.split('\n');
  const m = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(where?.trim() ?? '');
  return {
    function: fn && fn.trim() !== '??' ? fn.trim() : null,
    sourceFile: m && m[1] !== '??' ? m[1]! : null,
    line: m && m[2] !== '0' ? Number(m[2]) : null,
  };
}

/** objdump -d lines `    11b9:\t f6 42 18 02 \ttestb $0x2,0x18(%rdx)`: marks the one at `address`. */
export function markInstruction(
  objdump: string,
  address: string,
): { disassembly: string; instruction: string | null } {
  const want = BigInt(address);
  let instruction: string | null = null;
  const lines = objdump.split('\n').map((line) => {
    const m = /^\s*([0-9a-f]+):\t[^\t]*\t(.*)$/.exec(line);
    if (m && BigInt(`0x${m[1]!}`) === want) {
      instruction = m[2]!.replace(/\s+/g, ' ').trim();
      return `=> ${line.trimStart()}`;
    }
    return line;
  });
  const body = lines.filter((l) => /^\s*[0-9a-f]+:|^=>|^[0-9a-f]+ </.test(l));
  return { disassembly: body.join('\n'), instruction };
}

/**
 * Locates a decoded user segfault in the host copy `file` of the object it names. `sources` are
 * where the sources are now: the debug info names them where they were compiled, which may have
 * moved since (a lab pack); the source line is then read from the file of the same name there.
 */
export async function locateUserFault(
  segfault: UserSegfault,
  file: string,
  options: { sources?: string[]; signal?: AbortSignal; executor?: Executor } = {},
): Promise<LocatedUserFault> {
  const { signal } = options;
  const executor = options.executor ?? hostExecutor;
  const site = userFaultSite(segfault, await readFile(file));
  const opts = {
    timeoutMs: 30_000,
    installHint: 'apt-get install -y binutils',
    inputs: [file],
    ...(signal ? { signal } : {}),
  };
  const where = parseAddr2line(
    (await executor.run(['addr2line', '-f', '-e', file, site.address], opts)).stdout,
  );
  // The whole function when addr2line named it; else a window around the address.
  const start = BigInt(site.address);
  const objdump = await executor.run(
    [
      'objdump',
      '-d',
      ...(where.function
        ? [`--disassemble=${where.function}`]
        : [
            `--start-address=0x${(start - 32n).toString(16)}`,
            `--stop-address=0x${(start + 32n).toString(16)}`,
          ]),
      file,
    ],
    opts,
  );
  const marked = markInstruction(objdump.stdout, site.address);
  let sourceText: string | null = null;
  if (where.sourceFile && where.line) {
    const name = basename(where.sourceFile);
    for (const candidate of [
      where.sourceFile,
      ...(options.sources ?? []).filter((s) => basename(s) === name),
    ]) {
      const text = await readFile(candidate, 'utf8').catch(() => null);
      if (text === null) continue;
      sourceText = text.split('\n')[where.line - 1]?.trim() ?? null;
      break;
    }
  }
  return {
    ...site,
    object: segfault.object!,
    file,
    ip: segfault.ip,
    base: segfault.base!,
    faultAddress: segfault.address,
    ...where,
    sourceText: sourceText || null,
    ...marked,
  };
}
