// The runner on a real guest: a boot whose `until` never shows and a wait that times out fail their
// step, saying what they waited for and what the console printed (they used to pass); a question or
// check on a fact this run does not have fails its step, naming it, instead of crashing the run.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { parseRecipe } from '../../electron/lab/recipes/recipe-loader';
import type { LoadedRecipe } from '../../electron/lab/recipes/recipe-loader';
import { RecipeRunner } from '../../electron/lab/recipes/recipe-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel } from '../helpers/lab-kernel';
import { makeTempDir } from '../helpers/temp';

let workspace: Workspace;
let jobs: JobManager;
let runner: RecipeRunner;

beforeAll(async () => {
  ({ workspace, jobs } = await labKernel());
  runner = new RecipeRunner(
    workspace,
    new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig')),
    join(appRoot, 'lab-images', 'modules'),
  );
}, 1_800_000);

async function recipe(id: string, steps: string, inputs = ''): Promise<LoadedRecipe> {
  const dir = join(await makeTempDir(), id);
  await mkdir(dir);
  const file = join(dir, 'recipe.yaml');
  const text = `id: ${id}
title: { en: Engine test, zh-CN: 引擎测试 }
level: beginner
minutes: 1
objectives: [{ en: Test, zh-CN: 测试 }]
${inputs}steps:
${steps}`;
  await writeFile(file, text);
  return { recipe: parseRecipe(text, file), dir, file };
}
const text = `title: { en: T, zh-CN: 标题 }
    explain: { en: E, zh-CN: 解释 }`;

const run = (loaded: LoadedRecipe) =>
  jobs.withProgress({ title: loaded.recipe.id, kind: 'recipe' }, (progress, signal) =>
    runner.run(loaded, { nonInteractive: true, restart: true }, progress, signal),
  );

describe('waiting on the console', () => {
  it('fails a boot whose until pattern never appears, with the console tail and a hint', async () => {
    const state = await run(
      await recipe(
        'engine-boot-timeout',
        `  - id: boot
    do: boot
    until: 'KDLAB-NEVER-PRINTED'
    timeout: 8
    ${text}
  - id: after
    do: send
    text: "echo after\\n"
    ${text}
`,
      ),
    );
    expect(state.finished).toBe(false);
    expect(state.steps.map((s) => [s.id, s.status])).toEqual([['boot', 'error']]);
    const error = state.steps[0]!.error!;
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(
      /^waited 8 s for \/KDLAB-NEVER-PRINTED\/; the console's last lines were:\n/,
    );
    // What the guest printed instead: the shell it started.
    expect(error.message).toMatch(/built-in shell \(ash\)/);
    expect(error.hint).toMatch(/raise the step's timeout/);
  }, 300_000);

  it('fails a wait that times out, and passes one whose pattern comes', async () => {
    const state = await run(
      await recipe(
        'engine-wait-timeout',
        `  - id: boot
    do: boot
    ${text}
  - id: echo
    do: send
    text: "echo kdlab-$((40+2))\\n"
    ${text}
  - id: seen
    do: wait
    pattern: 'kdlab-42'
    timeout: 20
    ${text}
  - id: never
    do: wait
    pattern: 'kdlab-never-\\d+'
    timeout: 3
    ${text}
`,
      ),
    );
    expect(state.steps.map((s) => [s.id, s.status])).toEqual([
      ['boot', 'passed'],
      ['echo', 'passed'],
      ['seen', 'passed'],
      ['never', 'error'],
    ]);
    const error = state.steps[3]!.error!;
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(error.message).toMatch(
      /^waited 3 s for \/kdlab-never-\\d\+\/; the console's last lines were:\n[\s\S]*\nkdlab-42\n/,
    );
    expect(error.hint).toMatch(/Compare the pattern with the console above/);
  }, 300_000);
});

describe('facts a run does not have', () => {
  it('fails a check and a question on the fault of a sysrq crash, which has none, saying so', async () => {
    const state = await run(
      await recipe(
        'engine-missing-fact',
        `  - id: capture
    do: capture
    trigger: sysrq
    ${text}
  - id: analyze
    do: analyze
    expect:
      - { fact: report.summary.panic, matches: 'sysrq triggered crash' }
      - { fact: report.fault.function, equals: sysrq_handle_crash }
    ${text}
  - id: function
    do: question
    ask: { en: Which function faulted?, zh-CN: 哪个函数出错了？ }
    answer: { fact: report.fault.function }
    ${text}
`,
      ),
    );
    expect(state.steps.map((s) => [s.id, s.status])).toEqual([
      ['capture', 'passed'],
      ['analyze', 'failed'],
    ]);
    expect(state.steps[1]!.checks.map((c) => [c.ok, c.detail])).toEqual([
      [true, 'report.summary.panic = Kernel panic - not syncing: sysrq triggered crash'],
      [false, 'report.fault.function: report.fault is null in this run'],
    ]);

    // The same question on its own, after a passing analyze step: an error that names the fact.
    const asked = await run(
      await recipe(
        'engine-missing-answer',
        `  - id: capture
    do: capture
    trigger: sysrq
    ${text}
  - id: analyze
    do: analyze
    ${text}
  - id: function
    do: question
    ask: { en: Which function faulted?, zh-CN: 哪个函数出错了？ }
    answer: { fact: report.fault.function }
    ${text}
`,
      ),
    );
    expect(asked.steps.map((s) => [s.id, s.status])).toEqual([
      ['capture', 'passed'],
      ['analyze', 'passed'],
      ['function', 'error'],
    ]);
    expect(asked.steps[2]!.error).toMatchObject({
      code: 'NOT_FOUND',
      message:
        "This question's answer is not in the run: report.fault.function: report.fault is null in this run.",
    });
  }, 600_000);
});

describe('recipe inputs', () => {
  it('boots an ext4 rootfs made from the image (root=/dev/vda) with the CPUs the recipe asks for', async () => {
    const state = await run(
      await recipe(
        'engine-rootfs-cpus',
        `  - id: boot
    do: boot
    until: 'KDLAB-INIT-READY'
    timeout: 60
    ${text}
    expect:
      - { console: 'Kernel command line: .*root=/dev/vda' }
  - id: ask
    do: send
    text: "echo CPUS-$(grep -c ^processor /proc/cpuinfo) ROOT-$(awk '$2 == \\"/\\" {print $3}' /proc/mounts | tail -1)\\n"
    ${text}
  - id: answer
    do: wait
    pattern: 'CPUS-\\d+ ROOT-\\S+'
    timeout: 30
    ${text}
    expect:
      - { console: '^CPUS-2 ROOT-ext4' }
`,
        'image: { format: rootfs, extraMiB: 4 }\nvm: { cpus: 2 }\n',
      ),
    );
    expect(
      state.steps.map((s) => [s.id, s.status]),
      JSON.stringify(state.steps.map((s) => s.error ?? s.checks)),
    ).toEqual([
      ['boot', 'passed'],
      ['ask', 'passed'],
      ['answer', 'passed'],
    ]);
  }, 300_000);
});
