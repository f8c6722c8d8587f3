/* rubberband, opened when first used (src/core/dynlib.h: not at every process start). A function newly
 * called from a2m goes into this list. */
#ifndef A2M_GEN_RUBBERBAND_DL_H
#define A2M_GEN_RUBBERBAND_DL_H

#include <rubberband/rubberband-c.h>

#include "core/dynlib.h"

#define A2M_RUBBERBAND_FNS(X)                                                                                          \
    X(rubberband_available)                                                                                            \
    X(rubberband_delete)                                                                                               \
    X(rubberband_new)                                                                                                  \
    X(rubberband_process)                                                                                              \
    X(rubberband_retrieve)                                                                                             \
    X(rubberband_set_expected_input_duration)                                                                          \
    X(rubberband_set_formant_scale)                                                                                    \
    X(rubberband_set_max_process_size)                                                                                 \
    X(rubberband_study)

struct a2m_rubberband_fns {
    A2M_RUBBERBAND_FNS(A2M_DL_SLOT)
};
extern struct a2m_rubberband_fns a2m_rubberband;
/* 0 when the library is loaded, else A2M_ERR_UNSUPPORTED naming it */
int a2m_rubberband_load(void);

#ifndef A2M_DL_NO_REDIRECT
#define rubberband_available                   a2m_rubberband.rubberband_available
#define rubberband_delete                      a2m_rubberband.rubberband_delete
#define rubberband_new                         a2m_rubberband.rubberband_new
#define rubberband_process                     a2m_rubberband.rubberband_process
#define rubberband_retrieve                    a2m_rubberband.rubberband_retrieve
#define rubberband_set_expected_input_duration a2m_rubberband.rubberband_set_expected_input_duration
#define rubberband_set_formant_scale           a2m_rubberband.rubberband_set_formant_scale
#define rubberband_set_max_process_size        a2m_rubberband.rubberband_set_max_process_size
#define rubberband_study                       a2m_rubberband.rubberband_study
#endif

#endif
