/* fluidsynth, opened when first used (src/core/dynlib.h: not at every process start). A function newly
 * called from a2m goes into this list. */
#ifndef A2M_GEN_FLUID_DL_H
#define A2M_GEN_FLUID_DL_H

#include <fluidsynth.h>

#include "core/dynlib.h"

#define A2M_FLUIDSYNTH_FNS(X)                                                                                          \
    X(delete_fluid_settings)                                                                                           \
    X(delete_fluid_synth)                                                                                              \
    X(fluid_preset_get_banknum)                                                                                        \
    X(fluid_preset_get_name)                                                                                           \
    X(fluid_preset_get_num)                                                                                            \
    X(fluid_set_log_function)                                                                                          \
    X(fluid_settings_setint)                                                                                           \
    X(fluid_settings_setnum)                                                                                           \
    X(fluid_sfont_iteration_next)                                                                                      \
    X(fluid_sfont_iteration_start)                                                                                     \
    X(fluid_synth_cc)                                                                                                  \
    X(fluid_synth_get_sfont_by_id)                                                                                     \
    X(fluid_synth_noteoff)                                                                                             \
    X(fluid_synth_noteon)                                                                                              \
    X(fluid_synth_pitch_bend)                                                                                          \
    X(fluid_synth_pitch_wheel_sens)                                                                                    \
    X(fluid_synth_program_select)                                                                                      \
    X(fluid_synth_set_gen)                                                                                             \
    X(fluid_synth_sfload)                                                                                              \
    X(fluid_synth_write_float)                                                                                         \
    X(new_fluid_settings)                                                                                              \
    X(new_fluid_synth)

struct a2m_fluidsynth_fns {
    A2M_FLUIDSYNTH_FNS(A2M_DL_SLOT)
};
extern struct a2m_fluidsynth_fns a2m_fluidsynth;
/* 0 when the library is loaded, else A2M_ERR_UNSUPPORTED naming it */
int a2m_fluidsynth_load(void);

#ifndef A2M_DL_NO_REDIRECT
#define delete_fluid_settings        a2m_fluidsynth.delete_fluid_settings
#define delete_fluid_synth           a2m_fluidsynth.delete_fluid_synth
#define fluid_preset_get_banknum     a2m_fluidsynth.fluid_preset_get_banknum
#define fluid_preset_get_name        a2m_fluidsynth.fluid_preset_get_name
#define fluid_preset_get_num         a2m_fluidsynth.fluid_preset_get_num
#define fluid_set_log_function       a2m_fluidsynth.fluid_set_log_function
#define fluid_settings_setint        a2m_fluidsynth.fluid_settings_setint
#define fluid_settings_setnum        a2m_fluidsynth.fluid_settings_setnum
#define fluid_sfont_iteration_next   a2m_fluidsynth.fluid_sfont_iteration_next
#define fluid_sfont_iteration_start  a2m_fluidsynth.fluid_sfont_iteration_start
#define fluid_synth_cc               a2m_fluidsynth.fluid_synth_cc
#define fluid_synth_get_sfont_by_id  a2m_fluidsynth.fluid_synth_get_sfont_by_id
#define fluid_synth_noteoff          a2m_fluidsynth.fluid_synth_noteoff
#define fluid_synth_noteon           a2m_fluidsynth.fluid_synth_noteon
#define fluid_synth_pitch_bend       a2m_fluidsynth.fluid_synth_pitch_bend
#define fluid_synth_pitch_wheel_sens a2m_fluidsynth.fluid_synth_pitch_wheel_sens
#define fluid_synth_program_select   a2m_fluidsynth.fluid_synth_program_select
#define fluid_synth_set_gen          a2m_fluidsynth.fluid_synth_set_gen
#define fluid_synth_sfload           a2m_fluidsynth.fluid_synth_sfload
#define fluid_synth_write_float      a2m_fluidsynth.fluid_synth_write_float
#define new_fluid_settings           a2m_fluidsynth.new_fluid_settings
#define new_fluid_synth              a2m_fluidsynth.new_fluid_synth
#endif

#endif
