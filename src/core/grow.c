#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"

int a2m_grow(void *pp, size_t *cap, size_t need, size_t size, size_t first) {
    if (need <= *cap) return A2M_OK;
    size_t c = *cap ? *cap : first ? first : 1;
    while (c < need) c = c > SIZE_MAX / 2 ? need : c * 2;
    if (size == 0 || c > SIZE_MAX / size) return A2M_ERR_NOMEM;
    void *p;
    memcpy(&p, pp, sizeof p); /* pp is a T **: its pointer read and written as bytes */
    void *np = realloc(p, c * size);
    if (!np) return A2M_ERR_NOMEM;
    memcpy(pp, &np, sizeof np);
    *cap = c;
    return A2M_OK;
}
