// What kdlab recipes list|show and kdlab run print: Markdown for a terminal, lab order, --lang, and
// the NDJSON events of --json — on the shipped recipes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliLanguage } from '../../electron/common/local-text';
import { markdownToTerminal, parseMarkdown } from '../../electron/common/markdown';
import {
  ndjson,
  recipeListText,
  recipeShowText,
  stepIntroText,
  stepResultEvent,
  summaryEvent,
} from '../../electron/cli/recipe-text';
import { RecipeCatalog } from '../../electron/lab/recipes/recipe-loader';
import { parseGdbBacktrace, parseMiB } from '../../electron/lab/recipes/recipe-runner';
import type { RecipeRunState } from '../../electron/lab/recipes/recipe-state';
import { appRoot } from '../helpers/build';

const shipped = (await new RecipeCatalog([join(appRoot, 'recipes')]).list()).map((l) => l.recipe);
const byId = (id: string) => shipped.find((r) => r.id === id)!;
const esc = '\x1b[';

const sample = [
  '### How the kernel picks init',
  '',
  'It tries `/init` first, then **root=**;',
  'see *init/main.c*.',
  '',
  '- `rdinit=` replaces /init',
  '- a missing file calls `prepare_namespace()`',
  '',
  '1. one',
  '2. two',
  '',
  '```',
  'Run /bin/sh as init process',
  '```',
].join('\n');

describe('Markdown for a terminal', () => {
  it('parses headings, paragraphs, lists, code blocks and code spans', () => {
    expect(parseMarkdown(sample).map((b) => b.kind)).toEqual([
      'heading',
      'paragraph',
      'list',
      'list',
      'code',
    ]);
    const para = parseMarkdown(sample)[1]!;
    expect(para).toEqual({
      kind: 'paragraph',
      inlines: [
        { kind: 'text', text: 'It tries ' },
        { kind: 'code', text: '/init' },
        { kind: 'text', text: ' first, then ' },
        { kind: 'strong', text: 'root=' },
        { kind: 'text', text: '; see ' },
        { kind: 'em', text: 'init/main.c' },
        { kind: 'text', text: '.' },
      ],
    });
    // Kernel names keep their underscores: no emphasis from `_`.
    expect(parseMarkdown('ramdisk_execute_command and prepare_namespace')[0]).toEqual({
      kind: 'paragraph',
      inlines: [{ kind: 'text', text: 'ramdisk_execute_command and prepare_namespace' }],
    });
  });

  it('is plain text without colour (a pipe): code spans keep their backticks', () => {
    expect(markdownToTerminal(sample, { color: false, indent: '  ' })).toBe(
      [
        '  How the kernel picks init',
        '',
        '  It tries `/init` first, then root=; see init/main.c.',
        '',
        '    • `rdinit=` replaces /init',
        '    • a missing file calls `prepare_namespace()`',
        '',
        '    1. one',
        '    2. two',
        '',
        '      Run /bin/sh as init process',
      ].join('\n'),
    );
  });

  it('uses bold/underline headings and cyan code on a terminal', () => {
    const out = markdownToTerminal(sample, { color: true });
    expect(out).toContain(`${esc}1m${esc}4mHow the kernel picks init${esc}24m${esc}22m`);
    expect(out).toContain(`${esc}36m/init${esc}39m`);
    expect(out).toContain(`${esc}1mroot=${esc}22m`);
    expect(out).toContain(`    ${esc}36mRun /bin/sh as init process${esc}39m`);
    expect(out).not.toContain('`');
  });
});

describe('kdlab recipes list', () => {
  it('lists the ten shipped labs in the issue order, with level and minutes', () => {
    const lines = recipeListText(shipped, 'en').split('\n');
    expect(lines.map((l) => l.trim().split(/\s+/)[1])).toEqual([
      'boot-shell',
      'kill-init',
      'forget-init',
      'init-exit-127',
      'sysrq-kdump',
      'null-deref-module',
      'gdb-boot',
      'init-segfault-lib',
      'soft-lockup-panic',
      'crashkernel-too-small',
    ]);
    expect(lines[0]).toMatch(/^ 1\. boot-shell +beginner +10 min +Boot/);
    expect(lines[9]).toMatch(/^10\. crashkernel-too-small +intermediate +15 min/);
  });

  it('puts recipes without an order (a teacher’s own) last, by id', () => {
    const extra = { ...byId('boot-shell'), id: 'aaa-teacher', order: undefined };
    expect(
      recipeListText([extra, ...shipped], 'en')
        .split('\n')
        .at(-1),
    ).toContain('aaa-teacher');
  });

  it('speaks Chinese with --lang zh-CN', () => {
    const first = recipeListText(shipped, 'zh-CN').split('\n')[0]!;
    expect(first).toContain('入门');
    expect(first).toContain('分钟');
    expect(first).toContain(byId('boot-shell').title['zh-CN']);
  });
});

describe('--lang', () => {
  it('takes the flag, else a Chinese LC_ALL/LANG, else English', () => {
    expect(cliLanguage('zh-CN', { LANG: 'en_US.UTF-8' })).toBe('zh-CN');
    expect(cliLanguage('en', { LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(cliLanguage(undefined, { LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(cliLanguage(undefined, { LC_ALL: 'zh_TW.UTF-8', LANG: 'en_US.UTF-8' })).toBe('zh-CN');
    expect(cliLanguage(undefined, { LANG: 'C.UTF-8' })).toBe('en');
    expect(() => cliLanguage('fr', {})).toThrow(/Unknown language/);
  });
});

describe('kdlab recipes show', () => {
  it('lists each step with its rendered explanation, its checks and its question, in the language asked', () => {
    const recipe = byId('crashkernel-too-small');
    const en = recipeShowText(recipe, 'en', false);
    expect(en).toContain(' 1. Try with crashkernel=8M (capture)');
    expect(en).toContain('\n        Could not find a free area of memory of 0x… bytes...\n');
    expect(en).toContain(
      '    checks:\n      - console ~ /Reserving 8MB of memory at \\d+MB for crashkernel/',
    );
    expect(en).toContain('    question: With which crashkernel= size');
    const zh = recipeShowText(recipe, 'zh-CN', false);
    expect(zh).toContain('问题: 你要用多大的 crashkernel= 启动客户机');
    expect(zh).toContain('检查:');
    expect(zh).not.toContain('Try with crashkernel=8M');
  });
});

describe('kdlab run', () => {
  it('prints a step’s explanation before it, Markdown rendered, in the chosen language', () => {
    const recipe = byId('forget-init');
    const step = recipe.steps.find((s) => s.id === 'rdinit')!;
    const i = recipe.steps.indexOf(step);
    const en = stepIntroText(step, i, recipe.steps.length, 'en', false);
    expect(en).toContain(`Step ${i + 1}/${recipe.steps.length} · Boot the same image with rdinit=/bin/sh`);
    expect(en).toContain('  How the kernel picks its first program (init/main.c, 6.1)');
    expect(en).toContain('    • `ramdisk_execute_command` starts as `"/init"`');
    expect(en).not.toMatch(/^#/m);
    const zh = stepIntroText(step, i, recipe.steps.length, 'zh-CN', true);
    expect(zh).toContain(`步骤 ${i + 1}/${recipe.steps.length}`);
    expect(zh).toContain(`${esc}36mprepare_namespace()${esc}39m`);
  });

  it('emits one JSON object per line: step results without the expected answer, then a summary', () => {
    const state: RecipeRunState = {
      recipeId: 'init-exit-127',
      startedAt: '2026-11-23T00:00:00.000Z',
      updatedAt: '2026-11-23T00:01:00.000Z',
      finished: false,
      steps: [
        {
          id: 'status',
          do: 'question',
          status: 'failed',
          checks: [],
          answer: { given: '0', expected: '127', ok: false, answeredBy: 'student' },
          startedAt: '2026-11-23T00:00:30.000Z',
          finishedAt: '2026-11-23T00:00:40.000Z',
        },
      ],
      artifacts: {},
      facts: { console: 'a long console' },
    };
    const lines = [
      ndjson({
        event: 'step-started',
        recipe: 'init-exit-127',
        step: 'status',
        index: 2,
        total: 3,
        do: 'question',
        title: 'The exit status',
      }),
      ndjson({ event: 'progress', recipe: 'init-exit-127', step: 'status', fraction: 0.7, message: 'x' }),
      ndjson(stepResultEvent('init-exit-127', 2, state.steps[0]!)),
      ndjson(summaryEvent(state, 3, '/tmp/r.json')),
    ].join('');
    const events = lines
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['step-started', 'progress', 'step-failed', 'summary']);
    expect(events[2]).toEqual({
      event: 'step-failed',
      recipe: 'init-exit-127',
      step: 'status',
      index: 2,
      checks: [],
      answer: { given: '0', ok: false },
    });
    expect(events[3]).toMatchObject({ finished: false, passed: 0, total: 3, report: '/tmp/r.json' });
    expect((events[3]!.state as Record<string, unknown>).facts).toBeUndefined();
  });
});

describe('facts read from a run', () => {
  it('reads gdb backtrace frames (as gdb 13 prints them at start_kernel)', () => {
    const bt = [
      '#0  start_kernel () at /src/init/main.c:914',
      '#1  0xffffffff81b05480 in x86_64_start_reservations (real_mode_data=real_mode_data@entry=0x13bd0 <exception_stacks+31696> <error: Cannot access memory at address 0x13bd0>) at /src/arch/x86/kernel/head64.c:555',
      '#2  0xffffffff81b0553d in x86_64_start_kernel (real_mode_data=0x13bd0) at /src/arch/x86/kernel/head64.c:536',
      '#3  0xffffffff81000144 in secondary_startup_64 () at /src/arch/x86/kernel/head_64.S:358',
      '#4  0x0000000000000000 in ?? ()',
    ].join('\n');
    expect(parseGdbBacktrace(bt).map((f) => f.function)).toEqual([
      'start_kernel',
      'x86_64_start_reservations',
      'x86_64_start_kernel',
      'secondary_startup_64',
    ]);
    expect(parseGdbBacktrace(bt)[1]!.location).toBe('/src/arch/x86/kernel/head64.c:555');
  });

  it('reads sizes in MiB as students write them', () => {
    expect(['96', '128M', '128 MiB', '1G', '160mb'].map(parseMiB)).toEqual([96, 128, 128, 1024, 160]);
    expect(parseMiB('lots')).toBeNull();
  });
});
