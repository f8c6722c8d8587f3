#define A2M_DL_NO_REDIRECT
#include "gen/fluid_dl.h"

#ifndef A2M_FLUIDSYNTH_SONAME
#define A2M_FLUIDSYNTH_SONAME "libfluidsynth.so.3"
#endif

A2M_DL_DEFINE(a2m_fluidsynth, A2M_FLUIDSYNTH_SONAME, A2M_FLUIDSYNTH_FNS)
