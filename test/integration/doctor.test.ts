// The doctor on this very host: every probe runs for real.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sameText } from '../../electron/common/local-text';
import type { DoctorReport } from '../../electron/common/types';
import { Doctor } from '../../electron/lab/doctor/doctor';
import { probeKvm } from '../../electron/lab/doctor/kvm-probe';
import { appRoot } from '../helpers/build';
import { makeTempDir } from '../helpers/temp';

const probeGuest = join(appRoot, 'lab-images/kvm-probe/probe.elf');

describe('doctor on this host', () => {
  it('reports the versions the tools themselves print', async () => {
    const dir = await makeTempDir();
    const doctor = new Doctor({ workspaceRoot: dir, stateDir: dir, probeGuest });
    const report = await doctor.run({ kvmProbe: false });
    const check = (id: string) => report.checks.find((c) => c.id === id)!;

    const qemuVersion = /QEMU emulator version (\S+)/.exec(
      execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }),
    )?.[1];
    expect(check('qemu')).toMatchObject({ status: 'ok', version: qemuVersion });
    const gdbFirst = execFileSync('gdb', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
    expect(gdbFirst.endsWith(check('gdb').version!)).toBe(true);
    expect(check('busybox')).toMatchObject({
      status: 'ok',
      detail: {
        en: expect.stringMatching(/static, x86_64/),
        'zh-CN': expect.stringMatching(/静态链接，x86_64/),
      },
    });
    expect(check('kernel-sources')).toMatchObject({
      status: 'ok',
      detail: { en: expect.stringContaining('/usr/src/linux-source-6.1') },
    });
    for (const id of [
      'crash',
      'makedumpfile',
      'kexec',
      'gcc',
      'make',
      'flex',
      'bison',
      'bc',
      'pahole',
      'libelf',
      'openssl',
      'mkfs-ext4',
    ]) {
      expect(check(id).status, id).toBe('ok');
    }
    expect(check('kvm')).toMatchObject({
      status: 'warn',
      detail: {
        en: expect.stringContaining('--no-kvm-probe'),
        'zh-CN': expect.stringContaining('已跳过 KVM 探测'),
      },
    });
    expect(report.summary.ok + report.summary.warn + report.summary.missing + report.summary.error).toBe(
      report.checks.length,
    );
    // The last report survives a restart.
    const again = new Doctor({ workspaceRoot: dir, stateDir: dir, probeGuest });
    expect(((await again.last()) as DoctorReport).finishedAt).toBe(report.finishedAt);
    // One saved before the texts were localized is read with its English in every language.
    const old = {
      ...report,
      checks: report.checks.map((c) => ({ ...c, title: c.title.en, detail: c.detail.en })),
    };
    await writeFile(join(dir, 'doctor.json'), JSON.stringify(old));
    const upgraded = (await new Doctor({ workspaceRoot: dir, stateDir: dir, probeGuest }).last())!;
    expect(upgraded.checks.find((c) => c.id === 'kvm')!.title).toEqual(sameText(check('kvm').title.en));
  });

  it('names the package that installs each missing tool', async () => {
    const dir = await makeTempDir();
    const doctor = new Doctor({
      workspaceRoot: dir,
      stateDir: dir,
      probeGuest,
      env: { PATH: '/nonexistent', KDLAB_SOURCES_DIR: dir },
    });
    const report = await doctor.run({ kvmProbe: false });
    const check = (id: string) => report.checks.find((c) => c.id === id)!;
    const prefix = process.getuid?.() === 0 ? '' : 'sudo ';
    expect(check('qemu')).toMatchObject({
      status: 'missing',
      fix: sameText(`${prefix}apt-get install -y qemu-system-x86`),
    });
    expect(check('gdb')).toMatchObject({
      status: 'missing',
      fix: sameText(`${prefix}apt-get install -y gdb`),
    });
    expect(check('crash')).toMatchObject({
      status: 'missing',
      fix: sameText(`${prefix}apt-get install -y crash`),
    });
    expect(check('kernel-sources')).toMatchObject({
      status: 'missing',
      fix: sameText(`${prefix}apt-get install -y linux-source-6.1`),
    });
  });

  it('probes KVM by booting a guest, not by looking at /dev/kvm', async () => {
    const result = await probeKvm({ probeGuest, kernels: [], timeoutMs: 20_000 });
    // Whatever this host can do, the verdict comes from a boot attempt (or says why none was possible).
    expect(['works', 'hangs', 'fails', 'unavailable', 'no-permission', 'unconfirmed']).toContain(
      result.verdict,
    );
    if (result.verdict === 'unconfirmed' || result.verdict === 'hangs' || result.verdict === 'fails') {
      expect(result.probe).toBe(probeGuest);
    }
    // A missing device is reported as such, without booting anything.
    const missing = await probeKvm({ kvmDevice: '/dev/kdlab-no-kvm', probeGuest });
    expect(missing).toMatchObject({ verdict: 'unavailable', probe: null });
  });
});
