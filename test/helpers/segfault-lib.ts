// Recipe 8's programs (libkdlab.so and the init linked to it) as ProgramSpecs over a private copy of
// the recipe's sources, so a test can compile, move or break them without touching the repo.
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProgramSpec } from '../../electron/lab/image/programs';
import { appRoot } from './build';

/** Copies recipes/init-segfault-lib/src to `<root>/src` and returns that folder. */
export async function copySegfaultLibSources(root: string): Promise<string> {
  const src = join(root, 'src');
  await cp(join(appRoot, 'recipes', 'init-segfault-lib', 'src'), src, { recursive: true });
  return src;
}

export const segfaultLibSpecs = (src: string): ProgramSpec[] => [
  {
    name: 'libkdlab.so',
    kind: 'shared',
    sources: [join(src, 'libkdlab.c')],
    link: [],
    cflags: ['-O1'],
    path: '/usr/lib/libkdlab.so',
  },
  {
    name: 'init',
    kind: 'executable',
    sources: [join(src, 'init.c')],
    link: ['libkdlab.so'],
    cflags: ['-O1'],
    path: '/sbin/init',
  },
];

/** What running init under gdb showed, and the segfault line the kernel would print for it. */
export interface ObservedFault {
  gdbOutput: string;
  pc: string;
  /** Start of libkdlab.so's r-xp mapping. */
  base: string;
  line: string;
}

/**
 * Runs `init` (linked to `lib`) under gdb with `run` — on the host or in a container — and turns
 * its pc, sp and the library's r-xp mapping into the line the kernel prints: `[start+size]`.
 */
export async function observeFault(
  run: (argv: string[], env: Record<string, string>) => Promise<{ stdout: string }>,
  lib: string,
  init: string,
): Promise<ObservedFault> {
  const ex = ['run', 'p/x $pc', 'p/x $sp', 'info proc mappings'].flatMap((c) => ['-ex', c]);
  const { stdout } = await run(['gdb', '-q', '-batch', ...ex, init], { LD_LIBRARY_PATH: dirname(lib) });
  if (!/SIGSEGV/.test(stdout)) throw new Error(`init did not fault under gdb:\n${stdout}`);
  const pc = /^\$1 = (0x[0-9a-f]+)$/m.exec(stdout)![1]!;
  const sp = /^\$2 = (0x[0-9a-f]+)$/m.exec(stdout)![1]!;
  const mapping = new RegExp(
    `^\\s*(0x[0-9a-f]+)\\s+0x[0-9a-f]+\\s+(0x[0-9a-f]+)\\s+0x[0-9a-f]+\\s+r-xp\\s+${lib}$`,
    'm',
  ).exec(stdout)!;
  const hex = (v: string) => BigInt(v).toString(16);
  const line = `init[1]: segfault at 18 ip ${hex(pc).padStart(16, '0')} sp ${hex(sp).padStart(16, '0')} error 4 in libkdlab.so[${hex(mapping[1]!)}+${hex(mapping[2]!)}] likely on CPU 0 (core 0, socket 0)\n`;
  return { gdbOutput: stdout, pc, base: mapping[1]!, line };
}
