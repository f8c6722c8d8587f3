#define A2M_DL_NO_REDIRECT
#include "plot/cairo_dl.h"

#ifndef A2M_CAIRO_SONAME
#define A2M_CAIRO_SONAME "libcairo.so.2"
#endif

A2M_DL_DEFINE(a2m_cairo, A2M_CAIRO_SONAME, A2M_CAIRO_FNS)
