// How much memory to reserve with crashkernel=: the capture kernel, its initramfs unpacked, and
// room for the kernel and makedumpfile to run. Sized, then checked inside the guest (/proc/iomem).

export interface CrashkernelAdvice {
  mib: number;
  reasoning: string;
}

const mib = 1024 * 1024;

/** Reservation for a capture kernel of `kernelBytes` (bzImage) with an initramfs of `initrdBytes` (compressed). */
export function adviseCrashkernel(
  guestMemoryMiB: number,
  kernelBytes: number,
  initrdBytes: number,
): CrashkernelAdvice {
  // bzImage decompresses to about 4×, a gzip initramfs to about 3× plus its page cache copy;
  // 64 MiB covers the capture kernel's own allocations and makedumpfile's working set.
  const kernel = (kernelBytes * 4) / mib;
  const initrd = (initrdBytes * 3 * 2) / mib;
  const needed = kernel + initrd + 64;
  const rounded = Math.max(96, Math.ceil(needed / 32) * 32);
  if (rounded > guestMemoryMiB / 2) {
    return {
      mib: rounded,
      reasoning: `needs about ${rounded} MiB, more than half of the guest's ${guestMemoryMiB} MiB: give the guest more memory`,
    };
  }
  return {
    mib: rounded,
    reasoning: `capture kernel ≈${kernel.toFixed(0)} MiB unpacked + initramfs ≈${initrd.toFixed(0)} MiB + 64 MiB to run → ${rounded} MiB`,
  };
}

/** The "Crash kernel" range in /proc/iomem, as the guest printed it; null when nothing was reserved. */
export function parseCrashKernelRange(iomem: string): { start: bigint; end: bigint; mib: number } | null {
  const match = /([0-9a-f]+)-([0-9a-f]+) : Crash kernel/.exec(iomem);
  if (!match) return null;
  const start = BigInt(`0x${match[1]!}`);
  const end = BigInt(`0x${match[2]!}`);
  return { start, end, mib: Number((end - start + 1n) / BigInt(mib)) };
}
