// kdlab recipes list|show and kdlab run ID as a user runs them (the built CLI, the real lab kernel):
// lab order, --lang, explanations before each step, NDJSON events with --json; and the
// crashkernel lab answered by a student: too small is wrong, a bigger size than advised is right
// and is the size the second capture boots with.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import { RecipeCatalog } from '../../electron/lab/recipes/recipe-loader';
import { RecipeRunner } from '../../electron/lab/recipes/recipe-runner';
import type { Workspace } from '../../electron/lab/workspace';
import { appRoot, ensureBuilt } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';

const execFileAsync = promisify(execFile);
let workspace: Workspace;
let jobs: JobManager;

beforeAll(async () => {
  ensureBuilt();
  ({ workspace, jobs } = await labKernel());
}, 1_800_000);

async function kdlab(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  const full: NodeJS.ProcessEnv = { ...process.env, KDLAB_HOME: testWorkspaceRoot, LANG: 'C.UTF-8', ...env };
  delete full.DISPLAY;
  delete full.LC_ALL;
  return execFileAsync('node', ['electron/cli/bin.cjs', ...args], {
    cwd: appRoot,
    env: full,
    timeout: 280_000,
    maxBuffer: 64 << 20,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

describe('kdlab recipes', () => {
  it('list: the labs in course order; Chinese from LANG=zh_CN', async () => {
    const r = await kdlab(['recipes', 'list'], { LANG: 'zh_CN.UTF-8' });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ 1\. boot-shell +入门 +10 分钟/);
    expect(lines[6]).toMatch(/^ 7\. gdb-boot +中级/);
    expect(lines[9]).toMatch(/^10\. crashkernel-too-small/);
  });

  it('show: each step with its explanation, checks and question, in --lang', async () => {
    const r = await kdlab(['recipes', 'show', 'gdb-boot', '--lang', 'en']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(' 2. Break at start_kernel, step with next, bt, info registers rip (gdb)');
    expect(r.stdout).toContain('    commands: hbreak start_kernel · continue · bt · next');
    expect(r.stdout).toContain('      - output ~ /^#1 .* in x86_64_start_reservations/');
    expect(r.stdout).toContain('    question: Which function called start_kernel?');
    expect(r.stdout).not.toContain('\x1b[');
  });
});

describe('kdlab run ID', () => {
  it('prints each step’s explanation before it, in Chinese, plain when not a terminal', async () => {
    const r = await kdlab(['run', 'kill-init', '--non-interactive', '--restart', '--lang', 'zh-CN']);
    expect(r.code, r.stdout).toBe(0);
    const steps = (await new RecipeCatalog([join(appRoot, 'recipes')]).get('kill-init')).recipe.steps;
    for (const [i, step] of steps.entries()) {
      const intro = r.stdout.indexOf(`步骤 ${i + 1}/${steps.length} · ${step.title['zh-CN']}`);
      expect(intro, step.id).toBeGreaterThanOrEqual(0);
      // Before the step's result line.
      expect(r.stdout.indexOf(`PASS  ${step.title['zh-CN']}`, intro)).toBeGreaterThan(intro);
    }
    expect(r.stdout).not.toContain('\x1b[');
  }, 300_000);

  it('--json: NDJSON events as the run goes, ending with a summary', async () => {
    const r = await kdlab(['run', 'kill-init', '--non-interactive', '--restart', '--json']);
    expect(r.code, r.stdout).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; step?: string; fraction?: number });
    const steps = (await new RecipeCatalog([join(appRoot, 'recipes')]).get('kill-init')).recipe.steps;
    const milestones = events.filter((e) => e.event !== 'progress');
    expect(milestones.map((e) => `${e.event}:${e.step ?? ''}`)).toEqual([
      ...steps.flatMap((s) => [`step-started:${s.id}`, `step-passed:${s.id}`]),
      'summary:',
    ]);
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((e) => typeof e.fraction === 'number' && e.step)).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'summary', finished: true, total: steps.length });
  }, 300_000);
});

describe('crashkernel-too-small, answered by a student', () => {
  it('a size below the advisor’s is wrong; a bigger one is right and is what the capture boots with', async () => {
    const runner = new RecipeRunner(
      workspace,
      new KernelBuilder(workspace, join(appRoot, 'lab-images', 'kconfig')),
      join(appRoot, 'lab-images', 'modules'),
    );
    const loaded = await new RecipeCatalog([join(appRoot, 'recipes')]).get('crashkernel-too-small');
    const run = (answer: string, restart: boolean) =>
      jobs.withProgress({ title: 'crashkernel', kind: 'recipe' }, (progress, signal) =>
        runner.run(
          loaded,
          { nonInteractive: false, restart, ask: () => Promise.resolve(answer) },
          progress,
          signal,
        ),
      );
    const small = await run('16M', true);
    expect(small.finished).toBe(false);
    const advised = Number((small.facts.advisor as { crashkernelMiB: number }).crashkernelMiB);
    expect(advised).toBeGreaterThan(16);
    expect(small.steps.at(-1)).toMatchObject({ id: 'size', status: 'failed', answer: { ok: false } });

    const bigger = advised + 64;
    const resumed = await run(`${bigger}M`, false);
    expect(resumed.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
      'too-small:passed',
      'size:passed',
      'your-size:passed',
    ]);
    expect(resumed.finished).toBe(true);
    expect(String(resumed.facts.console)).toContain(`crashkernel=${bigger}M`);
  }, 300_000);
});
