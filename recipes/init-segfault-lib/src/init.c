// SPDX-License-Identifier: GPL-2.0
/*
 * Seed 000: the image's init, dynamically linked against libkdlab.so. Like the upgrade in the
 * seed, it finishes its work, releases the library's state, then logs one more error — through
 * the freed global. As PID 1, the SIGSEGV kills init and the kernel panics.
 */
#include <stdio.h>
#include <unistd.h>
#include "libkdlab.h"

int main(void)
{
	printf("kdlab-init: PID %d, starting the upgrade\n", (int)getpid());
	kdlab_zone_init("upgrade");
	printf("kdlab-init: upgrade done, releasing the debug zone\n");
	fflush(stdout);
	kdlab_zone_exit();
	kdlab_print_err_msg("cleanup finished with warnings");
	return 0;
}
