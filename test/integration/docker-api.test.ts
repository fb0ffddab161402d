// The whole lab cycle through the API the UI uses, with executor=docker: "Crash it and capture"
// (vmcores.capture) runs QEMU, mkfs/debugfs and the capture image's tools in the toolchain container;
// the analyzer's report and its interactive crash console run crash in a container; a recipe with
// `executor: docker` (the shipped sysrq-kdump, run from the workspace's recipes/) does all of it in
// its own container. Each artifact says where it ran, the results are the host's (the sysrq panic,
// __handle_sysrq in bt, sysrq_handle_crash in the kernel's trace), and no kdlab container of the
// workspace is left.
// Needs dockerd and kdlab/toolchain (kdlab images build toolchain); without them the tests fail.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  CrashReport,
  JobInfo,
  RecipeRunState,
  TerminalInfo,
  VmcoreSummary,
} from '../../electron/common/types';
import { analyzeVmcore } from '../../electron/lab/analyze/crash/analyzer';
import { openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor } from '../../electron/lab/exec/docker-executor';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import type { KernelArtifacts } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { createLabBackend } from '../../electron/lab/lab-backend';
import type { LabBackend } from '../../electron/lab/lab-backend';
import { Workspace } from '../../electron/lab/workspace';
import { appRoot } from '../helpers/build';
import { labKernel, testWorkspaceRoot } from '../helpers/lab-kernel';
import { waitFor } from '../helpers/temp';
import { apiTestClient } from '../helpers/api-client';

const image = 'kdlab/toolchain:latest';
/** "docker kdlab/toolchain:latest (IMAGEID) on unix:///…": what VmInfo, vmcores and reports show. */
const inDocker = /^docker kdlab\/toolchain:latest \([0-9a-f]{12}\) on unix:\/\//;

let root: string;
let backend: LabBackend;
let hostKernel: KernelArtifacts;
let dockerKernel: KernelArtifacts;
const { ctx, call, output, exits } = apiTestClient(() => backend);

/** kdlab's containers for this workspace, running or not. */
function containers(): string[] {
  return execFileSync(
    'docker',
    ['ps', '-aq', '--filter', 'label=io.kdlab.managed=true', '--filter', `label=io.kdlab.workspace=${root}`],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean);
}

async function job(title: string): Promise<JobInfo | undefined> {
  return (await call<JobInfo[]>('jobs.list')).find((j) => j.title === title);
}

const labSpec = (source: string) => ({
  source,
  base: 'tinyconfig' as const,
  fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
});

beforeAll(async () => {
  const lab = await labKernel();
  hostKernel = lab.kernel;
  // The lab kernel as built in the toolchain container (a cache hit once docker-lab.test.ts ran): the
  // kernel a recipe run in Docker builds, so that the recipe below finds it instead of making it.
  const source = (await findSources()).find((s) => s.version === '6.1');
  if (!source) throw new Error('linux-source-6.1 is not installed: run scripts/setup.sh');
  const executor = await DockerExecutor.create({
    engine: await openDockerEngine(),
    image,
    workspace: lab.workspace.root,
    job: 'docker-api-test-kernel',
  });
  try {
    dockerKernel = await lab.jobs.withProgress(
      { title: 'Lab kernel (Docker)', kind: 'kernel-build' },
      (progress, signal) =>
        new KernelBuilder(lab.workspace, join(appRoot, 'lab-images', 'kconfig'), executor).build(
          labSpec(source.path),
          progress,
          signal,
        ),
    );
  } finally {
    await executor.dispose();
  }

  // A workspace of its own (its settings say docker; its recipes/ has the Docker recipe), beside the
  // test workspace so the kernels, the unpacked sources and the request index are hard links.
  await mkdir(dirname(testWorkspaceRoot), { recursive: true });
  root = await mkdtemp(`${dirname(testWorkspaceRoot)}/docker-api-`);
  const workspace = await Workspace.open(root);
  const link = async (kind: string, key: string) => {
    const entry = workspace.cache(kind).entryDir(key);
    await mkdir(dirname(entry), { recursive: true });
    execFileSync('cp', ['-al', lab.workspace.cache(kind).entryDir(key), entry]);
  };
  await link('kernels', hostKernel.key);
  await link('kernels', dockerKernel.key);
  await link('sources', dockerKernel.manifest.sourceHash);
  await copyFile(
    join(lab.workspace.stateDir, 'kernel-requests.json'),
    join(workspace.stateDir, 'kernel-requests.json'),
  );
  const shipped = await readFile(join(appRoot, 'recipes', 'sysrq-kdump', 'recipe.yaml'), 'utf8');
  expect(shipped).toMatch(/^id: sysrq-kdump\n/);
  await mkdir(join(root, 'recipes', 'sysrq-kdump-docker'), { recursive: true });
  await writeFile(
    join(root, 'recipes', 'sysrq-kdump-docker', 'recipe.yaml'),
    shipped.replace(/^id: sysrq-kdump\n/, 'id: sysrq-kdump-docker\nexecutor: docker\n'),
  );

  backend = await createLabBackend({ mode: 'web', version: 'test', workspaceRoot: root, appRoot });
  backend.events.attach(ctx);
}, 1_800_000);

afterEach(async () => {
  await waitFor(() => containers().length === 0, 30_000, 250).catch(() => undefined);
  expect(containers()).toEqual([]);
});

afterAll(async () => {
  await backend?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the lab cycle through the API with executor=docker', () => {
  let entry: VmcoreSummary;

  it('crashes and captures through kdump in the toolchain container into the library', async () => {
    await call('settings.setExecutor', { executor: 'docker', image });
    entry = await call<VmcoreSummary>('vmcores.capture', { kernelKey: hostKernel.key });
    expect(entry.meta).toMatchObject({
      method: 'kdump',
      panic: 'sysrq triggered crash',
      kernelKey: hostKernel.key,
      buildId: hostKernel.manifest.buildId,
      executor: expect.stringMatching(inDocker),
    });
    expect(entry.meta.size).toBeGreaterThan(1024 * 1024);
    // Written by the container as the user who runs kdlab.
    expect(execFileSync('stat', ['-c', '%u', entry.vmcore], { encoding: 'utf8' }).trim()).toBe(
      String(process.getuid!()),
    );
    expect((await call<VmcoreSummary[]>('vmcores.list'))[0]).toMatchObject({
      id: entry.id,
      meta: { executor: entry.meta.executor },
    });
    const capture = await job('Crash and capture (kdump) (Docker)');
    expect(capture?.state).toBe('succeeded');
    const log = await call<{ text: string }>('jobs.log', { id: capture!.id });
    expect(log.text).toContain(`Runs on: ${entry.meta.executor}`);
  }, 300_000);

  it('analyzes it with crash in a container: the same panic and backtrace as crash on the host', async () => {
    const report = await call<CrashReport>('vmcores.analyze', { id: entry.id });
    expect(report.executor).toBe(entry.meta.executor);
    expect(report.summary.panic).toContain('sysrq triggered crash');
    expect(report.summary.release).toBe(hostKernel.manifest.kernelRelease);
    const functions = report.backtrace.frames.map((f) => f.function);
    expect(functions.slice(0, 4)).toEqual(['machine_kexec', '__crash_kexec', 'panic', '__handle_sysrq']);
    // crash 8.0.2's bt skips sysrq_handle_crash (its call to panic is its last instruction, so the
    // return address is the next function's), here as on the host; the kernel's own trace in the
    // log's panic excerpt names it.
    const excerpt = report.log.filter((l) => l.panic).map((l) => l.text);
    expect(excerpt).toContain(' sysrq_handle_crash+0x10/0x10');
    expect(report.processes.find((p) => p.active)?.pid).toBe(report.backtrace.pid);
    expect((await job('Analyzing the vmcore (crash) (Docker)'))?.state).toBe('succeeded');

    // crash on the host, on a copy of the same pair (the library's report stays the container's).
    const copy = join(root, 'host-copy');
    await mkdir(copy);
    await copyFile(entry.vmcore, join(copy, 'vmcore'));
    const host = await backend.jobs.withProgress({ title: 'host analyze', kind: 'analyze' }, (p, s) =>
      analyzeVmcore({ vmcore: join(copy, 'vmcore'), vmlinux: hostKernel.vmlinux, reuse: false }, p, s),
    );
    expect(host.executor).toBe('host');
    expect(report.summary.panic).toBe(host.summary.panic);
    expect(functions).toEqual(host.backtrace.frames.map((f) => f.function));
    expect(excerpt).toEqual(host.log.filter((l) => l.panic).map((l) => l.text));
    expect(report.backtrace.pid).toBe(host.backtrace.pid);
  }, 300_000);

  it("opens the analyzer's crash console as a terminal in a container; quitting it removes the container", async () => {
    const term = await call<TerminalInfo>('terminal.open', {
      kind: 'crash',
      vmcoreId: entry.id,
      cols: 120,
      rows: 40,
    });
    expect(term.title).toBe(`crash · ${entry.id} (docker)`);
    const text = () => output.get(term.id) ?? '';
    /** Waits for the terminal's text to match, failing with what crash printed. */
    const until = (pattern: RegExp, ms: number) =>
      waitFor(() => pattern.test(text()), ms).catch((error: Error) => {
        throw new Error(`${error.message} (${String(pattern)}); crash printed:\n${text().slice(-3000)}`);
      });
    try {
      await call('terminal.resize', { id: term.id, cols: 120, rows: 40 });
      expect(containers().length).toBeGreaterThan(0);
      await until(/crash> $/, 180_000);
      expect(text()).toContain('PANIC: "Kernel panic - not syncing: sysrq triggered crash"');
      // Back at the prompt after bt without a key: crash's pager ends at EOF in the container too
      // (the image has no less; util-linux more would wait at "--More--(END)" after every command).
      await call('terminal.write', { id: term.id, data: 'bt\r' });
      await until(/entry_SYSCALL_64_after_hwframe at [\s\S]*crash> $/, 60_000);
      expect(text()).toMatch(/#3 \[[0-9a-f]+\] __handle_sysrq at /);
      expect(text()).not.toContain('(END)');
      await call('terminal.write', { id: term.id, data: 'quit\r' });
      await waitFor(() => exits.has(term.id), 30_000);
      expect(exits.get(term.id)?.exitCode).toBe(0);
    } finally {
      if (!exits.has(term.id)) await call('terminal.close', { id: term.id });
    }
  }, 300_000);

  it('runs a recipe with executor: docker (sysrq-kdump) in its container, every check passing', async () => {
    // The setting says host: the recipe's own executor: wins.
    await call('settings.setExecutor', { executor: 'host' });
    const state = await call<RecipeRunState>('recipes.run', {
      id: 'sysrq-kdump-docker',
      auto: true,
      restart: true,
    });
    const failures = state.steps.filter((s) => s.status !== 'passed');
    expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
    expect(state.finished).toBe(true);
    expect(state.facts?.executor).toMatch(inDocker);
    // The kernel is the one built in the container, found in the cache (not the host build).
    expect(state.artifacts.kernel).toBe(dockerKernel.key);
    expect(dockerKernel.manifest.executor).toMatch(inDocker);
    const vmcore = (await call<VmcoreSummary[]>('vmcores.list')).find((v) => v.id === state.artifacts.vmcore);
    expect(vmcore?.meta).toMatchObject({
      panic: 'sysrq triggered crash',
      kernelKey: dockerKernel.key,
      executor: state.facts?.executor,
    });
    const crash = state.steps.find((s) => s.id === 'crash');
    expect(crash?.checks.map((c) => c.detail)).toContain(
      'output matches /PANIC: "Kernel panic - not syncing: sysrq triggered crash"/',
    );
    const facts = state.facts as { crash?: { output: string } };
    // crash's log prints the kernel's trace, which names the sysrq handler.
    expect(facts.crash?.output).toContain('sysrq_handle_crash+0x10/0x10');
    // The recipe's executor: docker, not the setting (host), names the job.
    const run = (await call<JobInfo[]>('jobs.list')).find((j) => j.kind === 'recipe');
    expect(run).toMatchObject({
      title: 'Recipe: sysrq c → kdump → vmcore → crash: sys, bt, log, ps (Docker)',
      state: 'succeeded',
    });
  }, 600_000);
});
