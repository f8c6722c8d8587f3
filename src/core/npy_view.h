/* Internal to the library: a .npy file's header parsed in place, its data left where it is (a mapped file's). */
#ifndef A2M_CORE_NPY_VIEW_H
#define A2M_CORE_NPY_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/io.h"

/* a2m_npy_parse's checks of buf's len bytes, out's dtype, ndim and shape filled, out->data NULL and *offset the
 * data's offset in buf (a C-order array's: A2M_ERR_UNSUPPORTED for a Fortran-order one) */
int a2m_npy_view(const uint8_t *buf, size_t len, const char *name, a2m_array *out, size_t *offset);

#endif
