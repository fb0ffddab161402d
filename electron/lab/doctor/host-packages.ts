// Which Debian/Ubuntu package provides each piece the lab needs. scripts/setup.sh installs the same
// list (a unit test keeps the two in step).

export const hostPackages = {
  qemu: 'qemu-system-x86',
  gdb: 'gdb',
  crash: 'crash',
  makedumpfile: 'makedumpfile',
  kexec: 'kexec-tools',
  busybox: 'busybox-static',
  e2fsprogs: 'e2fsprogs',
  cpio: 'cpio',
  gcc: 'build-essential',
  make: 'build-essential',
  flex: 'flex',
  bison: 'bison',
  bc: 'bc',
  libelf: 'libelf-dev',
  openssl: 'libssl-dev',
  pahole: 'dwarves',
  kernelSource: 'linux-source-6.1',
  docker: 'docker.io',
  debootstrap: 'debootstrap',
  chromium: 'chromium',
  // The UI's Chinese catalog rendered by the test browser (headless Chromium has no CJK font otherwise).
  cjkFont: 'fonts-wqy-microhei',
} as const;

export type HostPiece = keyof typeof hostPackages;

export function installCommand(packages: readonly string[], isRoot: boolean): string {
  const unique = [...new Set(packages)];
  return `${isRoot ? '' : 'sudo '}apt-get install -y ${unique.join(' ')}`;
}
