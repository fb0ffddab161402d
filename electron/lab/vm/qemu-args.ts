// The QEMU command line, built by a pure function from a typed VM config (tested on its own).

export interface VmDisk {
  path: string;
  format: 'raw' | 'qcow2';
  /** virtio-blk disks appear in the guest as /dev/vda, /dev/vdb… in this order. */
  readOnly?: boolean;
  /** Writes go to a temporary overlay, so a cached image is never changed by a boot. */
  snapshot?: boolean;
}

export interface VmConfig {
  qemu?: string;
  accel: 'kvm' | 'tcg';
  kernel: string;
  initrd?: string;
  append: string;
  memoryMiB: number;
  cpus: number;
  disks?: VmDisk[];
  /** A host folder shared over virtio-9p with this mount tag. */
  share?: { path: string; tag: string };
  /** The guest's ttyS0, as a unix socket kdlab connects to (shown as a terminal). */
  serialSocket: string;
  qmpSocket: string;
  /** QEMU's gdb stub on this TCP port (`target remote :PORT`), or none. */
  gdbPort?: number;
  /** Where the stub listens: loopback on the host; 0.0.0.0 inside a container, published to the host's loopback. */
  gdbHost?: string;
  /** Start paused (-S) until gdb or the user says continue. */
  paused?: boolean;
}

export function qemuArgv(vm: VmConfig): string[] {
  const argv = [
    vm.qemu ?? 'qemu-system-x86_64',
    '-name',
    'kdlab',
    '-machine',
    'q35',
    '-accel',
    vm.accel,
    '-m',
    String(vm.memoryMiB),
    '-smp',
    String(vm.cpus),
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    vm.kernel,
  ];
  if (vm.initrd) argv.push('-initrd', vm.initrd);
  argv.push('-append', vm.append);
  argv.push(
    '-chardev',
    `socket,id=serial0,path=${vm.serialSocket},server=on,wait=off`,
    '-serial',
    'chardev:serial0',
  );
  argv.push('-qmp', `unix:${vm.qmpSocket},server=on,wait=off`);
  for (const [i, disk] of (vm.disks ?? []).entries()) {
    argv.push(
      '-drive',
      `file=${disk.path},format=${disk.format},if=virtio,index=${i}${disk.readOnly ? ',readonly=on' : ''}${disk.snapshot ? ',snapshot=on' : ''}`,
    );
  }
  if (vm.share) {
    argv.push(
      '-virtfs',
      `local,path=${vm.share.path},mount_tag=${vm.share.tag},security_model=none,id=${vm.share.tag}`,
    );
  }
  // Loopback only: the stub gives full control of the guest to whoever connects.
  if (vm.gdbPort !== undefined) argv.push('-gdb', `tcp:${vm.gdbHost ?? '127.0.0.1'}:${vm.gdbPort}`);
  if (vm.paused) argv.push('-S');
  return argv;
}

/** The kernel command line of a lab guest; nokaslr whenever gdb is in play (symbols must match). */
export function labAppend(options: { crashkernelMiB?: number; gdb?: boolean; extra?: string[] }): string {
  const parts = ['console=ttyS0,115200', 'panic=-1'];
  if (options.crashkernelMiB) parts.push(`crashkernel=${options.crashkernelMiB}M`);
  if (options.gdb || options.crashkernelMiB) parts.push('nokaslr');
  parts.push(...(options.extra ?? []));
  return parts.join(' ');
}
