/* One growth rule for the arrays filled one element at a time (events, notes, take pairs, bytes): capacity
 * doubling from a first size, every product checked against size_t overflow. */
#ifndef A2M_CORE_GROW_H
#define A2M_CORE_GROW_H

#include <stddef.h>

/* Room for at least `need` elements of `size` bytes in the array *pp (pp: the address of a T * variable) of
 * capacity *cap elements: doubles from `first` (or the current capacity) until it fits. 0, or A2M_ERR_NOMEM when
 * the allocation fails or the size would overflow; then the array and *cap are unchanged (the caller names
 * its file in the error it raises). */
int a2m_grow(void *pp, size_t *cap, size_t need, size_t size, size_t first);

#endif
