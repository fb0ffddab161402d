// Docker-mode benchmarks (the `docker` section of npm run bench):
// - container start overhead: `true` through the DockerExecutor vs through the host executor;
// - with --docker-kernel-build (~20 min on 2 cores): the lab kernel built cold in the toolchain
//   container vs the same build on the host (fresh workspaces sharing the unpacked sources); the
//   host number is taken from the pipeline bench's cold build when it ran (passed as --host-build-s N).
// Bundled and run by scripts/bench.mjs; prints one JSON object on stdout.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDockerEngine } from '../../electron/lab/docker/engine';
import { DockerExecutor } from '../../electron/lab/exec/docker-executor';
import type { Executor } from '../../electron/lab/exec/executor';
import { hostExecutor } from '../../electron/lab/exec/host-executor';
import { JobManager } from '../../electron/lab/jobs';
import { KernelBuilder } from '../../electron/lab/kernel/kernel-builder';
import type { KernelBuildSpec } from '../../electron/lab/kernel/kernel-builder';
import { findSources } from '../../electron/lab/kernel/sources';
import { Workspace } from '../../electron/lab/workspace';

const appRoot = process.argv[2] ?? process.cwd();
const withBuild = process.argv.includes('--docker-kernel-build');
const hostArg = process.argv.indexOf('--host-build-s');
const knownHostSeconds = hostArg > 0 ? Number(process.argv[hostArg + 1]) : null;
const image = process.env.KDLAB_DOCKER_IMAGE ?? 'kdlab/toolchain:latest';
const testWorkspace =
  process.env.KDLAB_TEST_WORKSPACE ?? join(homedir(), '.cache', 'kdlab-test', 'workspace');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = (text: string) => process.stderr.write(`bench docker: ${text}\n`);

async function timeTrue(executor: Executor, runs: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    const r = await executor.run(['true']);
    if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode} on ${executor.describe()}`);
    ms.push(performance.now() - t0);
  }
  return ms;
}

const workspace = await Workspace.open(testWorkspace);
const engine = await openDockerEngine();
const docker = await DockerExecutor.create({ engine, image, workspace: workspace.root, job: 'bench' });
const result: Record<string, unknown> = { image: docker.describe(), cpus: cpus().length };

// --- container start overhead ---
await timeTrue(docker, 1); // the first container warms the daemon's caches
const dockerMs = await timeTrue(docker, 7);
const hostMs = await timeTrue(hostExecutor, 7);
result.startOverhead = {
  dockerTrueMs: median(dockerMs),
  hostTrueMs: median(hostMs),
  overheadMs: median(dockerMs) - median(hostMs),
  note: 'create + attach + start + wait + auto-remove of a labelled container running true, vs spawning true on the host',
};
log(`true: docker ${median(dockerMs).toFixed(0)} ms, host ${median(hostMs).toFixed(1)} ms`);

// --- cold kernel build: container vs host ---
if (withBuild) {
  const source = (await findSources()).find((s) => s.version === '6.1');
  if (!source) throw new Error('linux-source-6.1 is not installed');
  const spec: KernelBuildSpec = {
    source: source.path,
    base: 'tinyconfig',
    fragments: ['kgdb', 'kdump', 'debuginfo', 'qemu-virt', 'modules'],
  };
  const fragments = join(appRoot, 'lab-images', 'kconfig');
  const jobs = new JobManager({ logDir: workspace.jobsDir });
  const coldBuild = async (executor: Executor): Promise<number> => {
    const fresh = await Workspace.open(await mkdtemp(join(tmpdir(), 'kdlab-bench-docker-ws-')));
    await mkdir(fresh.cacheDir, { recursive: true });
    // Share the unpacked sources: the comparison is about the build, not the tarball.
    await symlink(join(workspace.cacheDir, 'sources'), join(fresh.cacheDir, 'sources'));
    const inFresh =
      executor.kind === 'host'
        ? hostExecutor
        : await DockerExecutor.create({
            engine,
            image,
            workspace: fresh.root,
            readOnly: [workspace.cacheDir],
          });
    const builder = new KernelBuilder(fresh, fragments, inFresh);
    const t0 = performance.now();
    try {
      const built = await jobs.withProgress(
        { title: `bench cold build (${inFresh.describe()})`, kind: 'kernel-build' },
        (p, s) => builder.build(spec, p, s),
      );
      const seconds = (performance.now() - t0) / 1000;
      await rm(builder.buildDirFor(built.manifest.sourceHash, 'tinyconfig'), {
        recursive: true,
        force: true,
      });
      return seconds;
    } finally {
      await inFresh.dispose();
      await rm(fresh.root, { recursive: true, force: true });
    }
  };
  const containerS = await coldBuild(docker);
  log(`kernel build in the container ${containerS.toFixed(0)} s`);
  const hostS = knownHostSeconds ?? (await coldBuild(hostExecutor));
  log(
    `kernel build on the host ${hostS.toFixed(0)} s${knownHostSeconds ? ' (from the pipeline bench)' : ''}`,
  );
  result.kernelBuild = {
    containerSeconds: containerS,
    hostSeconds: hostS,
    ratio: containerS / hostS,
    hostFrom: knownHostSeconds ? 'pipeline bench cold build' : 'measured here',
    note: 'kdlab cold build (config + verify + make -jN + commit), fresh O= dirs, same unpacked tree',
  };
}

await docker.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
