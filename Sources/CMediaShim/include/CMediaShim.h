#ifndef HEARTH_CMEDIASHIM_H
#define HEARTH_CMEDIASHIM_H
/* Fixed-arity wrappers for the variadic libvips calls Swift cannot make.
 * Each wrapper names the libvips call it stands for. */
#include <vips/vips.h>

/* vips_init(argv0) once per process; returns 0 on success. */
int hearth_vips_init(void);

#endif
