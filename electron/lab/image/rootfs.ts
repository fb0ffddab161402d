// ext4 root filesystems built without root privileges: the same content (and pre-boot checks) as the
// initramfs kdlab packs — unpacked from that cpio into a staging folder — written by
// `mkfs.ext4 -d`; the device nodes an unprivileged cpio cannot create are added with debugfs. Files
// keep the builder's uid inside the image: the lab's init runs as root, which reads them all.
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LabError } from '../../common/errors';
import type { Executor } from '../exec/executor';
import type { Progress } from '../jobs';
import { hostExecutor } from '../exec/host-executor';
import { runCommand } from '../process';
import type { Workspace } from '../workspace';
import { cacheKey } from '../workspace';
import type { ImageBuilder, InitramfsImage, InitramfsSpec } from './initramfs';

export interface RootfsImage {
  key: string;
  path: string;
  size: number;
  cacheHit: boolean;
  /** The initramfs it was unpacked from (contents, /init, checks). */
  content: InitramfsImage;
}

/** The kernel command line that boots a rootfs on the first virtio disk with its /init. */
export const rootfsAppend = ['root=/dev/vda', 'rw', 'rootfstype=ext4', 'init=/init'];

const nodes = [
  { path: '/dev/console', kind: 'c', major: 5, minor: 1 },
  { path: '/dev/null', kind: 'c', major: 1, minor: 3 },
] as const;

async function duBytes(dir: string): Promise<number> {
  const r = await runCommand(['du', '-sb', dir]);
  return Number(r.stdout.split(/\s/)[0]) || 0;
}

export class RootfsBuilder {
  constructor(
    private readonly workspace: Workspace,
    private readonly images: ImageBuilder,
    private readonly executor: Executor = hostExecutor,
  ) {}

  async build(
    spec: InitramfsSpec & { extraMiB?: number },
    genInitCpio: string,
    signal?: AbortSignal,
    progress?: Progress,
  ): Promise<RootfsImage> {
    // The initramfs is the first half of the work; its own steps are scaled into it.
    const half: Progress | undefined = progress && {
      report: (u) =>
        progress.report({ ...u, ...(typeof u.fraction === 'number' ? { fraction: u.fraction / 2 } : {}) }),
      log: (text) => progress.log(text),
    };
    const content = await this.images.buildInitramfs(spec, genInitCpio, signal, half);
    const extraMiB = spec.extraMiB ?? 0;
    const key = cacheKey({ initramfs: content.key, extraMiB, format: 'ext4' });
    const cache = this.workspace.cache('rootfs');
    const hit = await cache.lookup(key);
    if (hit)
      return {
        key,
        path: join(cache.entryDir(key), 'rootfs.ext4'),
        size: hit.outputs[0]!.size,
        cacheHit: true,
        content,
      };

    const staging = join(this.workspace.tmpDir, `rootfs-${process.pid}-${Date.now()}`);
    const tree = join(staging, 'tree');
    await mkdir(tree, { recursive: true });
    try {
      progress?.report({ fraction: 0.55, message: 'Unpacking the contents (cpio)' });
      const cpio = join(staging, 'image.cpio');
      await writeFile(cpio, gunzipSync(await readFile(content.path)));
      // Unprivileged cpio cannot mknod: it says so and goes on; debugfs adds the nodes below.
      await this.executor.run(['cpio', '-id', '--no-absolute-filenames', '--quiet', '-F', cpio], {
        cwd: tree,
        installHint: 'apt-get install -y cpio',
        ...(signal ? { signal } : {}),
      });
      if (!(await stat(join(tree, 'bin', 'busybox')).catch(() => null)))
        throw new LabError('IO', 'Unpacking the image content for the rootfs failed (no /bin/busybox).');
      await rm(cpio, { force: true });
      const bytes = await duBytes(tree);
      const sizeMiB = Math.ceil((bytes * 1.3) / 1024 / 1024) + 16 + extraMiB;
      return {
        key,
        content,
        cacheHit: false,
        ...(await cache
          .commit(key, { kind: 'rootfs', initramfs: content.key, extraMiB }, async (dir) => {
            progress?.report({ fraction: 0.7, message: `Writing a ${sizeMiB} MiB ext4 (mkfs.ext4 -d)` });
            const image = join(dir, 'rootfs.ext4');
            await writeFile(image, '');
            await truncate(image, sizeMiB * 1024 * 1024);
            const mkfs = await this.executor.run(
              ['mkfs.ext4', '-F', '-q', '-L', 'kdlab-root', '-E', 'root_owner=0:0', '-d', tree, image],
              { installHint: 'apt-get install -y e2fsprogs', ...(signal ? { signal } : {}) },
            );
            if (mkfs.exitCode !== 0) throw new LabError('IO', `mkfs.ext4 -d failed: ${mkfs.stderr.trim()}`);
            progress?.report({ fraction: 0.9, message: 'Adding device nodes (debugfs)' });
            for (const node of nodes) {
              const exists = await this.executor.run(['debugfs', '-R', `stat ${node.path}`, image]);
              if (/File not found/.test(exists.stderr) || exists.exitCode !== 0) {
                const made = await this.executor.run([
                  'debugfs',
                  '-w',
                  '-R',
                  `mknod ${node.path} ${node.kind} ${node.major} ${node.minor}`,
                  image,
                ]);
                if (made.exitCode !== 0)
                  throw new LabError('IO', `debugfs could not create ${node.path}: ${made.stderr.trim()}`);
              }
            }
            return ['rootfs.ext4'];
          })
          .then((m) => ({ path: join(cache.entryDir(key), 'rootfs.ext4'), size: m.outputs[0]!.size }))),
      };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}
