// A tiny image for the Docker executor tests, made here without any registry: static busybox and
// its applets, imported with `docker import` (the toolchain image is only needed for the lab tests).
import { mkdir, mkdtemp, rm, symlink, copyFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../electron/lab/process';

export const busyboxImage = 'kdlab-test/busybox:1';

export async function ensureBusyboxImage(): Promise<string> {
  const have = await runCommand(['docker', 'image', 'inspect', '--format', '{{.Id}}', busyboxImage]);
  if (have.exitCode === 0) return busyboxImage;
  const root = await mkdtemp(join(tmpdir(), 'kdlab-bbimg-'));
  try {
    const tree = join(root, 'tree');
    for (const d of ['bin', 'tmp', 'etc', 'proc', 'sys', 'dev'])
      await mkdir(join(tree, d), { recursive: true });
    await chmod(join(tree, 'tmp'), 0o1777);
    await copyFile('/bin/busybox', join(tree, 'bin', 'busybox'));
    await chmod(join(tree, 'bin', 'busybox'), 0o755);
    const applets = await runCommand(['/bin/busybox', '--list']);
    for (const applet of applets.stdout.split('\n').map((a) => a.trim())) {
      if (/^[\w.[-]+$/.test(applet) && applet !== 'busybox')
        await symlink('busybox', join(tree, 'bin', applet)).catch(() => undefined);
    }
    const tar = join(root, 'rootfs.tar');
    const packed = await runCommand(['tar', '-C', tree, '-cf', tar, '.']);
    if (packed.exitCode !== 0) throw new Error(`tar: ${packed.stderr}`);
    const imported = await runCommand(['docker', 'import', '--change', 'ENV PATH=/bin', tar, busyboxImage]);
    if (imported.exitCode !== 0) throw new Error(`docker import: ${imported.stderr}`);
    return busyboxImage;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
