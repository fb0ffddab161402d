// The recipe engine's correctness: checks on facts a run lacks, fact paths checked at load time, a
// catalog with one bad recipe, function answers compared as engineers write them, the crash report
// as facts (from the analyzer's parsers on real crash output), and gdb's answers about a fault.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/main';
import { parseBacktrace, parseLog, summarize } from '../../electron/lab/analyze/crash/parsers';
import type { CrashReport } from '../../electron/lab/analyze/crash/types';
import { memberAt, parseInfoLine } from '../../electron/lab/recipes/fault-source';
import {
  factPathProblem,
  faultOf,
  missingFact,
  parseSymbol,
  reportFacts,
  sameSymbol,
} from '../../electron/lab/recipes/recipe-facts';
import { RecipeCatalog, parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import { evaluateCheck, factAt, sameAnswer } from '../../electron/lab/recipes/recipe-runner';
import { appRoot } from '../helpers/build';
import { withTempDir } from '../helpers/temp';

const head = `id: demo
title: { en: Demo, zh-CN: 演示 }
level: beginner
minutes: 5
objectives: [{ en: Learn, zh-CN: 学习 }]
steps:
`;
const step = (body: string) =>
  `  - ${body.trim().replace(/\n/g, '\n    ')}\n    title: { en: T, zh-CN: 标题 }\n    explain: { en: E, zh-CN: 解释 }\n`;
const loadError = (text: string) => {
  try {
    parseRecipe(text, '/r/demo/recipe.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  return '';
};

describe('a check on a fact the run does not have', () => {
  const facts = { answers: {}, console: 'Run /init', decoded: { kind: 'oops', callTrace: [] }, report: null };

  it('fails the check, naming the missing fact and what the run has, instead of crashing the run', () => {
    const equals = evaluateCheck({ fact: 'vmcore.meta.panic', equals: 'sysrq triggered crash' }, facts, '');
    expect(equals).toMatchObject({
      ok: false,
      detail: 'vmcore.meta.panic: the run has no vmcore (the run has: answers, console, decoded, report)',
    });
    expect(evaluateCheck({ fact: 'decoded.function', matches: '.' }, facts, '')).toMatchObject({
      ok: false,
      detail: 'decoded.function: the run has no decoded.function (decoded has: kind, callTrace)',
    });
    expect(evaluateCheck({ fact: 'decoded.callTrace[0].function', equals: 'x' }, facts, '').detail).toBe(
      'decoded.callTrace[0].function: the run has no decoded.callTrace[0] (decoded.callTrace has: 0 items)',
    );
    expect(evaluateCheck({ fact: 'report.fault.function', equals: 'x' }, facts, '')).toMatchObject({
      ok: false,
      detail: 'report.fault.function: report is null in this run',
    });
    // null is a value a check may expect.
    expect(evaluateCheck({ fact: 'report', equals: null }, facts, '').ok).toBe(true);
    expect(missingFact(facts, 'console.length')).toBe(
      'console.length: console is "Run /init", it has no length',
    );
  });
});

describe('fact paths checked when a recipe loads', () => {
  it('reports a typo, a fact no step before makes, and a wrong index as FILE:LINE:COL errors', () => {
    const capture = step(
      'id: capture\ndo: capture\ntrigger: sysrq\nexpect:\n  - { fact: vmcore.meta.panc, equals: x }',
    );
    expect(loadError(head + capture)).toMatch(
      /^\/r\/demo\/recipe\.yaml:11:\d+: steps\.0\.expect\.0\.fact: vmcore\.meta\.panc: vmcore\.meta has no panc \(it has: id, kernelRelease, .*panic/m,
    );
    const early = step(
      'id: q\ndo: question\nask: { en: Q, zh-CN: 问 }\nanswer: { fact: report.fault.function }',
    );
    expect(loadError(head + early)).toMatch(
      /^\/r\/demo\/recipe\.yaml:\d+:\d+: steps\.0\.answer\.fact: report\.fault\.function: no step up to this one makes report \(a analyze step does\)$/m,
    );
    const analyze = step('id: analyze\ndo: analyze\nstruct: kdlab_dev');
    const index = step(
      'id: q\ndo: question\nask: { en: Q, zh-CN: 问 }\nanswer: { fact: report.backtrace.function }',
    );
    expect(loadError(head + analyze + index)).toMatch(
      /steps\.1\.answer\.fact: report\.backtrace\.function: report\.backtrace is a list: index it as report\.backtrace\[0\]/,
    );
    expect(
      loadError(
        head + step('id: c\ndo: crash\ncommands: [bt]\nexpect:\n  - { fact: crsh.output, matches: x }'),
      ),
    ).toMatch(/steps\.0\.expect\.0\.fact: crsh\.output: no step makes a fact crsh/);
    // The right paths load, the analyze step with its struct.
    const good = step(
      'id: q\ndo: question\nask: { en: Q, zh-CN: 问 }\nanswer: { fact: "report.backtrace[0].exception.function" }',
    );
    expect(parseRecipe(head + analyze + good, '/r/demo/recipe.yaml').steps[0]).toMatchObject({
      do: 'analyze',
      struct: 'kdlab_dev',
    });
    expect(factPathProblem('decoded.registers.RIP', new Set(['decoded']))).toBeNull();
    expect(factPathProblem('console.x', new Set(['console']))).toBe(
      'console.x: console is a plain value, it has no x',
    );
  });
});

describe('a catalog with one bad recipe', () => {
  it('lists the good ones and reports the bad one with FILE:LINE:COL, in the CLI too', async () => {
    await withTempDir(async (home) => {
      const root = join(home, 'recipes');
      await mkdir(join(root, 'broken'), { recursive: true });
      await writeFile(
        join(root, 'broken', 'recipe.yaml'),
        head.replace('id: demo', 'id: broken') +
          step('id: b\ndo: boot\nexpect:\n  - { fact: decoded.kind, equals: oops }'),
      );
      // Every shipped recipe loads (their fact paths included).
      expect((await new RecipeCatalog([join(appRoot, 'recipes')]).scan()).problems).toEqual([]);
      const { recipes, problems } = await new RecipeCatalog([root, join(appRoot, 'recipes')]).scan();
      expect(recipes.map((r) => r.recipe.id)).toContain('sysrq-kdump');
      expect(problems).toEqual([
        {
          id: 'broken',
          file: join(root, 'broken', 'recipe.yaml'),
          message: expect.stringMatching(
            /^.*broken\/recipe\.yaml:\d+:\d+: steps\.0\.expect\.0\.fact: decoded\.kind: no step up to this one makes decoded \(a decode step does\)$/,
          ) as string,
          hint: 'See recipes/README.md for the recipe format.',
        },
      ]);

      let stdout = '';
      let stderr = '';
      const stream = (add: (s: string) => void) =>
        ({ write: (s: string) => (add(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
      const code = await main(['recipes', 'list'], {
        appRoot,
        stdout: stream((s) => (stdout += s)),
        stderr: stream((s) => (stderr += s)),
        env: { KDLAB_HOME: home },
      });
      expect(code).toBe(1);
      expect(stdout).toMatch(/^\s*\d+\. sysrq-kdump\s+intermediate/m);
      expect(stdout).not.toContain('broken');
      expect(stderr).toMatch(
        /^broken: not listed, its recipe does not load:\n.*broken\/recipe\.yaml:\d+:\d+: steps\.0\.expect/m,
      );
    });
  }, 60_000);
});

describe('function answers', () => {
  it('reads symbols the ways kernel engineers write them', () => {
    expect(parseSymbol('kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]')).toEqual({
      name: 'kdlab_null_deref_init',
      offset: 0x1b,
      module: 'kdlab_null_deref',
    });
    expect(parseSymbol('_MODULE_INIT_START_kdlab_null_deref+27')).toEqual({
      name: '_MODULE_INIT_START_kdlab_null_deref',
      offset: 27,
      module: null,
    });
    expect(parseSymbol('kdlab_spin_forever()')).toMatchObject({ name: 'kdlab_spin_forever', offset: null });
    expect(parseSymbol('sysrq triggered crash')).toBeNull();
  });

  it('takes f, f+0x1b, f+0x1b/0x1000, f+27 and crash’s _MODULE_INIT_START_<mod>+27 as the same place', () => {
    const rip = 'kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]';
    for (const given of [
      'kdlab_null_deref_init',
      'kdlab_null_deref_init+0x1b',
      'kdlab_null_deref_init+0x1b/0x1000',
      'kdlab_null_deref_init+27',
      ' kdlab_null_deref_init() ',
      '_MODULE_INIT_START_kdlab_null_deref+27',
      '_MODULE_INIT_START_kdlab_null_deref+0x1b',
    ])
      expect([given, sameAnswer(given, rip)]).toEqual([given, true]);
    for (const given of [
      'kdlab_null_deref_init+0x1c',
      'kdlab_read_flags',
      '_MODULE_INIT_START_kdlab_null_deref+26',
      '_MODULE_INIT_START_kdlab_null_deref',
      '_MODULE_INIT_START_other_module+27',
      'do_init_module',
    ])
      expect([given, sameAnswer(given, rip)]).toEqual([given, false]);
    // Either side may be crash's name.
    expect(
      sameSymbol(
        parseSymbol('kdlab_null_deref_init+0x1b')!,
        parseSymbol('_MODULE_INIT_START_kdlab_null_deref+27')!,
      ),
    ).toBe(true);
    // Numbers and words keep their rules.
    expect(sameAnswer('0x10', '0x0000000000000010')).toBe(true);
    expect(sameAnswer('16', '0x0000000000000010')).toBe(true);
    expect(sameAnswer('Flags', 'flags')).toBe(true);
    expect(sameAnswer('id', 'flags')).toBe(false);
  });
});

const fixture = (name: string) => readFile(join(appRoot, 'test/fixtures/crash-output', name), 'utf8');
async function reportFrom(prefix: 'null' | 'sysrq'): Promise<CrashReport> {
  const [sys, bt, log] = await Promise.all([
    fixture(`${prefix}-sys.txt`),
    fixture(`${prefix}-bt_l.txt`),
    fixture(`${prefix}-log_m.txt`),
  ]);
  const backtrace = parseBacktrace(bt);
  const lines = parseLog(log);
  return {
    vmcore: '/v/vmcore',
    vmlinux: '/v/vmlinux',
    crashVersion: '8.0.2',
    createdAt: '2026-11-23T00:00:00.000Z',
    summary: summarize(sys, backtrace, lines),
    backtrace,
    cpus: [],
    log: lines,
    processes: [],
    modules: [],
    disassembly: null,
    raw: { sys },
    warnings: [],
  };
}

describe('the crash report as facts', () => {
  it('gives the module Oops its faulting RIP, function, module and fault address, frames indexable', async () => {
    const report = await reportFrom('null');
    expect(report.summary.headline).toMatch(/^BUG: kernel NULL pointer dereference/);
    const fault = faultOf(report);
    expect(fault).toMatchObject({
      function: 'kdlab_null_deref_init',
      offset: '0x1b',
      module: 'kdlab_null_deref',
      rip: 'kdlab_null_deref_init+0x1b/0x1000 [kdlab_null_deref]',
    });
    expect(parseInt(fault!.address!, 16)).toBe(0x10);
    const facts = { report: reportFacts(report, fault) };
    expect(factAt(facts, 'report.backtrace[0].function')).toBe('machine_kexec');
    expect(factAt(facts, 'report.backtrace[10].exception.rip')).toBe(
      '_MODULE_INIT_START_kdlab_null_deref+27',
    );
    expect(factAt(facts, 'report.task.command')).toBe('insmod');
    expect(factAt(facts, 'report.raw')).toBeUndefined();
    // crash's name for the place is a right answer to the log's.
    expect(
      sameAnswer(
        String(factAt(facts, 'report.backtrace[10].exception.rip')),
        factAt(facts, 'report.fault.rip'),
      ),
    ).toBe(true);
  });

  it('has no fault for a sysrq crash (panic is called on purpose)', async () => {
    const report = await reportFrom('sysrq');
    expect(faultOf(report)).toBeNull();
    expect(factAt({ report: reportFacts(report, null) }, 'report.backtrace[3].function')).toBe(
      '__handle_sysrq',
    );
  });
});

describe("gdb's answers about a fault", () => {
  it('reads info line and the member at an offset from ptype /o', () => {
    expect(
      parseInfoLine(
        'Line 26 of "/tmp/module-1df0/kdlab_null_deref.c" starts at address 0x6e <kdlab_null_deref_init+23> and ends at 0x7a <kdlab_null_deref_init+35>.\n',
      ),
    ).toEqual({ file: '/tmp/module-1df0/kdlab_null_deref.c', line: 26 });
    expect(parseInfoLine('No line number information available for address 0x1b')).toBeNull();
    const ptype = `/* offset      |    size */  type = struct kdlab_dev {
/*      0      |       8 */    const char *name;
/*      8      |       8 */    unsigned long id;
/*     16      |      16 */    struct {
/*     16      |       4 */        unsigned int inner;
/* XXX  4-byte hole      */
/*     24      |       8 */        void *p;
                               } nested;
/*     32      |       4 */    unsigned int flags;
/*     36      |      12 */    char tag[12];

                               /* total size (bytes):   48 */
                             }
`;
    expect(memberAt(ptype, 0)).toMatchObject({ name: 'name', declaration: 'const char *name' });
    expect(memberAt(ptype, 32)).toEqual({
      name: 'flags',
      offset: 32,
      size: 4,
      declaration: 'unsigned int flags',
    });
    expect(memberAt(ptype, 16)).toMatchObject({ name: 'nested', size: 16 });
    expect(memberAt(ptype, 24)).toMatchObject({ name: 'nested' });
    expect(memberAt(ptype, 40)).toMatchObject({ name: 'tag' });
    expect(memberAt(ptype, 64)).toBeNull();
  });
});
