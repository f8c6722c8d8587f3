#define A2M_DL_NO_REDIRECT
#include "search/pq_dl.h"

#ifndef A2M_PQ_SONAME
#define A2M_PQ_SONAME "libpq.so.5"
#endif

A2M_DL_DEFINE(a2m_pq, A2M_PQ_SONAME, A2M_PQ_FNS)
