/* libkdlab: a tiny "debug zone" logging library, the shape of seed 000's libmbase.so. */
#ifndef KDLAB_LIB_H
#define KDLAB_LIB_H

struct kdlab_zone {
	char name[16];		/* 0x00 */
	unsigned long id;	/* 0x10 */
	unsigned int flags;	/* 0x18: bit 1 = print error messages */
};

/* Set up at start, freed (and set to NULL) by kdlab_zone_exit(). */
extern struct kdlab_zone *g_dbg_zone;

void kdlab_zone_init(const char *name);
void kdlab_zone_exit(void);
void kdlab_print_err_msg(const char *msg);

#endif
