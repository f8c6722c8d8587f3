#define A2M_DL_NO_REDIRECT
#include "gen/rubberband_dl.h"

#ifndef A2M_RUBBERBAND_SONAME
#define A2M_RUBBERBAND_SONAME "librubberband.so.2"
#endif

A2M_DL_DEFINE(a2m_rubberband, A2M_RUBBERBAND_SONAME, A2M_RUBBERBAND_FNS)
