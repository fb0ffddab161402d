// Runs every check concurrently, reports progress per finished check, keeps the last report on disk.
import Docker from 'dockerode';
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { isLocalText, sameText } from '../../common/local-text';
import type { LocalText } from '../../common/local-text';
import type { CheckStatus, DoctorCheck, DoctorReport, HostInfo } from '../../common/types';
import type { Progress } from '../jobs';
import { writeJsonAtomic } from '../workspace';
import { checkDefinitions, runCheck } from './checks';
import type { CheckContext, CheckDefinition } from './checks';
import { defaultProbeKernels } from './kvm-probe';

export interface DoctorOptions {
  workspaceRoot: string;
  stateDir: string;
  /** lab-images/kvm-probe/probe.elf, when the app ships it. */
  probeGuest: string | null;
  env?: NodeJS.ProcessEnv;
  definitions?: CheckDefinition[];
}

export interface DoctorRunOptions {
  kvmProbe: boolean;
  gdbPort?: number;
  signal?: AbortSignal;
}

async function distroName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function readHostInfo(): Promise<HostInfo> {
  const uid = process.getuid?.() ?? -1;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return {
    hostname: hostname(),
    kernel: release(),
    arch: process.arch === 'x64' ? 'x86_64' : process.arch,
    distro: await distroName(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    user,
    isRoot: uid === 0,
  };
}

export function dockerPinger(env: NodeJS.ProcessEnv, timeoutMs = 3_000): CheckContext['dockerPing'] {
  return async () => {
    const docker = new Docker(env.DOCKER_HOST ? {} : { socketPath: '/var/run/docker.sock' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const version = await Promise.race([docker.version(), timeout]);
      return { ok: true, version: version.Version };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const reason: LocalText =
        e.code === 'ENOENT'
          ? {
              en: 'no socket at /var/run/docker.sock (the daemon is not running)',
              'zh-CN': '/var/run/docker.sock 不存在（守护进程没有运行）',
            }
          : e.code === 'EACCES'
            ? {
                en: 'permission denied on /var/run/docker.sock (add yourself to the docker group)',
                'zh-CN': '没有 /var/run/docker.sock 的访问权限（把自己加入 docker 组）',
              }
            : sameText(e.message);
      return { ok: false, reason };
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A report saved before the texts were localized has plain strings: shown as they are in every language. */
function upgradeReport(report: DoctorReport): DoctorReport {
  const text = (v: unknown): LocalText => (isLocalText(v) ? v : sameText(String(v)));
  return {
    ...report,
    checks: report.checks.map((c): DoctorCheck => ({
      ...c,
      title: text(c.title),
      detail: text(c.detail),
      fix: c.fix === null ? null : text(c.fix),
    })),
  };
}

export class Doctor {
  readonly #options: DoctorOptions;
  #last: DoctorReport | null = null;

  constructor(options: DoctorOptions) {
    this.#options = options;
  }

  get reportPath(): string {
    return join(this.#options.stateDir, 'doctor.json');
  }

  async last(): Promise<DoctorReport | null> {
    if (this.#last) return this.#last;
    try {
      this.#last = upgradeReport(JSON.parse(await readFile(this.reportPath, 'utf8')) as DoctorReport);
    } catch {
      this.#last = null;
    }
    return this.#last;
  }

  async run(options: DoctorRunOptions, progress?: Progress): Promise<DoctorReport> {
    const env = this.#options.env ?? process.env;
    const host = await readHostInfo();
    const startedAt = new Date().toISOString();
    const ctx: CheckContext = {
      isRoot: host.isRoot,
      env,
      workspaceRoot: this.#options.workspaceRoot,
      gdbPort: options.gdbPort ?? 1234,
      sourcesDir: env.KDLAB_SOURCES_DIR ?? '/usr/src',
      kvm: {
        enabled: options.kvmProbe,
        kernels: options.kvmProbe
          ? await defaultProbeKernels(env, host.kernel, this.#options.workspaceRoot)
          : [],
        probeGuest: this.#options.probeGuest,
        timeoutMs: Number(env.KDLAB_KVM_PROBE_TIMEOUT_MS ?? 10_000),
      },
      dockerPing: dockerPinger(env),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const definitions = this.#options.definitions ?? checkDefinitions;
    // Every check's child process listens for the job's abort.
    if (options.signal) setMaxListeners(definitions.length * 2 + 10, options.signal);
    let finished = 0;
    const checks = await Promise.all(
      definitions.map(async (definition) => {
        const check = await runCheck(definition, ctx);
        finished += 1;
        progress?.log(
          `${check.status.padEnd(7)} ${check.title.en}: ${check.version ? `${check.version} — ` : ''}${check.detail.en}\n`,
        );
        if (check.fix && check.status !== 'ok') progress?.log(`        fix: ${check.fix.en}\n`);
        progress?.report({ fraction: finished / definitions.length, message: `Checked ${check.title.en}` });
        return check;
      }),
    );
    const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, missing: 0, error: 0 };
    for (const check of checks) summary[check.status] += 1;
    const report: DoctorReport = { host, startedAt, finishedAt: new Date().toISOString(), checks, summary };
    this.#last = report;
    await writeJsonAtomic(this.reportPath, report);
    return report;
  }
}
