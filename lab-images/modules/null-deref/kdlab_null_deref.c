// SPDX-License-Identifier: GPL-2.0
/*
 * Seeds 002/003: a driver reads a field through a NULL struct pointer. The oops reports
 * "BUG: kernel NULL pointer dereference, address: 0000000000000010" — 0x10 is the offset of
 * `flags` in struct kdlab_dev, which is how you find the field from the fault address.
 */
#include <linux/init.h>
#include <linux/module.h>

struct kdlab_dev {
	const char *name;	/* 0x00 */
	unsigned long id;	/* 0x08 */
	unsigned int flags;	/* 0x10 */
};

static noinline unsigned int kdlab_read_flags(struct kdlab_dev *dev)
{
	return dev->flags;
}

static int __init kdlab_null_deref_init(void)
{
	struct kdlab_dev *volatile dev = NULL;

	pr_info("kdlab_null_deref: reading dev->flags through a NULL pointer\n");
	return kdlab_read_flags(dev) ? -EINVAL : -EAGAIN;
}
module_init(kdlab_null_deref_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdlab: dereference a NULL struct pointer on load");
