// Symbolization with the host's binutils, like the kernel's scripts/decode_stacktrace.sh and
// scripts/decodecode: `function+offset` → address (System.map, or `nm`), address → file:line with
// the inline chain (`addr2line -f -i -a`, one process per binary and section, every address on its
// stdin), and the `Code:` bytes disassembled with `objdump -D -b binary` from an instruction boundary
// that lands on the trapping byte.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LabError } from '../../../common/errors';
import { runCommand } from '../../process';
import type { CodeBytes, DecodedReport, DisassembledLine, Frame, SourceLocation } from './types';

export interface SymbolizeOptions {
  vmlinux?: string;
  systemMap?: string;
  modulesDir?: string;
  signal?: AbortSignal;
}

const binutilsHint = 'apt-get install -y binutils';

interface SymbolTable {
  byName: Map<string, bigint>;
  sorted: { address: bigint; name: string }[];
}

/** Parses System.map / `nm` output: `ffffffff81000000 T _text`. Text symbols only for lookups. */
export function parseSymbolMap(text: string): SymbolTable {
  const byName = new Map<string, bigint>();
  const sorted: { address: bigint; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{8,16}) ([tTwW]) (\S+)/.exec(line);
    if (!m) continue;
    const address = BigInt(`0x${m[1]!}`);
    const name = m[3]!;
    if (!byName.has(name)) byName.set(name, address);
    sorted.push({ address, name });
  }
  sorted.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { byName, sorted };
}

export function lookupAddress(table: SymbolTable, address: bigint): { name: string; offset: bigint } | null {
  let lo = 0;
  let hi = table.sorted.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (table.sorted[mid]!.address <= address) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return null;
  const hit = table.sorted[best]!;
  const offset = address - hit.address;
  return offset < 0x100000n ? { name: hit.name, offset } : null;
}

/** addr2line -f -i -a output: `0xADDR`, then function/location pairs (innermost first). */
export function parseAddr2line(output: string): Map<bigint, SourceLocation[]> {
  const out = new Map<bigint, SourceLocation[]>();
  const lines = output.split('\n');
  let current: SourceLocation[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^0x[0-9a-f]+$/.test(line)) {
      current = [];
      out.set(BigInt(line), current);
      continue;
    }
    if (!current || line === '') continue;
    const loc = lines[++i] ?? '';
    const m = /^(.*?):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(loc);
    if (line === '??' && (!m || m[1] === '??')) continue;
    current.push({
      function: line,
      file: m ? m[1]! : loc,
      line: m && m[2] !== '?' ? Number(m[2]) : null,
      inlined: true,
    });
  }
  for (const chain of out.values()) if (chain.length) chain[chain.length - 1]!.inlined = false;
  return out;
}

/** objdump -D -b binary output lines. */
export function parseObjdump(output: string): { offset: bigint; bytes: string; instruction: string }[] {
  const out: { offset: bigint; bytes: string; instruction: string }[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*(?:\t(.*))?$/.exec(line);
    if (!m) continue;
    const instruction = (m[3] ?? '').replace(/\s+/g, ' ').trim();
    // objdump continues long instructions on a second line with bytes only
    if (!instruction && out.length) {
      out[out.length - 1]!.bytes += ` ${m[2]!}`;
      continue;
    }
    out.push({ offset: BigInt(`0x${m[1]!}`), bytes: m[2]!, instruction });
  }
  return out;
}

const objdumpMachine: Record<string, string> = {
  x86_64: 'i386:x86-64',
  i386: 'i386',
  arm64: 'aarch64',
  arm: 'arm',
};

/** Disassembles the Code: bytes, starting where an instruction boundary falls on the trapping byte. */
export async function disassembleCode(
  code: CodeBytes,
  arch: string | null,
  vma: bigint | null,
  signal?: AbortSignal,
): Promise<{ lines: DisassembledLine[] | null; note: string | null }> {
  if (!code.bytes.length) return { lines: null, note: null };
  const machine = objdumpMachine[arch ?? 'x86_64'];
  if (!machine) return { lines: null, note: `no disassembler for ${arch ?? 'this architecture'}` };
  let bytes: Buffer;
  let trap = code.trapIndex;
  if (code.bytes.every((b) => b.length === 2)) bytes = Buffer.from(code.bytes.join(''), 'hex');
  else {
    // arm/arm64 print 32-bit instruction words; the file holds them little-endian
    bytes = Buffer.alloc(code.bytes.length * 4);
    code.bytes.forEach((w, i) => bytes.writeUInt32LE(parseInt(w, 16) >>> 0, i * 4));
    trap = trap === null ? null : trap * 4;
  }
  const dir = await mkdtemp(join(tmpdir(), 'kdlab-code-'));
  try {
    const file = join(dir, 'code.bin');
    await writeFile(file, bytes);
    const base = vma !== null && trap !== null ? vma - BigInt(trap) : 0n;
    const candidates = trap === null ? [0] : Array.from({ length: Math.min(trap, 15) + 1 }, (_, i) => i);
    let fallback: DisassembledLine[] | null = null;
    for (const start of candidates) {
      const r = await runCommand(
        [
          'objdump',
          '-D',
          '-b',
          'binary',
          '-m',
          machine,
          `--adjust-vma=0x${base.toString(16)}`,
          `--start-address=0x${(base + BigInt(start)).toString(16)}`,
          file,
        ],
        { signal, installHint: binutilsHint, timeoutMs: 20_000 },
      );
      if (r.exitCode !== 0) {
        return {
          lines: null,
          note: `objdump cannot disassemble ${arch ?? ''} code here: ${r.stderr.trim().split('\n')[0] ?? ''}`,
        };
      }
      const parsed = parseObjdump(r.stdout);
      const trapAt = trap === null ? null : base + BigInt(trap);
      const lines = parsed.map((p) => ({
        address: `0x${p.offset.toString(16)}`,
        bytes: p.bytes,
        instruction: p.instruction,
        trapping: trapAt !== null && p.offset === trapAt,
      }));
      fallback ??= lines;
      if (trap === null) return { lines, note: 'no trapping byte is marked' };
      const before = lines.filter((l) => BigInt(l.address) < base + BigInt(trap));
      if (lines.some((l) => l.trapping) && !before.some((l) => l.instruction.includes('(bad)')))
        return { lines, note: null };
    }
    return {
      lines: fallback,
      note: 'no instruction boundary falls on the trapping byte: the bytes before it may be cut',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function findModuleFiles(dir: string, wanted: Set<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const norm = (n: string) => n.replace(/-/g, '_');
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 8 || found.size === wanted.size) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (e.name.endsWith('.ko')) {
        const name = norm(e.name.slice(0, -3));
        if (wanted.has(name) && !found.has(name)) found.set(name, p);
      }
    }
  };
  await walk(dir, 0);
  return found;
}

interface Target {
  /** Where to store the result. */
  assign: (source: SourceLocation[]) => void;
  function: string;
  offset: bigint;
  /** Return addresses point after the call; the call itself is one byte before (like gdb's bt). */
  returnAddress: boolean;
}

async function addr2line(
  file: string,
  addresses: bigint[],
  section: string | null,
  signal?: AbortSignal,
): Promise<Map<bigint, SourceLocation[]>> {
  const argv = ['addr2line', '-f', '-i', '-a', '-e', file];
  if (section) argv.push('-j', section);
  const r = await runCommand(argv, {
    input: `${addresses.map((a) => `0x${a.toString(16)}`).join('\n')}\n`,
    signal,
    installHint: binutilsHint,
    timeoutMs: 120_000,
    maxCaptureBytes: 64 * 1024 * 1024,
  });
  if (r.exitCode !== 0)
    throw new LabError(
      'IO',
      `addr2line failed on ${file}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
      'Check that the file is an ELF image of this kernel build.',
    );
  return parseAddr2line(r.stdout);
}

function kaslrOffset(r: DecodedReport): bigint {
  for (const line of r.excerpt) {
    const m = /^Kernel Offset: (0x[0-9a-f]+) from/.exec(line);
    if (m) return BigInt(m[1]!);
  }
  return 0n;
}

export async function symbolizeReports(reports: DecodedReport[], options: SymbolizeOptions): Promise<void> {
  const { vmlinux, systemMap, modulesDir, signal } = options;
  for (const p of [vmlinux, systemMap, modulesDir]) {
    if (p && !existsSync(p))
      throw new LabError(
        'NOT_FOUND',
        `${p} does not exist.`,
        'Pass the vmlinux, System.map or modules folder of the kernel that crashed.',
      );
  }
  if (vmlinux && !statSync(vmlinux).isFile())
    throw new LabError(
      'BAD_REQUEST',
      `${vmlinux} is not a file.`,
      'Pass the vmlinux file of the build (not bzImage, not a folder).',
    );

  // Symbol addresses: the given System.map, the one next to vmlinux, or nm.
  let table: SymbolTable | null = null;
  const mapFile =
    systemMap ??
    (vmlinux && existsSync(join(dirname(vmlinux), 'System.map'))
      ? join(dirname(vmlinux), 'System.map')
      : null);
  if (mapFile) table = parseSymbolMap(await readFile(mapFile, 'utf8'));
  else if (vmlinux) {
    const r = await runCommand(['nm', '-n', vmlinux], {
      signal,
      installHint: binutilsHint,
      maxCaptureBytes: 256 * 1024 * 1024,
      timeoutMs: 120_000,
    });
    if (r.exitCode !== 0)
      throw new LabError(
        'IO',
        `nm could not read ${vmlinux}: ${r.stderr.trim()}`,
        'Pass an uncompressed vmlinux ELF file.',
      );
    table = parseSymbolMap(r.stdout);
  }

  // Raw addresses without a symbol (symbols lost in the paste): look them up in the table.
  if (table) {
    for (const r of reports) {
      const slide = kaslrOffset(r);
      const fill = (f: {
        function: string | null;
        offset: string | null;
        address: string | null;
        module?: string | null;
      }) => {
        if (f.function || !f.address) return;
        const hit = lookupAddress(table, BigInt(f.address) - slide);
        if (hit) {
          f.function = hit.name;
          f.offset = `0x${hit.offset.toString(16)}`;
        }
      };
      fill(r);
      r.callTrace.forEach(fill);
    }
  }

  const builtin: Target[] = [];
  const byModule = new Map<string, Target[]>();
  for (const r of reports) {
    const targets: [Frame | DecodedReport, boolean][] = [
      [r, false],
      ...r.callTrace.map((f): [Frame, boolean] => [f, true]),
    ];
    for (const [f, ret] of targets) {
      if (!f.function || !f.offset) continue;
      const t: Target = {
        function: f.function,
        offset: BigInt(f.offset),
        returnAddress: ret && f.function !== r.function,
        assign: (s) => {
          f.source = s;
        },
      };
      if (f.module) {
        const key = f.module.replace(/-/g, '_');
        byModule.set(key, [...(byModule.get(key) ?? []), t]);
      } else builtin.push(t);
    }
  }

  const noteAll = (note: string) => {
    for (const r of reports) if (!r.notes.includes(note)) r.notes.push(note);
  };

  if (vmlinux && table && builtin.length) {
    const addresses = new Map<Target, bigint>();
    for (const t of builtin) {
      const base = table.byName.get(t.function);
      if (base === undefined) continue;
      addresses.set(t, base + t.offset - (t.returnAddress && t.offset > 0n ? 1n : 0n));
    }
    const unique = [...new Set(addresses.values())];
    if (unique.length) {
      const result = await addr2line(vmlinux, unique, null, signal);
      let resolved = 0;
      for (const [t, a] of addresses) {
        const s = result.get(a);
        if (s?.length) {
          t.assign(s);
          resolved++;
        }
      }
      if (resolved === 0)
        noteAll(
          `${vmlinux} has no line information for these addresses: was it built with CONFIG_DEBUG_INFO, and is it the build that crashed?`,
        );
    }
    const missing = builtin.filter((t) => !table.byName.has(t.function)).map((t) => t.function);
    if (missing.length)
      noteAll(
        `not in this kernel's symbol table: ${[...new Set(missing)].slice(0, 8).join(', ')} — a different build?`,
      );
  } else if (!vmlinux && builtin.length && table) {
    noteAll('System.map alone gives addresses, not source lines: pass --vmlinux for file:line.');
  }

  if (byModule.size) {
    if (!modulesDir)
      noteAll(
        `frames in modules (${[...byModule.keys()].join(', ')}) need --modules DIR with their .ko files`,
      );
    else {
      const files = await findModuleFiles(modulesDir, new Set(byModule.keys()));
      for (const [name, targets] of byModule) {
        const ko = files.get(name);
        if (!ko) {
          noteAll(`${name}.ko was not found under ${modulesDir}`);
          continue;
        }
        const syms = await runCommand(['objdump', '-t', ko], {
          signal,
          installHint: binutilsHint,
          timeoutMs: 60_000,
        });
        const where = new Map<string, { section: string; value: bigint }>();
        for (const line of syms.stdout.split('\n')) {
          const m = /^([0-9a-f]+) .{7} (\S+)\s+[0-9a-f]+\s+(\S+)$/.exec(line);
          if (m && !where.has(m[3]!)) where.set(m[3]!, { section: m[2]!, value: BigInt(`0x${m[1]!}`) });
        }
        const bySection = new Map<string, [Target, bigint][]>();
        for (const t of targets) {
          const s = where.get(t.function);
          if (!s) continue;
          const a = s.value + t.offset - (t.returnAddress && t.offset > 0n ? 1n : 0n);
          bySection.set(s.section, [...(bySection.get(s.section) ?? []), [t, a]]);
        }
        for (const [section, list] of bySection) {
          const result = await addr2line(ko, [...new Set(list.map(([, a]) => a))], section, signal);
          for (const [t, a] of list) {
            const s = result.get(a);
            if (s?.length) t.assign(s);
          }
        }
      }
    }
  }

  // Code: bytes → instructions, addressed at the real RIP when the site resolved.
  for (const r of reports) {
    if (!r.code?.bytes.length) continue;
    let vma: bigint | null = null;
    if (r.code.context === 'kernel' && r.function && r.offset && table?.byName.has(r.function) && !r.module)
      vma = table.byName.get(r.function)! + BigInt(r.offset);
    else if (r.code.context === 'user' && r.userSegfault) vma = BigInt(r.userSegfault.ip);
    else if (r.code.context === 'user' && r.registers.RIP) vma = BigInt(r.registers.RIP);
    const d = await disassembleCode(r.code, r.arch, vma, signal);
    if (d.lines) r.code.disassembly = d.lines;
    if (d.note) r.notes.push(`Code: ${d.note}`);
  }
}
