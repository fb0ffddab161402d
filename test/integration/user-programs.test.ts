// Seed 000's programs compiled by the host's gcc (cached, -g kept), run on the host under gdb to get
// a real fault (ip, and the library mapping holding it), then located from the kernel-style
// segfault line alone: offset, function, source line, faulting instruction.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeText } from '../../electron/lab/analyze/decoder';
import { locateUserFault } from '../../electron/lab/analyze/user-fault';
import type { Progress } from '../../electron/lab/jobs';
import { ProgramBuilder } from '../../electron/lab/image/programs';
import type { BuiltProgram, ProgramSpec } from '../../electron/lab/image/programs';
import { runCommand } from '../../electron/lab/process';
import { Workspace } from '../../electron/lab/workspace';
import { makeTempDir } from '../helpers/temp';
import { copySegfaultLibSources, observeFault, segfaultLibSpecs } from '../helpers/segfault-lib';

// A copy of the recipe's sources, so the test can move them without touching the repo.
let src: string;
const specs = (): ProgramSpec[] => segfaultLibSpecs(src);
const progress: Progress = { report: () => undefined, log: () => undefined };

let root: string;
let builder: ProgramBuilder;
let built: BuiltProgram[];

beforeAll(async () => {
  root = await makeTempDir();
  src = await copySegfaultLibSources(root);
  builder = new ProgramBuilder(await Workspace.open(root));
  built = await builder.build(specs(), progress);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('user programs', () => {
  it('compiles the library and the program linked to it, then hits the cache', async () => {
    expect(built.map((b) => [b.name, b.path, b.cacheHit])).toEqual([
      ['libkdlab.so', '/usr/lib/libkdlab.so', false],
      ['init', '/sbin/init', false],
    ]);
    const init = built[1]!;
    expect((await runCommand(['readelf', '-d', init.file])).stdout).toMatch(/NEEDED.*\[libkdlab\.so\]/);
    // The host libraries it loads, the loader included; the list's own library is not a host file.
    expect(init.libraries.some((l) => l.endsWith('/libc.so.6'))).toBe(true);
    expect(init.libraries.some((l) => /ld-linux-x86-64\.so\.2$/.test(l))).toBe(true);
    expect(init.libraries.some((l) => l.includes('libkdlab'))).toBe(false);
    expect((await runCommand(['readelf', '-S', init.file])).stdout).toMatch(/\.debug_info/);
    const again = await builder.build(specs(), progress);
    expect(again.map((b) => [b.file, b.cacheHit])).toEqual(built.map((b) => [b.file, true]));
  });

  it('reports a compile error with the file and line, and caches nothing', async () => {
    const bad = join(root, 'bad.c');
    await writeFile(bad, 'int main(void)\n{\n\treturn missing;\n}\n');
    const broken = [{ ...specs()[1]!, name: 'bad', sources: [bad], link: [] }];
    await expect(builder.build(broken, progress)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        /gcc could not build bad:\n.*bad\.c:3:\d+: error: .missing. undeclared/,
      ) as unknown,
    });
    await expect(builder.build(broken, progress)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('locates a real fault of the program from the kernel-style segfault line', async () => {
    const [lib, init] = built;
    const fault = await observeFault(
      (argv, env) => runCommand(argv, { env: { ...process.env, ...env }, timeoutMs: 60_000 }),
      lib!.file,
      init!.file,
    );
    const segfault = decodeText(fault.line)[0]!.userSegfault!;
    const located = await locateUserFault(segfault, lib!.file);
    // Sources moved since compiling (a lab pack): the line is read from the file of the same name.
    const moved = join(root, 'moved');
    await mkdir(moved);
    await rename(join(src, 'libkdlab.c'), join(moved, 'libkdlab.c'));
    expect((await locateUserFault(segfault, lib!.file)).sourceText).toBeNull();
    const again = await locateUserFault(segfault, lib!.file, { sources: [join(moved, 'libkdlab.c')] });
    expect(again.sourceText).toBe('if (g_dbg_zone->flags & 2)');
    expect(located.offset).toBe(`0x${(BigInt(fault.pc) - BigInt(fault.base)).toString(16)}`);
    expect(located).toMatchObject({
      object: 'libkdlab.so',
      faultAddress: '0x18',
      function: 'kdlab_print_err_msg',
      sourceFile: join(src, 'libkdlab.c'),
      sourceText: 'if (g_dbg_zone->flags & 2)',
    });
    // gdb's own answer for the line agrees with addr2line's.
    expect(fault.gdbOutput).toContain(`libkdlab.c:${located.line}`);
    expect(located.instruction).toMatch(/0x18\(%r\w+\)/);
    expect(located.disassembly).toMatch(new RegExp(`^=> ${located.address.slice(2)}:`, 'm'));
  });
});
