// A tiny image for the Docker tests, made here without any registry: static busybox and its
// applets, imported with `docker import` (the toolchain image is only needed for the lab tests).
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../electron/lab/process';

export const busyboxImage = 'kdlab-test/busybox:1';

/**
 * Imports static busybox with its applets as `ref` into the engine at `host` (the default engine
 * when null): ~2 MB, so nearly all of a small data root is left for a test to fill.
 */
export async function importBusybox(host: string | null, ref: string, scratch: string): Promise<void> {
  const root = await mkdtemp(join(scratch, 'kdlab-bbimg-'));
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
    const engine = host === null ? [] : ['-H', host];
    const imported = await runCommand(['docker', ...engine, 'import', '--change', 'ENV PATH=/bin', tar, ref]);
    if (imported.exitCode !== 0) throw new Error(`docker import: ${imported.stderr}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The busybox test image on the default engine, imported once. */
export async function ensureBusyboxImage(): Promise<string> {
  const have = await runCommand(['docker', 'image', 'inspect', '--format', '{{.Id}}', busyboxImage]);
  if (have.exitCode !== 0) await importBusybox(null, busyboxImage, tmpdir());
  return busyboxImage;
}
