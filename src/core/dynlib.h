/* Optional shared libraries loaded when first used (dlopen), not at start-up: fluidsynth, rubberband and cairo
 * pull in ~60 more libraries (X11, PulseAudio, JACK, SDL2, glib...) whose loading and relocation cost every a2m
 * process ~15 ms of CPU (measured: an empty main linked with them 22 ms CPU, without them 7 ms), whether it
 * plots or synthesises or not. Only gendata, the pitch shifter and the plots need them.
 *
 * Per library, a header lists the functions used, FNS(X) = X(name) X(name)...; then
 *   struct PREFIX_fns { FNS(A2M_DL_SLOT) };   extern struct PREFIX_fns PREFIX;   int PREFIX_load(void);
 *   #define name PREFIX.name ...              (the callers' code stays as the library's documentation writes it)
 * and one .c file says A2M_DL_DEFINE(PREFIX, "libx.so.N", FNS). PREFIX_load() opens the library once per
 * process (pthread_once; the function pointers are then read-only) and returns 0 or A2M_ERR_UNSUPPORTED naming
 * the library ("libcairo.so.2: cannot open shared object file"); every entry point calls it before the rest. */
#ifndef A2M_CORE_DYNLIB_H
#define A2M_CORE_DYNLIB_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "a2m/error.h"

#define A2M_DL_SLOT(f) __typeof__(f) *f;
/* POSIX: a function's address from dlsym is copied out of the void * as its bytes */
#define A2M_DL_RESOLVE(f)                                                                                              \
    if (!err_) {                                                                                                       \
        void *p_ = dlsym(h_, #f);                                                                                      \
        if (p_) memcpy(&fns_->f, &p_, sizeof p_);                                                                      \
        else err_ = "a function is missing: " #f;                                                                      \
    }

#define A2M_DL_DEFINE(prefix, soname, FNS)                                                                             \
    struct prefix##_fns prefix;                                                                                        \
    static pthread_once_t prefix##_once = PTHREAD_ONCE_INIT;                                                           \
    static char prefix##_err[320];                                                                                     \
    static void prefix##_init(void) {                                                                                  \
        struct prefix##_fns *fns_ = &prefix;                                                                           \
        void *h_ = dlopen(soname, RTLD_NOW | RTLD_LOCAL);                                                              \
        const char *err_ = h_ ? NULL : dlerror();                                                                      \
        FNS(A2M_DL_RESOLVE)                                                                                            \
        if (err_) snprintf(prefix##_err, sizeof prefix##_err, "%s (%s)", err_ ? err_ : "", soname);                    \
    }                                                                                                                  \
    int prefix##_load(void) {                                                                                          \
        pthread_once(&prefix##_once, prefix##_init);                                                                   \
        return prefix##_err[0] ? a2m_error(A2M_ERR_UNSUPPORTED, "%s", prefix##_err) : A2M_OK;                          \
    }

#endif
