import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecipeCatalog, parseRecipe, recipeFile } from '../../electron/lab/recipes/recipe-loader';
import { evaluateCheck, factAt, sameAnswer } from '../../electron/lab/recipes/recipe-runner';
import { renderInit, renderSysctls } from '../../electron/lab/image/init-templates';
import { appRoot } from '../helpers/build';

const minimal = (extra = '') => `id: demo
title: { en: Demo, zh-CN: 演示 }
level: beginner
minutes: 5
objectives: [{ en: Learn, zh-CN: 学习 }]
${extra}steps:
  - id: boot
    do: boot
    title: { en: Boot, zh-CN: 启动 }
    explain: { en: Boot it, zh-CN: 启动它 }
`;

describe('recipe format', () => {
  it('ships valid recipes, each bilingual, with unique ids', async () => {
    const all = await new RecipeCatalog([join(appRoot, 'recipes')]).list();
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const { recipe, dir } of all) {
      expect(dir.endsWith(`/${recipe.id}`)).toBe(true);
      for (const step of recipe.steps) expect(step.explain['zh-CN'].length).toBeGreaterThan(0);
    }
  });

  it('fills defaults for kernel, image and VM', () => {
    const recipe = parseRecipe(minimal(), '/r/demo/recipe.yaml');
    expect(recipe.kernel.fragments).toContain('kdump');
    expect(recipe.kernel.source).toBe('debian');
    expect(recipe.image).toEqual({ init: 'shell', omitInit: false, format: 'initramfs', extraMiB: 0 });
    expect(recipe.vm).toMatchObject({ memoryMiB: 512, cpus: 1 });
    expect(recipe.steps[0]).toMatchObject({ until: 'KDLAB-INIT-READY', timeout: 90, expect: [] });
  });

  it('reports schema errors with file, line and column, never a stack trace', () => {
    const bad = minimal('vm: { memoryMiB: 64 }\nmodules: ["../../etc"]\n');
    let message = '';
    try {
      parseRecipe(bad, '/r/demo/recipe.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^\/r\/demo\/recipe\.yaml:6:\d+: vm\.memoryMiB: /m);
    expect(message).toMatch(/^\/r\/demo\/recipe\.yaml:7:\d+: modules\.0: /m);
    expect(() => parseRecipe(minimal().replace('do: boot', 'do: reboot'), '/r/demo/recipe.yaml')).toThrow(
      /^\/r\/demo\/recipe\.yaml:8:9: steps\.0\.do: Invalid discriminator value/,
    );
    expect(() => parseRecipe('id: [', '/x.yaml')).toThrow(/^\/x\.yaml:1:\d+: /);
    expect(() =>
      parseRecipe(
        minimal().replace(
          'steps:\n',
          'steps:\n  - { id: boot, do: send, text: x, title: { en: a, zh-CN: b }, explain: { en: a, zh-CN: b } }\n',
        ),
        '/x.yaml',
      ),
    ).toThrow(/duplicate step id boot/);
  });

  it('refuses recipe files that resolve outside the recipe folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kdlab-recipe-'));
    const dir = join(root, 'demo');
    await mkdir(dir);
    await writeFile(join(root, 'secret.sh'), '#!/bin/sh\n');
    await symlink('../secret.sh', join(dir, 'init.sh'));
    const loaded = {
      recipe: parseRecipe(minimal(), join(dir, 'recipe.yaml')),
      dir,
      file: join(dir, 'recipe.yaml'),
    };
    await expect(recipeFile(loaded, 'init.sh')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(recipeFile(loaded, 'missing.sh')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(() => parseRecipe(minimal('image: { init: { script: ../secret.sh } }\n'), '/x.yaml')).toThrow(
      /image\.init/,
    );
  });
});

describe('programs, sysctls and the segfault step', () => {
  const programs = `programs:
  - name: libkdlab.so
    kind: shared
    sources: [src/libkdlab.c]
    path: /usr/lib/libkdlab.so
  - name: init
    sources: [src/init.c]
    link: [libkdlab.so]
    cflags: [-O1]
    path: /sbin/init
`;

  it('reads programs with their defaults', () => {
    const recipe = parseRecipe(minimal(programs), '/r/demo/recipe.yaml');
    expect(recipe.programs).toEqual([
      {
        name: 'libkdlab.so',
        kind: 'shared',
        sources: ['src/libkdlab.c'],
        link: [],
        cflags: [],
        path: '/usr/lib/libkdlab.so',
      },
      {
        name: 'init',
        kind: 'executable',
        sources: ['src/init.c'],
        link: ['libkdlab.so'],
        cflags: ['-O1'],
        path: '/sbin/init',
      },
    ]);
    expect(parseRecipe(minimal(), '/r/demo/recipe.yaml').programs).toEqual([]);
  });

  it('refuses links to unknown or later libraries, escaping sources, /init, and flags that are not flags', () => {
    const parse = (text: string) => () => parseRecipe(minimal(text), '/r/demo/recipe.yaml');
    // The executable first: the library it links is listed after it.
    const reordered = `programs:
  - { name: init, sources: [init.c], link: [libkdlab.so], path: /sbin/init }
  - { name: libkdlab.so, kind: shared, sources: [libkdlab.c], path: /usr/lib/libkdlab.so }
`;
    expect(parse(reordered)).toThrow(
      /^\/r\/demo\/recipe\.yaml:7:\d+: programs\.0\.link\.0: libkdlab\.so is not a shared program listed before init$/m,
    );
    expect(parse(programs.replace('src/init.c', '../../init.c'))).toThrow(/programs\.1\.sources\.0: /);
    expect(parse(programs.replace('src/init.c', 'src/init.o'))).toThrow(
      /programs\.1\.sources\.0: a \.c file/,
    );
    expect(parse(programs.replace('/sbin/init', '/init'))).toThrow(/programs\.1\.path: not \/init/);
    expect(parse(programs.replace('/sbin/init', '/sbin/../init'))).toThrow(/programs\.1\.path/);
    expect(parse(programs.replace('-O1', '-O1; rm -rf /'))).toThrow(
      /programs\.1\.cflags\.0: a compiler flag/,
    );
  });

  const capture = (sysctl: string) => `  - id: capture
    do: capture
    trigger: { module: kdlab_soft_lockup.ko }
    ${sysctl}
    title: { en: C, zh-CN: 抓 }
    explain: { en: C, zh-CN: 抓 }
  - id: locate
    do: segfault
    title: { en: L, zh-CN: 定位 }
    explain: { en: L, zh-CN: 定位 }
`;

  it('reads capture sysctls and the segfault step, refusing names and values a shell would misread', () => {
    const recipe = parseRecipe(
      minimal() + capture('sysctl: { kernel.softlockup_panic: 1, kernel.watchdog_thresh: "3" }'),
      '/r/demo/recipe.yaml',
    );
    expect(recipe.steps[1]).toMatchObject({
      do: 'capture',
      sysctl: { 'kernel.softlockup_panic': 1, 'kernel.watchdog_thresh': '3' },
    });
    expect(recipe.steps[2]).toMatchObject({ do: 'segfault', expect: [] });
    expect(parseRecipe(minimal() + capture(''), '/r/demo/recipe.yaml').steps[1]).toMatchObject({
      sysctl: {},
    });
    expect(() => parseRecipe(minimal() + capture('sysctl: { "../../etc/passwd": 1 }'), '/r.yaml')).toThrow(
      /^\/r\.yaml:14:\d+: steps\.1\.sysctl\.\.\.\/\.\.\/etc\/passwd: a sysctl name/m,
    );
    expect(() =>
      parseRecipe(minimal() + capture('sysctl: { kernel.panic: "1; reboot" }'), '/r.yaml'),
    ).toThrow(/steps\.1\.sysctl\.kernel\.panic: a plain sysctl value/);
  });

  it('renders sysctls before the trigger of the armed init, and refuses unsafe ones there too', () => {
    const init = renderInit({
      kind: 'kdump-armed',
      trigger: { kind: 'module', file: 'kdlab_soft_lockup.ko' },
      captureAppend: 'console=ttyS0',
      sysctl: { 'kernel.softlockup_panic': '1', 'kernel.watchdog_thresh': '3' },
    });
    const lines = init.split('\n');
    const sysctlAt = lines.findIndex((l) => l.startsWith('echo 1 > /proc/sys/kernel/softlockup_panic && '));
    expect(sysctlAt).toBeGreaterThan(0);
    expect(lines[sysctlAt + 1]).toMatch(
      /^echo 3 > \/proc\/sys\/kernel\/watchdog_thresh && .*KDLAB-SYSCTL-FAILED: kernel\.watchdog_thresh"$/,
    );
    expect(lines.findIndex((l) => l.startsWith('insmod /lib/modules/kdlab_soft_lockup.ko'))).toBeGreaterThan(
      sysctlAt,
    );
    expect(renderSysctls({ 'net.ipv4.ip_forward': '0' })).toBe(
      'echo 0 > /proc/sys/net/ipv4/ip_forward && echo "kdlab: sysctl net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)" || echo "KDLAB-SYSCTL-FAILED: net.ipv4.ip_forward"\n',
    );
    expect(() => renderSysctls({ 'kernel.panic': '$(reboot)' })).toThrow(/not a plain sysctl name and value/);
    expect(() => renderSysctls({ 'kernel/../x': '1' })).toThrow(/not a plain sysctl name and value/);
  });
});

describe('checks against the facts of a run', () => {
  const facts = {
    console:
      'Run /init as init process\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00007f00',
    decoded: {
      kind: 'init-exit',
      exitCode: '0x00007f00',
      exitStatus: { exited: 127 },
      callTrace: [{ function: 'panic' }],
    },
    image: { paths: ['/init', '/bin/busybox'] },
  };

  it('reads fact paths, including array indexes', () => {
    expect(factAt(facts, 'decoded.exitStatus.exited')).toBe(127);
    expect(factAt(facts, 'decoded.callTrace[0].function')).toBe('panic');
    expect(factAt(facts, 'decoded.nothing.here')).toBeUndefined();
  });

  it('compares answers as numbers when both are numbers, else case-insensitively', () => {
    expect(sameAnswer('0x7f00', '0x00007f00')).toBe(true);
    expect(sameAnswer('32512', '0x00007f00')).toBe(true);
    expect(sameAnswer(' Init-Exit ', 'init-exit')).toBe(true);
    expect(sameAnswer('0x7f', '0x00007f00')).toBe(false);
    expect(sameAnswer('sh', 'init')).toBe(false);
  });

  it('evaluates console, output, fact and image checks, saying what it saw', () => {
    expect(evaluateCheck({ console: 'exitcode=0x00007f00' }, facts, '').ok).toBe(true);
    expect(evaluateCheck({ output: 'PANIC:' }, facts, 'nothing').ok).toBe(false);
    expect(evaluateCheck({ fact: 'decoded.exitStatus.exited', equals: 127 }, facts, '')).toMatchObject({
      ok: true,
    });
    expect(evaluateCheck({ fact: 'decoded.kind', equals: 'oops' }, facts, '')).toMatchObject({
      ok: false,
      detail: 'decoded.kind = init-exit (expected oops)',
    });
    expect(evaluateCheck({ fact: 'decoded.missing', matches: '.*' }, facts, '').ok).toBe(false);
    expect(evaluateCheck({ imageHas: '/init' }, facts, '').ok).toBe(true);
    expect(evaluateCheck({ imageLacks: '/init' }, facts, '').ok).toBe(false);
  });
});
