// SPDX-License-Identifier: GPL-2.0
/*
 * Seed 003 (panic_on_* sysctls): a kernel thread spins with preemption off and never schedules.
 * The soft-lockup watchdog's per-CPU stopper thread cannot run, so after 2 × watchdog_thresh
 * seconds the watchdog timer reports "watchdog: BUG: soft lockup - CPU#0 stuck for 22s!
 * [kdlab_spin:NN]"; with kernel.softlockup_panic=1 that becomes
 * "Kernel panic - not syncing: softlockup: hung tasks", which kdump captures.
 *
 * The spin is bounded (spin_seconds), so without softlockup_panic the guest recovers.
 */
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/preempt.h>

static unsigned int spin_seconds = 120;
module_param(spin_seconds, uint, 0444);
MODULE_PARM_DESC(spin_seconds, "How long the thread spins with preemption off (seconds)");

static noinline void kdlab_spin_forever(unsigned long until)
{
	/* jiffies still advances: the timer interrupt runs, only scheduling is off. */
	while (time_before(jiffies, until))
		cpu_relax();
}

static int kdlab_spin_thread(void *unused)
{
	pr_info("kdlab_soft_lockup: spinning for %us with preemption off\n", spin_seconds);
	preempt_disable();
	kdlab_spin_forever(jiffies + spin_seconds * HZ);
	preempt_enable();
	pr_info("kdlab_soft_lockup: done spinning\n");
	return 0;
}

static int __init kdlab_soft_lockup_init(void)
{
	struct task_struct *t = kthread_run(kdlab_spin_thread, NULL, "kdlab_spin");

	return IS_ERR(t) ? PTR_ERR(t) : 0;
}
module_init(kdlab_soft_lockup_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdlab: a kernel thread that spins with preemption off (soft lockup)");
