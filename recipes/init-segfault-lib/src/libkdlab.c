// SPDX-License-Identifier: GPL-2.0
/*
 * Seed 000: a library keeps a global pointer that is valid for the whole life of the program —
 * except after its exit function freed it and set it to NULL. A late error message then reads
 * g_dbg_zone->flags through NULL: "init[1]: segfault at 18 … in libkdlab.so[…]".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libkdlab.h"

struct kdlab_zone *g_dbg_zone;

void kdlab_zone_init(const char *name)
{
	g_dbg_zone = calloc(1, sizeof(*g_dbg_zone));
	if (!g_dbg_zone)
		abort();
	strncpy(g_dbg_zone->name, name, sizeof(g_dbg_zone->name) - 1);
	g_dbg_zone->flags = 2;
}

void kdlab_zone_exit(void)
{
	free(g_dbg_zone);
	g_dbg_zone = NULL;
}

void kdlab_print_err_msg(const char *msg)
{
	if (g_dbg_zone->flags & 2)
		fprintf(stderr, "[%s] error: %s\n", g_dbg_zone->name, msg);
}
