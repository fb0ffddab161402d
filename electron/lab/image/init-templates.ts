// /init scripts for lab images. Each prints markers kdlab watches on the serial console.
import { LabError } from '../../common/errors';

export const initMarker = 'KDLAB-INIT-READY';

const prologue = `#!/bin/sh
# kdlab lab init: mount the pseudo filesystems, then do what the lab asks.
/bin/busybox --install -s /bin 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
`;

export type CrashTrigger =
  | { kind: 'sysrq' }
  | { kind: 'init-exit'; code: number }
  | { kind: 'module'; file: string }
  | { kind: 'none' };

export const kdumpLoadedMarker = 'KDLAB-KDUMP-LOADED';

function renderTrigger(trigger: CrashTrigger): string {
  switch (trigger.kind) {
    case 'sysrq':
      return 'echo "kdlab: triggering a crash with sysrq c"\necho c > /proc/sysrq-trigger\n';
    case 'init-exit':
      return `echo "kdlab: init exits with status ${trigger.code}"\nexit ${trigger.code}\n`;
    case 'module':
      // An Oops in insmod only kills insmod unless panic_on_oops is set; the lab's kdump fragment
      // sets CONFIG_PANIC_ON_OOPS, other kernels (Debian's) do not — without a panic, no kdump.
      return `echo 1 > /proc/sys/kernel/panic_on_oops\necho "kdlab: loading ${trigger.file}"\ninsmod /lib/modules/${trigger.file}\nexec /bin/sh\n`;
    case 'none':
      return 'exec /bin/sh\n';
  }
}

export type InitTemplate =
  | { kind: 'shell' }
  | { kind: 'sysrq-crash' }
  | { kind: 'exit'; code: number }
  | { kind: 'capture'; target: 'virtio-disk' | '9p'; dumpLevel: number }
  /**
   * Loads the capture kernel with kexec -p, sets the sysctls (e.g. kernel.softlockup_panic=1, so a
   * hang becomes a panic kdump can capture), then crashes the way the lab asks.
   */
  | { kind: 'kdump-armed'; trigger: CrashTrigger; captureAppend: string; sysctl?: Record<string, string> }
  | { kind: 'script'; text: string };

/** `echo VALUE > /proc/sys/NAME/WITH/SLASHES` lines; names and values are checked, as they land in a shell script. */
export function renderSysctls(sysctl: Record<string, string>): string {
  return Object.entries(sysctl)
    .map(([name, value]) => {
      if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$/.test(name) || !/^[\w.:-]+$/.test(value))
        throw new LabError(
          'BAD_REQUEST',
          `sysctl ${JSON.stringify(name)} = ${JSON.stringify(value)} is not a plain sysctl name and value.`,
          'Use names like kernel.softlockup_panic and values like 1.',
        );
      const file = `/proc/sys/${name.replaceAll('.', '/')}`;
      return `echo ${value} > ${file} && echo "kdlab: sysctl ${name}=$(cat ${file})" || echo "KDLAB-SYSCTL-FAILED: ${name}"\n`;
    })
    .join('');
}

export function renderInit(template: InitTemplate): string {
  switch (template.kind) {
    case 'shell':
      return `${prologue}echo ${initMarker}
echo "kdlab: $(uname -r) up; this shell is PID $$ — exiting it panics the kernel (Attempted to kill init!)"
exec /bin/sh
`;
    case 'sysrq-crash':
      return `${prologue}echo ${initMarker}
echo 1 > /proc/sys/kernel/sysrq
echo "kdlab: triggering a crash with sysrq c"
echo c > /proc/sysrq-trigger
`;
    case 'exit':
      return `${prologue}echo ${initMarker}
echo "kdlab: init exits with status ${template.code}"
exit ${template.code}
`;
    case 'capture': {
      const mount =
        template.target === '9p'
          ? 'mount -t 9p -o trans=virtio,version=9p2000.L kdlab-dump /mnt'
          : 'mount -t ext4 /dev/vda /mnt';
      return `${prologue}echo KDLAB-CAPTURE-START
${mount} || { echo "KDLAB-CAPTURE-FAILED: cannot mount the dump target"; poweroff -f; }
if [ -e /proc/vmcore ]; then
  makedumpfile -l -d ${template.dumpLevel} /proc/vmcore /mnt/vmcore.tmp && mv /mnt/vmcore.tmp /mnt/vmcore && echo KDLAB-CAPTURE-DONE || echo KDLAB-CAPTURE-FAILED
  dmesg > /mnt/capture-dmesg.txt
else
  echo "KDLAB-CAPTURE-FAILED: no /proc/vmcore (not a kdump capture kernel?)"
fi
sync
umount /mnt
poweroff -f
`;
    }
    case 'kdump-armed':
      return `${prologue}echo 1 > /proc/sys/kernel/sysrq
grep "Crash kernel" /proc/iomem | sed 's/^/KDLAB-CRASHKERNEL: /'
if kexec -p /boot/bzImage --initrd=/boot/capture.cpio.gz --append="${template.captureAppend}"; then
  echo ${kdumpLoadedMarker}
else
  echo KDLAB-KDUMP-LOAD-FAILED
fi
echo ${initMarker}
${renderSysctls(template.sysctl ?? {})}${renderTrigger(template.trigger)}`;
    case 'script':
      return template.text;
  }
}
