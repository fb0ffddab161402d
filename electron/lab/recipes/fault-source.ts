// The source line of a kernel fault and the struct member at its fault address, read from the debug
// info of the faulting object — the module's .ko the recipe built, or vmlinux — with gdb, where the
// run's executor runs (the host, or the lab container in Docker mode).
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Executor } from '../exec/executor';
import type { FaultFacts } from './recipe-facts';

/** gdb's `info line *ADDR`: `Line 26 of "/…/kdlab_null_deref.c" starts at address …`. */
export function parseInfoLine(output: string): { file: string; line: number } | null {
  const m = /^Line (\d+) of "([^"]+)"/m.exec(output);
  return m ? { file: m[2]!, line: Number(m[1]) } : null;
}

/**
 * gdb's `ptype /o struct S`: the top-level member at `offset` (the one that starts there, else the one
 * that covers it), e.g. `{ name: 'flags', offset: 16, size: 4, declaration: 'unsigned int flags' }`.
 */
export function memberAt(
  ptype: string,
  offset: number,
): { name: string; offset: number; size: number; declaration: string } | null {
  type Member = { name: string; offset: number; size: number; declaration: string };
  const members: Member[] = [];
  let depth = 0;
  // A nested struct or union member opens with `struct {` and is named on its closing line.
  let open: Omit<Member, 'name'> | null = null;
  for (const line of ptype.split('\n')) {
    const m = /^\/\*\s+(\d+)(?::\s*\d+)?\s*\|\s*(\d+)\s*\*\/\s*(.*)$/.exec(line.trim());
    const body = m ? m[3]! : line.replace(/^\s*\/\*.*?\*\//, '').trim();
    const before = depth;
    depth += (body.match(/\{/g) ?? []).length - (body.match(/\}/g) ?? []).length;
    if (m && before === 1 && depth > 1) {
      open = { offset: Number(m[1]), size: Number(m[2]), declaration: body.replace(/\{\s*$/, '').trim() };
    } else if (m && before === 1) {
      const declaration = body.replace(/;\s*$/, '').trim();
      const name = /([A-Za-z_]\w*)\s*(?:\[[^\]]*\])*\s*(?::\s*\d+)?$/.exec(declaration)?.[1];
      if (name) members.push({ name, offset: Number(m[1]), size: Number(m[2]), declaration });
    } else if (open && depth === 1) {
      const name = /^\}\s*([A-Za-z_]\w*)/.exec(body)?.[1];
      if (name) members.push({ ...open, name, declaration: `${open.declaration} { … } ${name}` });
      open = null;
    }
  }
  return (
    members.find((x) => x.offset === offset) ??
    members.find((x) => x.offset <= offset && offset < x.offset + x.size) ??
    null
  );
}

/** Fills `sourceFile`, `line`, `sourceText` and (with `struct`) `member` of a fault, where it can. */
export async function locateKernelFault(
  fault: FaultFacts,
  input: {
    /** The recipe's built modules (.ko), with the folder each was built from. */
    modules: Map<string, string>;
    vmlinux: string;
    struct?: string | undefined;
    executor: Executor;
    signal?: AbortSignal;
  },
): Promise<FaultFacts> {
  const ko = [...input.modules.keys()].find(
    (k) => basename(k, '.ko').replace(/-/g, '_') === fault.module?.replace(/-/g, '_'),
  );
  // A fault in a module the recipe did not build: no debug info to read here.
  const object = fault.module ? ko : input.vmlinux;
  if (!object) return fault;
  const commands: string[] = [];
  // Names and offsets come from the kernel's log: only plain symbols go into a gdb expression.
  if (/^[A-Za-z_][\w.]*$/.test(fault.function) && fault.offset !== null)
    commands.push(`info line *(${fault.function}+${fault.offset})`);
  if (input.struct) commands.push(`ptype /o struct ${input.struct}`);
  if (commands.length === 0) return fault;
  const r = await input.executor.run(
    ['gdb', '-batch', '-nx', ...commands.flatMap((c) => ['-ex', c]), object],
    {
      timeoutMs: 120_000,
      inputs: [object],
      ...(input.signal ? { signal: input.signal } : {}),
      installHint: 'apt-get install -y gdb',
    },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  const where = parseInfoLine(out);
  const located: FaultFacts = { ...fault };
  if (where) {
    located.sourceFile = where.file;
    located.line = where.line;
    // The module was compiled in a temporary folder: read the line from the folder it came from.
    const folder = ko ? input.modules.get(ko) : undefined;
    const candidates = [where.file, ...(folder ? [join(folder, basename(where.file))] : [])];
    for (const file of candidates) {
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text !== null) {
        located.sourceText = text.split('\n')[where.line - 1]?.trim() ?? null;
        break;
      }
    }
  }
  const address = fault.address === null ? NaN : parseInt(fault.address, 16);
  if (input.struct && Number.isFinite(address)) {
    const ptype = out.slice(out.indexOf('type = struct'));
    const member = out.includes('type = struct') ? memberAt(ptype, address) : null;
    if (member) located.member = { struct: input.struct, ...member };
  }
  return located;
}
