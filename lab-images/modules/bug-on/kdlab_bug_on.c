// SPDX-License-Identifier: GPL-2.0
/*
 * A failed assertion: BUG() prints "kernel BUG at <file>:<line>!" and an invalid opcode oops,
 * then (with panic_on_oops, as in the lab kernel) a panic that kdump captures.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init kdlab_bug_on_init(void)
{
	pr_info("kdlab_bug_on: an impossible state, asserted with BUG()\n");
	BUG();
	return 0;
}
module_init(kdlab_bug_on_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdlab: call BUG() on load");
