// Recipe 8's programs (libkdlab.so and the init linked to it) as ProgramSpecs over a private copy of
// the recipe's sources, so a test can compile, move or break them without touching the repo.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
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
