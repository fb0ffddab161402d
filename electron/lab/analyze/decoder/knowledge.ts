// What a report means and what to do next: a small knowledge base keyed on the decoded fields,
// covering the cases the seed write-ups walk through (init exiting with 127 / 0 / SIGSEGV, no root
// fs, a NULL dereference at a small offset, O/E taints, sysrq) and the other report kinds.
// Every text is in English and Simplified Chinese (students follow Chinese write-ups); the texts
// live in one table, `texts`, so a test can check every entry in both languages.
import type { LocalText, TextParam } from '../../../common/local-text';
import { fmt, joinText, sameText } from '../../../common/local-text';
import type { DecodedReport, ExitStatus, Explanation } from './types';

interface Context {
  taintedModules: string[];
  initExitNote: boolean;
}

const L = (en: string, zh: string): LocalText => ({ en, 'zh-CN': zh });
const none = sameText('');

/** The knowledge base's texts; `{name}` placeholders are filled by `fmt`. */
export const texts = {
  siteIn: L(' in {site}', '（位置 {site}）'),
  siteAt: L(' at {address}', '（地址 {address}）'),
  symbolizeStep: L(
    'Resolve the site to a source line: kdlab decode --vmlinux <vmlinux of this build> [--modules <dir of .ko files>] (the same as scripts/decode_stacktrace.sh).',
    '把出错位置解析成源码行：kdlab decode --vmlinux <本次构建的 vmlinux> [--modules <.ko 文件所在目录>]（效果同 scripts/decode_stacktrace.sh）。',
  ),
  codeBytesStep: L(
    'The Code: bytes show the faulting instruction; the register holding 0 is the NULL pointer.',
    'Code: 字节给出了出错的指令；值为 0 的那个寄存器就是 NULL 指针。',
  ),

  nullFnSummary: L(
    'The kernel jumped to address 0: it called a NULL function pointer (instruction fetch from 0).',
    '内核跳转到了地址 0：它调用了一个 NULL 函数指针（从地址 0 取指令）。',
  ),
  nullFnCauseOps: L(
    'A function pointer in an ops structure (callback) was NULL or was cleared while still in use.',
    '某个 ops 结构体里的函数指针（回调）为 NULL，或在仍被使用时被清空了。',
  ),
  nullFnCauseCaller: L(
    'The frame at the top of the call trace is the caller that made the indirect call.',
    '调用栈最顶上的那一帧就是发起这次间接调用的调用者。',
  ),
  nullFnStep: L(
    'Look at the first call-trace frame: it made the indirect call through the NULL pointer.',
    '查看调用栈的第一帧：正是它通过这个 NULL 指针做了间接调用。',
  ),
  nullOffSummary: L(
    'The kernel read or wrote address {address}{site}: a NULL structure pointer plus a field offset of {offset}.',
    '内核读写了地址 {address}{site}：这是 NULL 结构体指针加上成员偏移 {offset}。',
  ),
  nullOffCauseMember: L(
    'A pointer to a structure was NULL and the code accessed the member at offset {offset} ({bytes} bytes) — a NULL pointer plus a field offset.',
    '某个结构体指针为 NULL，而代码访问了偏移 {offset}（{bytes} 字节）处的成员——即 NULL 指针加成员偏移。',
  ),
  nullOffCauseWhy: L(
    'The pointer was never set, was cleared on a teardown or error path, or a lookup that can return NULL was not checked.',
    '该指针从未被赋值，或在销毁/出错路径上被清空，或者某个可能返回 NULL 的查找结果没有被检查。',
  ),
  nullOffStep: L(
    "Find which member sits at offset {offset}: pahole -C <struct> vmlinux, or gdb -batch -ex 'ptype /o struct <name>' vmlinux.",
    "找出偏移 {offset} 处是哪个成员：pahole -C <struct> vmlinux，或 gdb -batch -ex 'ptype /o struct <name>' vmlinux。",
  ),
  nullSummary: L('The kernel dereferenced a NULL pointer{site}.', '内核解引用了一个 NULL 指针{site}。'),
  nullCause: L(
    'A pointer was NULL where the code expected a valid object (uninitialised, freed and cleared, or an unchecked error return).',
    '代码期望一个有效对象的地方，指针却是 NULL（未初始化、释放后被清空，或没有检查出错的返回值）。',
  ),

  pagingSummary: L(
    'The kernel touched an address it may not access ({address}){site}.',
    '内核访问了一个不允许访问的地址（{address}）{site}。',
  ),
  addressNotShown: L('address not shown', '日志未给出地址'),
  pagingUserCause: L(
    'The address is a user-space address used directly by kernel code: a missing copy_from_user()/copy_to_user(), or SMAP/PAN stopping such an access.',
    '这是一个被内核代码直接使用的用户空间地址：漏用了 copy_from_user()/copy_to_user()，或者 SMAP/PAN 拦下了这种访问。',
  ),
  staleCause: L(
    'A stale or corrupted pointer (use after free, a freed vmalloc area, an out-of-bounds index).',
    '指针已过期或被破坏（释放后使用、已释放的 vmalloc 区域、越界下标）。',
  ),
  registersStep: L(
    'Check the registers for the address to see which pointer held it.',
    '在寄存器里找这个地址，看是哪个指针持有它。',
  ),
  poisonSlab: L(
    '0x6b6b… is the slab poison of freed objects: a use after free.',
    '0x6b6b… 是 slab 给已释放对象填充的毒化值：释放后使用（use after free）。',
  ),
  poisonList: L(
    '0xdead0000000001xx is LIST_POISON: a list entry was used after list_del().',
    '0xdead0000000001xx 是 LIST_POISON：链表项在 list_del() 之后仍被使用。',
  ),
  poisonRedzone: L(
    '0x5a5a… / 0xa5a5… are slab red-zone/poison patterns: memory corruption.',
    '0x5a5a… / 0xa5a5… 是 slab 的红区/毒化填充模式：内存被破坏了。',
  ),

  initWho: L('PID 1 ({comm})', 'PID 1（{comm}）'),
  initExitUnknownSummary: L(
    '{who} exited, and the kernel cannot run without init.',
    '{who}退出了，而内核离开 init 就无法运行。',
  ),
  initExitUnknownStep: L(
    'Look at the lines just before the panic: they usually say why init stopped.',
    '看 panic 之前的那几行：它们通常会说明 init 为什么停止。',
  ),
  initExitedSummary: L(
    '{who} exited with status {code}; init must never exit, so the kernel panicked.',
    '{who}以退出状态 {code} 退出；init 绝不能退出，所以内核 panic 了。',
  ),
  exit0CauseReturned: L(
    'init returned normally: the /init script reached its end, or ran `exit` (with a busybox shell as init, typing exit or Ctrl-D does this).',
    'init 正常返回了：/init 脚本执行到了末尾，或者执行了 `exit`（用 busybox shell 作 init 时，输入 exit 或按 Ctrl-D 就会这样）。',
  ),
  exit0CauseNoExec: L(
    'An init that should hand over to the real system (switch_root, exec /sbin/init) did not exec it.',
    '本应把控制权交给真正系统的 init（switch_root、exec /sbin/init）没有 exec 过去。',
  ),
  exit0CauseSegv: L(
    'It exited with 0 after a SIGSEGV: its own signal handler caught the crash and called exit(0) — the segfault line is the real cause.',
    '它在 SIGSEGV 之后以 0 退出：它自己的信号处理函数（signal handler）捕获了崩溃并调用了 exit(0)——segfault 那一行才是真正的原因。',
  ),
  exit0Step: L(
    'End /init with `exec /bin/sh` or `exec switch_root /newroot /sbin/init` instead of letting it return.',
    '用 `exec /bin/sh` 或 `exec switch_root /newroot /sbin/init` 结束 /init，而不要让它返回。',
  ),
  exit127CauseNotFound: L(
    'Status 127 is the shell\'s "command not found": init (a script) tried to run a program that is not in the image.',
    '状态 127 是 shell 的“command not found”（找不到命令）：init（一个脚本）试图运行镜像里没有的程序。',
  ),
  exit127CauseCannotStart: L(
    'Or the program exists but cannot start: its #! interpreter, its ELF loader (/lib64/ld-linux-x86-64.so.2) or a shared library it needs is missing.',
    '也可能程序存在却无法启动：缺少它的 #! 解释器、ELF 加载器（/lib64/ld-linux-x86-64.so.2）或它需要的共享库。',
  ),
  exit127StepCheck: L(
    'Check the /init #! line and every command it runs against the image contents; copy the libraries `ldd` lists, or use a static busybox.',
    '对照镜像内容检查 /init 的 #! 行以及它运行的每一条命令；把 `ldd` 列出的库都拷进镜像，或者改用静态链接的 busybox。',
  ),
  exit127StepPreboot: L(
    "kdlab's pre-boot image checks catch a missing interpreter, loader or library before booting.",
    'kdlab 的启动前镜像检查能在启动之前发现缺失的解释器、加载器或库。',
  ),
  exit126Cause: L(
    'Status 126: a command was found but is not executable (mode bits, wrong architecture, noexec mount).',
    '状态 126：命令找到了，但无法执行（权限位、架构不对、noexec 挂载）。',
  ),
  exit126Step: L(
    'chmod +x the program in the image and check it is built for the guest architecture.',
    '在镜像里给该程序加上可执行权限（chmod +x），并确认它是为客户机架构编译的。',
  ),
  exitOtherCause: L(
    'init stopped with status {code}: a command in it failed and the script exited (set -e, or an explicit exit {code}).',
    'init 以状态 {code} 停止：其中某条命令失败，脚本随之退出（set -e，或显式的 exit {code}）。',
  ),
  exitOtherStep: L(
    "The console lines just before the panic usually carry the failing command's message.",
    'panic 之前的控制台输出里通常有失败命令打印的信息。',
  ),
  initSignalSummary: L(
    '{who} was killed by {signal}{core}; the kernel cannot run without init and panicked.',
    '{who}被 {signal} 杀死{core}；内核离开 init 无法运行，于是 panic 了。',
  ),
  coreDumped: L(' (core dumped)', '（已转储 core）'),
  segvCause: L(
    'init crashed with a segmentation fault: a bad pointer in init itself or in a library it loaded (a library built for another version, a NULL pointer).',
    'init 因段错误（SIGSEGV）崩溃：init 本身或它加载的某个库里有错误的指针（库是为别的版本编译的、NULL 指针）。',
  ),
  segvStepLine: L(
    'Look for the `init[1]: segfault at … ip … in OBJ[BASE+SIZE]` line: ip − BASE is the offset to disassemble in OBJ (objdump -d).',
    '找到 `init[1]: segfault at … ip … in OBJ[BASE+SIZE]` 这一行：ip − BASE 就是要在 OBJ 里反汇编（objdump -d）的偏移。',
  ),
  segvStepGdb: L(
    'Run the same binary in a chroot of the image under gdb to reproduce it.',
    '在镜像的 chroot 里用 gdb 运行同一个程序来复现。',
  ),
  killOopsCause: L(
    'A kernel oops happened while PID 1 was running kernel code; the kernel killed the task, which took init down.',
    'PID 1 在执行内核代码时发生了内核 oops；内核杀掉了这个任务，init 也就随之终止（SIGKILL）。',
  ),
  killOtherCause: L(
    "Something killed init with SIGKILL: most often the OOM killer (look for `Killed process 1`), or an oops in PID 1's context.",
    '有东西用 SIGKILL 杀死了 init：最常见的是 OOM killer（找 `Killed process 1`），或者是在 PID 1 上下文中发生的 oops。',
  ),
  killStep: L(
    'Decode the report before the panic: it is the real cause.',
    '解码 panic 之前的那份报告：它才是真正的原因。',
  ),
  sigillCause: L(
    'init executed an illegal instruction: a binary built for a newer CPU (-march) or another architecture.',
    'init 执行了非法指令：程序是为更新的 CPU（-march）或其他架构编译的。',
  ),
  sigillStep: L(
    "Check the binary's target (file, readelf -h) and the guest CPU model (QEMU -cpu).",
    '检查程序的目标平台（file、readelf -h）和客户机的 CPU 型号（QEMU -cpu）。',
  ),
  sigabrtCause: L(
    'init called abort(): an assertion or a fatal error inside init itself.',
    'init 调用了 abort()：init 自身的断言失败或出现致命错误。',
  ),
  sigbusCause: L(
    'init touched a mapping past the end of its file, or misaligned memory: a truncated binary or library.',
    'init 访问了超出文件末尾的映射或未对齐的内存：程序或库被截断了。',
  ),
  sigOtherCause: L(
    'init received {signal} and had no handler for it.',
    'init 收到了 {signal}，却没有为它设置处理函数。',
  ),
  oomInitCause: L(
    'The OOM killer chose PID 1 as a victim (memory.oom.group, or oom_score_adj not protecting init).',
    'OOM killer 选中了 PID 1 作为牺牲者（memory.oom.group，或者 oom_score_adj 没有保护 init）。',
  ),

  execCause: L(
    'The kernel could not execute {path}: {errno} ({meaning}).',
    '内核无法执行 {path}：{errno}（{meaning}）。',
  ),
  enoentCause: L(
    '{path} is missing, or it exists but its #! interpreter or its ELF loader is missing (exec reports ENOENT for those too).',
    '{path} 不存在；或者它存在，但它的 #! 解释器或 ELF 加载器不存在（这两种情况 exec 也报 ENOENT）。',
  ),
  enoentStep: L(
    "Check that {path} exists in the image, that its #! line points at a shell in the image, and that a dynamic binary's loader and libraries are there.",
    '确认镜像里有 {path}，它的 #! 行指向镜像里存在的 shell，并且动态链接程序的加载器和库都在。',
  ),
  enoexecCause: L(
    '{path} is not a format this kernel runs: a script without a #! line, or a binary for another architecture.',
    '{path} 不是这个内核能运行的格式：缺少 #! 行的脚本，或者其他架构的程序。',
  ),
  enoexecStep: L(
    'Start the script with #!/bin/sh, or rebuild the binary for the guest architecture.',
    '让脚本以 #!/bin/sh 开头，或者为客户机架构重新编译程序。',
  ),
  eaccesCause: L(
    '{path} is not executable (mode bits) or lives on a noexec mount.',
    '{path} 不可执行（权限位），或者位于 noexec 挂载点上。',
  ),
  eaccesStep: L('chmod 755 {path} in the image.', '在镜像里执行 chmod 755 {path}。'),
  execOtherStep: L('Check {path} in the image.', '检查镜像里的 {path}。'),

  gpfSummary: L(
    'General protection fault{site}{onAddress}.',
    '一般保护错误（general protection fault）{site}{onAddress}。',
  ),
  gpfOnAddress: L(' on the non-canonical address {address}', '，访问的是非规范地址 {address}'),
  gpfCause: L(
    'A corrupted pointer (non-canonical: its upper bits are not all 0 or all 1) — memory corruption, a use after free, or uninitialised data used as a pointer.',
    '指针已损坏（非规范地址：高位既不全是 0 也不全是 1）——内存被破坏、释放后使用，或者把未初始化的数据当成了指针。',
  ),
  gpfStep: L(
    'Look for the register holding the bad address; KASAN (CONFIG_KASAN) finds the corrupting write.',
    '找出持有这个错误地址的寄存器；KASAN（CONFIG_KASAN）能找到破坏内存的那次写入。',
  ),
  bugAtSummary: L(
    'A BUG_ON() assertion failed at {at}{site}: the kernel found a state it considers impossible.',
    '{at} 处的 BUG_ON() 断言失败{site}：内核遇到了它认为不可能出现的状态。',
  ),
  bugSummary: L('The kernel reported a bug: {title}{site}.', '内核报告了一个 bug：{title}{site}。'),
  bugCause: L(
    'The condition in the BUG_ON()/BUG() at that source line was true: read the line and the comment around it.',
    '该源码行上 BUG_ON()/BUG() 的条件成立了：读一读这一行及其周围的注释。',
  ),
  warnSummary: L(
    'A WARN_ON() fired{at}{site}. A warning is not fatal by itself{panicOnWarn}.',
    '触发了 WARN_ON(){at}{site}。警告本身并不致命{panicOnWarn}。',
  ),
  warnAt: L(' at {at}', '，位于 {at}'),
  warnPanics: L(
    ', but this kernel panics on warnings (panic_on_warn)',
    '，但这个内核设置了遇到警告就 panic（panic_on_warn）',
  ),
  warnCause: L(
    'The condition in the WARN_ON() at that source line was true: the kernel noticed an unexpected state and carried on.',
    '该源码行上 WARN_ON() 的条件成立了：内核发现了意外的状态，但继续运行。',
  ),
  warnStep: L(
    'The warning taints the kernel with W; later reports may be consequences of it.',
    '这个警告给内核打上了污染标记 W；之后的报告可能是它的后果。',
  ),
  softSummary: L(
    'CPU {cpu} ran kernel code{site} for too long without scheduling (soft lockup).',
    'CPU {cpu} 长时间运行内核代码{site}而没有调度（soft lockup，软锁死）。',
  ),
  softCauseLoop: L(
    'A loop in kernel code with preemption disabled: spinning on a lock held elsewhere, or waiting for other CPUs (smp_call_function_many).',
    '关闭了抢占的内核代码里有循环：在自旋等待别处持有的锁，或者在等待其他 CPU（smp_call_function_many）。',
  ),
  softCauseVirt: L(
    'Under virtualization an overloaded host (or QEMU TCG emulation) can stall a vCPU long enough to trigger this without a kernel bug.',
    '在虚拟化环境下，过载的宿主机（或 QEMU TCG 模拟）可能让 vCPU 停顿足够久，即使没有内核 bug 也会触发它。',
  ),
  softStep: L(
    'The RIP function is where the CPU was spinning; the call trace shows why it was waiting.',
    'RIP 所在的函数就是 CPU 自旋的地方；调用栈说明了它为什么在等待。',
  ),
  hungSummary: L(
    'Task {comm}{pid} was blocked in uninterruptible sleep (D state) for too long.',
    '任务 {comm}{pid} 在不可中断睡眠（D 状态）中阻塞了太久。',
  ),
  hungPid: L(' (PID {pid})', '（PID {pid}）'),
  hungCause: L(
    'It waits for something that never happens: an I/O that does not complete, a lock held by another stuck task, a completion never signalled.',
    '它在等一件永远不会发生的事：一直完成不了的 I/O、被另一个卡住的任务持有的锁、从未被触发的 completion。',
  ),
  hungStepTrace: L(
    'Read its call trace from the top: the first frames after schedule() name what it waits for.',
    '从顶部往下读它的调用栈：schedule() 之后的头几帧说明了它在等什么。',
  ),
  hungStepSysrq: L(
    'echo w > /proc/sysrq-trigger lists every blocked task; a lock held by one of them is the usual culprit.',
    'echo w > /proc/sysrq-trigger 会列出所有被阻塞的任务；其中某个任务持有的锁通常就是罪魁祸首。',
  ),
  rcuSummary: L(
    'RCU stall: a CPU{cpu} did not pass a quiescent state in time{site}.',
    'RCU stall：某个 CPU{cpu}没有及时经过静止状态（quiescent state）{site}。',
  ),
  rcuCpu: L(' ({cpu})', '（{cpu}）'),
  rcuCause: L(
    'A long loop with preemption or interrupts disabled on the stalled CPU, or the RCU grace-period kthread starved of CPU time.',
    '停滞的 CPU 上有关闭了抢占或中断的长循环，或者 RCU 宽限期内核线程分不到 CPU 时间。',
  ),
  rcuStep: L(
    "The stalled CPU's NMI backtrace (its RIP) shows where it was looping.",
    '停滞 CPU 的 NMI 回溯（它的 RIP）显示了它在哪里循环。',
  ),
  vfsSummary: L(
    'The kernel had no init to run from an initramfs, tried to mount the root= file system, and could not.',
    '内核在 initramfs 里找不到可运行的 init，于是尝试挂载 root= 指定的文件系统，但失败了。',
  ),
  vfsCauseNoDevice: L(
    'unknown-block(0,0) means no block device was named or found at all: there is no /init in the initramfs (or no initramfs), and no usable root= was given.',
    'unknown-block(0,0) 表示根本没有指定或找到块设备：initramfs 里没有 /init（或者根本没有 initramfs），也没有给出可用的 root=。',
  ),
  vfsCauseDriver: L(
    "The root device's driver or file system is not built into the kernel (=m instead of =y, e.g. virtio_blk or ext4).",
    '根设备的驱动或文件系统没有编进内核（是 =m 而不是 =y，例如 virtio_blk 或 ext4）。',
  ),
  vfsCauseRoot: L(
    'A wrong root= (device name, UUID, or partition that does not exist).',
    'root= 写错了（设备名、UUID，或者分区不存在）。',
  ),
  vfsStepInit: L(
    'For an initramfs lab: put an executable /init in the cpio (or pass rdinit=/path).',
    '对于 initramfs 实验：在 cpio 里放一个可执行的 /init（或者传入 rdinit=/path）。',
  ),
  vfsStepRoot: L(
    'Otherwise pass a valid root= and build the disk driver and file system into the kernel; the "available partitions" list above the panic shows what the kernel sees.',
    '否则请传入有效的 root=，并把磁盘驱动和文件系统编进内核；panic 上方的“available partitions”列表显示了内核能看到的设备。',
  ),
  oomSummary: L(
    'The kernel ran out of memory and the OOM killer killed {victim}{from}.',
    '内核内存耗尽，OOM killer 杀死了 {victim}{from}。',
  ),
  oomVictim: L('{comm} (PID {pid})', '{comm}（PID {pid}）'),
  oomSomeProcess: L('a process', '一个进程'),
  oomFrom: L('; the allocation came from {task}', '；触发内存分配的是 {task}'),
  oomMemcgCause: L(
    "A memory cgroup limit was reached (not the whole machine): the cgroup's memory.max is too small for its load.",
    '达到了内存 cgroup 的上限（而不是整机内存耗尽）：该 cgroup 的 memory.max 对它的负载来说太小。',
  ),
  oomSystemCause: L(
    'The whole system ran out of memory: a leak, or more load than RAM (guest memory too small).',
    '整个系统内存耗尽：内存泄漏，或者负载超过了内存容量（客户机内存太小）。',
  ),
  oomStep: L(
    'Read the memory usage table in the report; give the guest or cgroup more memory, or find the leaking task.',
    '阅读报告里的内存使用表；给客户机或 cgroup 更多内存，或者找出泄漏内存的任务。',
  ),
  fatalSummary: L(
    'The kernel panicked after an oops ("Fatal exception"), but the oops itself is not in this log.',
    '内核在一次 oops 之后 panic 了（“Fatal exception”），但这份日志里没有那次 oops 本身。',
  ),
  fatalCause: L(
    'The report scrolled away or was not captured: only the panic tail is shown.',
    '报告已经滚出屏幕或没有被捕获：只剩下 panic 的结尾部分。',
  ),
  fatalStep: L(
    'Capture the whole console: a serial console log (kdlab keeps one per VM), netconsole, pstore/ramoops, or kdump and `crash` `log`.',
    '捕获完整的控制台输出：串口控制台日志（kdlab 为每个虚拟机保存一份）、netconsole、pstore/ramoops，或者 kdump 加 `crash` 的 `log` 命令。',
  ),
  sysrqSummary: L(
    'A deliberate crash: someone wrote "c" to /proc/sysrq-trigger (or pressed SysRq+C).',
    '这是一次故意触发的崩溃：有人向 /proc/sysrq-trigger 写入了“c”（或者按下了 SysRq+C）。',
  ),
  sysrqCause: L(
    'This is how kdump setups are tested; nothing is broken.',
    '测试 kdump 配置就是这样做的；并没有东西坏掉。',
  ),
  sysrqStep: L(
    'If kdump was loaded, a vmcore should have been captured: open it with crash (sys, bt, log).',
    '如果加载了 kdump，应该已经捕获到了 vmcore：用 crash 打开它（sys、bt、log）。',
  ),
  kasanSummary: L(
    'KASAN caught an invalid memory access ({what}){site}{at}.',
    'KASAN 捕获到一次非法内存访问（{what}）{site}{at}。',
  ),
  kasanMemoryError: L('memory error', '内存错误'),
  kasanAt: L(' at {address}', '，地址 {address}'),
  kasanUafCause: L('An object was used after it was freed.', '对象在释放之后又被使用了。'),
  kasanOobCause: L(
    'An access outside the bounds of an allocated object (an off-by-one or a wrong size).',
    '访问超出了已分配对象的边界（差一错误或者大小算错）。',
  ),
  kasanStep: L(
    "The report's Allocated:/Freed: stacks show who created and who freed the object.",
    '报告里的 Allocated:/Freed: 调用栈显示了是谁分配、谁释放了这个对象。',
  ),
  userSummary: L(
    'User-space {who} crashed with SIGSEGV{inObject}{atOffset}{accessing}.',
    '用户态进程 {who} 因 SIGSEGV 崩溃{inObject}{atOffset}{accessing}。',
  ),
  userSomeProcess: L('a process', '（未知进程）'),
  userInObject: L(' in {object}', '，位于 {object}'),
  userAtOffset: L(' at offset {offset}', ' 偏移 {offset} 处'),
  userAccessing: L(' accessing {address}', '，访问地址 {address}'),
  userNullCause: L('It dereferenced a NULL pointer.', '它解引用了一个 NULL 指针。'),
  userNullOffsetCause: L(
    'It dereferenced a NULL pointer plus a field offset of {address} (a member of a structure whose pointer was NULL).',
    '它解引用了 NULL 指针加成员偏移 {address}（访问的是一个指针为 NULL 的结构体的成员）。',
  ),
  userAccessCause: L('The access was a {access}.', '这次访问是：{access}。'),
  userDisasmStep: L(
    "Disassemble {object} around the offset: objdump -d {object} (add the mapping's file offset for a shared library{printed}), or addr2line -f -e {object} {offset}.",
    '在该偏移附近反汇编 {object}：objdump -d {object}（共享库要加上该映射的文件偏移{printed}），或者 addr2line -f -e {object} {offset}。',
  ),
  userFileOffsetPrinted: L('; the kernel printed it: {fileOffset}', '；内核已经打印出来了：{fileOffset}'),
  userDisasmIpStep: L('Disassemble the binary around the ip.', '在 ip 附近反汇编这个程序。'),
  userCodeStep: L(
    'The Code: bytes after the line are the instructions at ip; the register that holds the small address is the NULL pointer.',
    '该行之后的 Code: 字节就是 ip 处的指令；持有那个小地址的寄存器就是 NULL 指针。',
  ),
  userPid1Cause: L(
    'The crashing process is PID 1: when init dies the kernel panics ("Attempted to kill init!").',
    '崩溃的进程是 PID 1：init 一死，内核就会 panic（“Attempted to kill init!”）。',
  ),
  noInitSummary: L(
    'The kernel found no init it could execute and panicked.',
    '内核找不到可以执行的 init，于是 panic 了。',
  ),
  noInitStep: L(
    'Pass init=/path (or rdinit= for an initramfs) pointing at an executable that exists in the image.',
    '传入 init=/path（initramfs 用 rdinit=），指向镜像里确实存在的可执行文件。',
  ),
  hardLockupSummary: L(
    'Hard lockup: a CPU stopped taking interrupts (a loop with interrupts disabled).',
    'Hard lockup（硬锁死）：某个 CPU 不再响应中断（在关中断的状态下循环）。',
  ),
  hardLockupStep: L(
    'The NMI backtrace of that CPU shows where it was spinning.',
    '该 CPU 的 NMI 回溯显示了它在哪里自旋。',
  ),
  panicSummary: L('The kernel panicked: {message}', '内核 panic：{message}'),
  reportSummary: L('Kernel report: {title}', '内核报告：{title}'),
  thenPanicCause: L('It then ended in a panic: {summary}', '随后以 panic 告终：{summary}'),
  fatalOopsCause: L(
    'The oops was fatal (in interrupt context, or panic_on_oops is set), so the kernel panicked.',
    '这次 oops 是致命的（发生在中断上下文中，或者设置了 panic_on_oops），所以内核 panic 了。',
  ),
  moduleCause: L('The faulting code is in the module {module}.', '出错的代码位于模块 {module} 中。'),
  taintOECause: L(
    'The kernel is tainted {flags}: an out-of-tree (O) or unsigned (E) module is loaded{modules}. If it appears in the trace, suspect it first; upstream will want a report without it.',
    '内核带有污染标记 {flags}：加载了树外（O）或未签名（E）的模块{modules}。如果它出现在调用栈里，先怀疑它；向上游报告时，对方会要求在不加载它的情况下复现。',
  ),
  taintModules: L(': {list}', '：{list}'),
  taintPCause: L(
    'A proprietary module (taint P) is loaded: its code cannot be inspected.',
    '加载了专有模块（污染标记 P）：它的代码无法检查。',
  ),
  taintDCause: L(
    'Taint D: an earlier oops happened; this report may be a consequence — decode the first one.',
    '污染标记 D：之前已经发生过一次 oops；这份报告可能是它的后果——先解码第一份。',
  ),
  taintWCause: L(
    'Taint W: a warning was printed earlier; look for it.',
    '污染标记 W：之前打印过一个警告；找到它。',
  ),
} satisfies Record<string, LocalText>;

/** The errno meanings of tables.ts in Chinese, for the sentence that names why exec failed. */
export const errnoMeaningsZh: Record<string, string> = {
  EPERM: '操作不允许',
  ENOENT: '没有那个文件或目录',
  EIO: '输入/输出错误',
  ENXIO: '没有那个设备或地址',
  E2BIG: '参数列表过长',
  ENOEXEC: '可执行文件格式错误（不是这个内核能运行的可执行文件）',
  ENOMEM: '内存不足',
  EACCES: '权限不够',
  EFAULT: '错误的地址',
  EBUSY: '设备或资源忙',
  ENODEV: '没有那个设备',
  ENOTDIR: '不是目录',
  EISDIR: '是一个目录',
  EINVAL: '无效的参数',
  ETXTBSY: '文本文件忙',
  ENOSPC: '设备上没有空间',
  EROFS: '只读文件系统',
  ENAMETOOLONG: '文件名过长',
  ELOOP: '符号链接的层数过多',
  EOPNOTSUPP: '不支持的操作',
  EUCLEAN: '结构需要清理（文件系统已损坏）',
};

/** arch/x86/include/asm/trap_pf.h in Chinese, like decodePageFaultError in tables.ts. */
function pageFaultAccess(hex: string | null, english: string): LocalText {
  const code = hex === null ? NaN : parseInt(hex, 16);
  if (Number.isNaN(code)) return L(english, `页错误码 ${hex ?? '?'}（${english}）`);
  const parts = [
    code & 4 ? '用户态' : '内核态',
    code & 16 ? '取指令' : code & 2 ? '写' : '读',
    code & 1 ? '访问了存在的页（违反保护属性）' : '访问了不存在的页',
  ];
  if (code & 8) parts.push('，页表项中设置了保留位');
  if (code & 32) parts.push('，被保护键（protection key）拦截');
  if (code & 0x8000) parts.push('（SGX）');
  return L(english, parts.join(''));
}

function site(r: DecodedReport): LocalText {
  if (!r.function) return r.address ? fmt(texts.siteAt, { address: r.address }) : none;
  return fmt(texts.siteIn, {
    site: `${r.function}${r.offset ? `+${r.offset}` : ''}${r.module ? ` [${r.module}]` : ''}`,
  });
}

function big(value: string | null): bigint | null {
  if (!value) return null;
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}

const t = (template: LocalText, params?: Record<string, TextParam>): LocalText => fmt(template, params);

function nullDeref(r: DecodedReport, out: Explanation): void {
  const addr = big(r.faultingAddress);
  if (addr === 0n && r.function === null && r.address !== null && big(r.address) === 0n) {
    out.summary = texts.nullFnSummary;
    out.likelyCauses.push(texts.nullFnCauseOps, texts.nullFnCauseCaller);
    out.nextSteps.push(texts.nullFnStep);
  } else if (addr !== null && addr > 0n && addr < 0x1000n) {
    const offset = `0x${addr.toString(16)}`;
    out.summary = t(texts.nullOffSummary, { address: r.faultingAddress ?? '', site: site(r), offset });
    out.likelyCauses.push(
      t(texts.nullOffCauseMember, { offset, bytes: addr.toString() }),
      texts.nullOffCauseWhy,
    );
    out.nextSteps.push(t(texts.nullOffStep, { offset }));
  } else {
    out.summary = t(texts.nullSummary, { site: site(r) });
    out.likelyCauses.push(texts.nullCause);
  }
  out.nextSteps.push(texts.symbolizeStep, texts.codeBytesStep);
}

function pagingFault(r: DecodedReport, out: Explanation): void {
  const addr = big(r.faultingAddress);
  out.summary = t(texts.pagingSummary, {
    address: r.faultingAddress ?? texts.addressNotShown,
    site: site(r),
  });
  const is64 = r.arch === 'x86_64' || r.arch === 'arm64' || r.arch === 'riscv64';
  if (addr !== null && is64 && addr < 0x0000800000000000n) out.likelyCauses.push(texts.pagingUserCause);
  poisonCauses(r.faultingAddress, out);
  out.likelyCauses.push(texts.staleCause);
  out.nextSteps.push(texts.symbolizeStep, texts.registersStep);
}

function poisonCauses(address: string | null, out: Explanation): void {
  const a = (address ?? '').toLowerCase();
  if (/6b6b6b6b/.test(a)) out.likelyCauses.push(texts.poisonSlab);
  if (/dead0000000001[02]/.test(a) || /dead000000000100|dead000000000122/.test(a))
    out.likelyCauses.push(texts.poisonList);
  if (/a5a5a5a5|5a5a5a5a/.test(a)) out.likelyCauses.push(texts.poisonRedzone);
}

function initExit(status: ExitStatus | null, r: DecodedReport, out: Explanation, ctx: Context): void {
  const who = t(texts.initWho, { comm: r.comm ?? 'init' });
  const viaOops = r.kind !== 'init-exit' && r.kind !== 'user-segfault' && r.kind !== 'oom';
  if (status === null) {
    out.summary = t(texts.initExitUnknownSummary, { who });
    out.nextSteps.push(texts.initExitUnknownStep);
    return;
  }
  if ('exited' in status) {
    const code = status.exited;
    out.summary = t(texts.initExitedSummary, { who, code });
    if (code === 0) {
      out.likelyCauses.push(texts.exit0CauseReturned, texts.exit0CauseNoExec);
      if (r.userSegfault) out.likelyCauses.unshift(texts.exit0CauseSegv);
      out.nextSteps.push(texts.exit0Step);
    } else if (code === 127) {
      out.likelyCauses.push(texts.exit127CauseNotFound, texts.exit127CauseCannotStart);
      out.nextSteps.push(texts.exit127StepCheck, texts.exit127StepPreboot);
    } else if (code === 126) {
      out.likelyCauses.push(texts.exit126Cause);
      out.nextSteps.push(texts.exit126Step);
    } else {
      out.likelyCauses.push(t(texts.exitOtherCause, { code }));
      out.nextSteps.push(texts.exitOtherStep);
    }
    return;
  }
  out.summary = t(texts.initSignalSummary, {
    who,
    signal: status.signalName,
    core: status.coreDumped ? texts.coreDumped : none,
  });
  switch (status.signalName) {
    case 'SIGSEGV':
      out.likelyCauses.push(texts.segvCause);
      out.nextSteps.push(texts.segvStepLine, texts.segvStepGdb);
      break;
    case 'SIGKILL':
      out.likelyCauses.push(viaOops || ctx.initExitNote ? texts.killOopsCause : texts.killOtherCause);
      out.nextSteps.push(texts.killStep);
      break;
    case 'SIGILL':
      out.likelyCauses.push(texts.sigillCause);
      out.nextSteps.push(texts.sigillStep);
      break;
    case 'SIGABRT':
      out.likelyCauses.push(texts.sigabrtCause);
      break;
    case 'SIGBUS':
      out.likelyCauses.push(texts.sigbusCause);
      break;
    default:
      out.likelyCauses.push(t(texts.sigOtherCause, { signal: status.signalName }));
  }
  if (r.oom?.victims.some((v) => v.pid === 1)) out.likelyCauses.unshift(texts.oomInitCause);
}

function initFailure(r: DecodedReport, out: Explanation): void {
  const f = r.initFailure;
  if (!f) return;
  const path = f.path ?? 'init';
  out.likelyCauses.push(
    t(texts.execCause, {
      path,
      errno: f.errnoName,
      meaning: L(f.meaning, errnoMeaningsZh[f.errnoName] ?? f.meaning),
    }),
  );
  switch (f.errnoName) {
    case 'ENOENT':
      out.likelyCauses.push(t(texts.enoentCause, { path }));
      out.nextSteps.push(t(texts.enoentStep, { path }));
      break;
    case 'ENOEXEC':
      out.likelyCauses.push(t(texts.enoexecCause, { path }));
      out.nextSteps.push(texts.enoexecStep);
      break;
    case 'EACCES':
      out.likelyCauses.push(t(texts.eaccesCause, { path }));
      out.nextSteps.push(t(texts.eaccesStep, { path }));
      break;
    default:
      out.nextSteps.push(t(texts.execOtherStep, { path }));
  }
}

function userSegfault(r: DecodedReport, out: Explanation, ctx: Context): void {
  const s = r.userSegfault;
  const who = joinText([
    r.comm ? sameText(r.comm) : texts.userSomeProcess,
    sameText(r.pid !== null ? `[${r.pid}]` : ''),
  ]);
  out.summary = t(texts.userSummary, {
    who,
    inObject: s?.object ? t(texts.userInObject, { object: s.object }) : none,
    atOffset: s?.offsetInObject ? t(texts.userAtOffset, { offset: s.offsetInObject }) : none,
    accessing: s?.address ? t(texts.userAccessing, { address: s.address }) : none,
  });
  const addr = big(s?.address ?? null);
  if (addr !== null && addr < 0x10000n)
    out.likelyCauses.push(
      addr === 0n ? texts.userNullCause : t(texts.userNullOffsetCause, { address: s!.address! }),
    );
  if (s?.errorDecoded)
    out.likelyCauses.push(t(texts.userAccessCause, { access: pageFaultAccess(s.error, s.errorDecoded) }));
  out.nextSteps.push(
    s?.object
      ? t(texts.userDisasmStep, {
          object: s.object,
          offset: s.offsetInObject ?? '',
          printed: s.fileOffset ? t(texts.userFileOffsetPrinted, { fileOffset: s.fileOffset }) : none,
        })
      : texts.userDisasmIpStep,
    texts.userCodeStep,
  );
  if (r.pid === 1) {
    out.likelyCauses.unshift(texts.userPid1Cause);
    if (r.exitStatus) {
      const detail = emptyExplanation();
      initExit(r.exitStatus, r, detail, ctx);
      // Of init's own explanation only the handler that turned the crash into exit(0).
      out.likelyCauses.push(...detail.likelyCauses.filter((c) => c === texts.exit0CauseSegv));
    }
  }
}

function emptyExplanation(): Explanation {
  return { summary: none, likelyCauses: [], nextSteps: [] };
}

export function explain(r: DecodedReport, ctx: Context): Explanation {
  const out = emptyExplanation();
  switch (r.kind) {
    case 'null-deref':
      nullDeref(r, out);
      break;
    case 'paging-fault':
      pagingFault(r, out);
      break;
    case 'gpf':
      out.summary = t(texts.gpfSummary, {
        site: site(r),
        onAddress: r.faultingAddress ? t(texts.gpfOnAddress, { address: r.faultingAddress }) : none,
      });
      poisonCauses(r.faultingAddress, out);
      out.likelyCauses.push(texts.gpfCause);
      out.nextSteps.push(texts.symbolizeStep, texts.gpfStep);
      break;
    case 'bug': {
      const at = /kernel BUG at (\S+?)!?$/.exec(r.title);
      out.summary = at
        ? t(texts.bugAtSummary, { at: at[1]!, site: site(r) })
        : t(texts.bugSummary, { title: r.title, site: site(r) });
      out.likelyCauses.push(texts.bugCause);
      out.nextSteps.push(texts.symbolizeStep);
      break;
    }
    case 'warning': {
      const at = / at (\S+:\d+) /.exec(r.title);
      out.summary = t(texts.warnSummary, {
        at: at ? t(texts.warnAt, { at: at[1]! }) : none,
        site: site(r),
        panicOnWarn: r.panic ? texts.warnPanics : none,
      });
      out.likelyCauses.push(texts.warnCause);
      out.nextSteps.push(texts.symbolizeStep, texts.warnStep);
      break;
    }
    case 'soft-lockup':
      out.summary = t(texts.softSummary, { cpu: r.cpu ?? '?', site: site(r) });
      out.likelyCauses.push(texts.softCauseLoop, texts.softCauseVirt);
      out.nextSteps.push(texts.softStep);
      break;
    case 'hung-task':
      out.summary = t(texts.hungSummary, {
        comm: r.comm ?? '?',
        pid: r.pid !== null ? t(texts.hungPid, { pid: r.pid }) : none,
      });
      out.likelyCauses.push(texts.hungCause);
      out.nextSteps.push(texts.hungStepTrace, texts.hungStepSysrq);
      break;
    case 'rcu-stall':
      out.summary = t(texts.rcuSummary, {
        cpu: r.cpu !== null ? t(texts.rcuCpu, { cpu: r.cpu }) : none,
        site: site(r),
      });
      out.likelyCauses.push(texts.rcuCause);
      out.nextSteps.push(texts.rcuStep);
      break;
    case 'init-exit':
      initExit(r.exitStatus, r, out, ctx);
      break;
    case 'vfs-no-root':
      out.summary = texts.vfsSummary;
      if (/unknown-block\(0,0\)/.test(r.panicMessage ?? r.title))
        out.likelyCauses.push(texts.vfsCauseNoDevice);
      out.likelyCauses.push(texts.vfsCauseDriver, texts.vfsCauseRoot);
      out.nextSteps.push(texts.vfsStepInit, texts.vfsStepRoot);
      break;
    case 'oom': {
      out.summary = t(texts.oomSummary, {
        victim: r.comm ? t(texts.oomVictim, { comm: r.comm, pid: r.pid ?? '?' }) : texts.oomSomeProcess,
        from: r.oom?.invokedBy ? t(texts.oomFrom, { task: r.oom.invokedBy }) : none,
      });
      out.likelyCauses.push(
        r.oom?.constraint === 'CONSTRAINT_MEMCG' || /Memory cgroup/.test(r.excerpt.join('\n'))
          ? texts.oomMemcgCause
          : texts.oomSystemCause,
      );
      out.nextSteps.push(texts.oomStep);
      break;
    }
    case 'fatal-exception':
      out.summary = texts.fatalSummary;
      out.likelyCauses.push(texts.fatalCause);
      out.nextSteps.push(texts.fatalStep);
      break;
    case 'sysrq':
      out.summary = texts.sysrqSummary;
      out.likelyCauses.push(texts.sysrqCause);
      out.nextSteps.push(texts.sysrqStep);
      break;
    case 'kasan': {
      const what = /KASAN: (\S+)/.exec(r.title);
      out.summary = t(texts.kasanSummary, {
        what: what?.[1] ?? texts.kasanMemoryError,
        site: site(r),
        at: r.faultingAddress ? t(texts.kasanAt, { address: r.faultingAddress }) : none,
      });
      out.likelyCauses.push(what?.[1] === 'use-after-free' ? texts.kasanUafCause : texts.kasanOobCause);
      out.nextSteps.push(texts.kasanStep, texts.symbolizeStep);
      break;
    }
    case 'user-segfault':
      userSegfault(r, out, ctx);
      break;
    case 'other':
      if (r.initFailure || /No working init found/.test(r.panicMessage ?? '')) {
        out.summary = texts.noInitSummary;
        initFailure(r, out);
        out.nextSteps.push(texts.noInitStep);
      } else if (/hard LOCKUP/.test(r.title)) {
        out.summary = texts.hardLockupSummary;
        out.nextSteps.push(texts.hardLockupStep);
      } else {
        out.summary = r.panicMessage
          ? t(texts.panicSummary, { message: r.panicMessage })
          : t(texts.reportSummary, { title: r.title });
        out.nextSteps.push(texts.symbolizeStep);
      }
      break;
  }
  if (r.exitStatus && r.kind !== 'init-exit' && r.kind !== 'user-segfault') {
    const detail = emptyExplanation();
    initExit(r.exitStatus, r, detail, ctx);
    out.likelyCauses.push(t(texts.thenPanicCause, { summary: detail.summary }));
  } else if (
    r.panic &&
    r.kind !== 'init-exit' &&
    r.kind !== 'fatal-exception' &&
    r.panicMessage &&
    /Fatal exception/.test(r.panicMessage)
  ) {
    out.likelyCauses.push(texts.fatalOopsCause);
  }
  if (r.module) out.likelyCauses.unshift(t(texts.moduleCause, { module: r.module }));
  const flags = r.tainted ?? '';
  if (/[OE]/.test(flags)) {
    const modules = ctx.taintedModules.length
      ? t(texts.taintModules, { list: ctx.taintedModules.join(', ') })
      : none;
    out.likelyCauses.push(t(texts.taintOECause, { flags: flags.replace(/[^OE]/g, ''), modules }));
  }
  if (flags.includes('P')) out.likelyCauses.push(texts.taintPCause);
  if (flags.includes('D')) out.likelyCauses.push(texts.taintDCause);
  if (r.kind !== 'warning' && flags.includes('W')) out.likelyCauses.push(texts.taintWCause);
  if (r.kind === 'other' && !out.summary.en) out.summary = t(texts.reportSummary, { title: r.title });
  return out;
}
