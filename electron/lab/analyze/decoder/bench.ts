// Decoder throughput on a large synthetic log: tens of MB of ordinary dmesg noise with crash
// reports scattered through it. Called by `npm run bench`.
import { decodeText } from './index';
import type { DecodedReport } from './types';

const noise = [
  'usb 2-3: new high-speed USB device number 3 using ehci-pci',
  'EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.',
  'audit: type=1400 audit(1700000000.123:42): apparmor="STATUS" operation="profile_load" name="/usr/bin/man"',
  'IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready',
  'systemd[1]: Started Journal Service.',
  'e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx',
  'random: crng init done',
  '[drm] Initialized i915 1.6.0 20201103 for 0000:00:02.0 on minor 0',
  'nf_conntrack: default automatic helper assignment has been turned off for security reasons',
  'pci 0000:00:1f.3: [8086:a348] type 00 class 0x040300',
];

const reports = [
  `BUG: kernel NULL pointer dereference, address: 0000000000000074
#PF: supervisor read access in kernel mode
#PF: error_code(0x0000) - not-present page
PGD 0 P4D 0
Oops: 0000 [#1] PREEMPT SMP NOPTI
CPU: 1 PID: 1362 Comm: demo Tainted: G           OE      6.1.0 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
RIP: 0010:demo_read+0x10/0x30 [demo]
Code: 0f 1f 44 00 00 55 48 89 e5 48 8b 47 08 <8b> 40 74 5d c3 cc cc cc cc 66 0f 1f 44 00 00
RSP: 0018:ffffc900001bfe28 EFLAGS: 00010246
RAX: 0000000000000000 RBX: ffff888003a5e000 RCX: 0000000000000000
Call Trace:
 <TASK>
 vfs_read+0xa1/0x17d
 ksys_read+0x66/0x97
 do_syscall_64+0x3d/0x4c
 entry_SYSCALL_64_after_hwframe+0x4b/0xb5
 </TASK>
---[ end trace 0000000000000000 ]---`,
  `------------[ cut here ]------------
WARNING: CPU: 0 PID: 42 at drivers/demo/demo.c:17 demo_probe+0x22/0x40 [demo]
Modules linked in: demo(O)
CPU: 0 PID: 42 Comm: insmod Tainted: G           O       6.1.0 #1
RIP: 0010:demo_probe+0x22/0x40 [demo]
Call Trace:
 <TASK>
 do_one_initcall+0x41/0x1d0
 do_init_module+0x4c/0x1f0
 </TASK>
---[ end trace 0000000000000000 ]---`,
  `init[1]: segfault at 0 ip 0000000000401000 sp 00007ffc3e1b5e40 error 6 in init[401000+1000] likely on CPU 0 (core 0, socket 0)
Code: Unable to access opcode bytes at 0x400fd6.
Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x3a/0x4c
 panic+0xfc/0x298
 do_exit.cold+0x14/0x9f
 </TASK>
---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b ]---`,
];

export function syntheticLog(targetBytes: number): { text: string; reports: number } {
  const parts: string[] = [];
  let size = 0;
  let t = 0;
  let count = 0;
  let i = 0;
  while (size < targetBytes) {
    t += 0.000731;
    let line: string;
    if (i % 20_000 === 19_999) {
      const report = reports[count % reports.length]!;
      count++;
      line = report
        .split('\n')
        .map((l) => `[${t.toFixed(6).padStart(12)}] ${l}`)
        .join('\n');
    } else line = `[${t.toFixed(6).padStart(12)}] ${noise[i % noise.length]!}`;
    parts.push(line);
    size += line.length + 1;
    i++;
  }
  return { text: `${parts.join('\n')}\n`, reports: count };
}

export interface BenchResult {
  mbPerSecond: number;
  inputBytes: number;
  peakRssDeltaBytes: number;
  reports: number;
}

/** Builds a ~40 MB log, decodes it, and reports throughput and peak memory over the input. */
export function benchDecode(targetBytes = 40 * 1024 * 1024): BenchResult {
  const { text, reports: expected } = syntheticLog(targetBytes);
  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  const decoded: DecodedReport[] = decodeText(text);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = process.resourceUsage().maxRSS * 1024;
  if (decoded.length !== expected)
    throw new Error(
      `benchDecode: expected ${expected} reports in the synthetic log, decoded ${decoded.length}`,
    );
  return {
    mbPerSecond: text.length / 1024 / 1024 / seconds,
    inputBytes: text.length,
    peakRssDeltaBytes: Math.max(0, peak - rssBefore),
    reports: decoded.length,
  };
}
