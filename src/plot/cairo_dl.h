/* cairo, opened when first used (src/core/dynlib.h: not at every process start). A function newly
 * called from a2m goes into this list. */
#ifndef A2M_PLOT_CAIRO_DL_H
#define A2M_PLOT_CAIRO_DL_H

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "core/dynlib.h"

#define A2M_CAIRO_FNS(X)                                                                                               \
    X(cairo_arc)                                                                                                       \
    X(cairo_clip)                                                                                                      \
    X(cairo_create)                                                                                                    \
    X(cairo_destroy)                                                                                                   \
    X(cairo_fill)                                                                                                      \
    X(cairo_fill_preserve)                                                                                             \
    X(cairo_get_source)                                                                                                \
    X(cairo_image_surface_create)                                                                                      \
    X(cairo_image_surface_get_data)                                                                                    \
    X(cairo_image_surface_get_stride)                                                                                  \
    X(cairo_line_to)                                                                                                   \
    X(cairo_move_to)                                                                                                   \
    X(cairo_new_sub_path)                                                                                              \
    X(cairo_paint)                                                                                                     \
    X(cairo_pattern_set_filter)                                                                                        \
    X(cairo_pdf_surface_create)                                                                                        \
    X(cairo_rectangle)                                                                                                 \
    X(cairo_restore)                                                                                                   \
    X(cairo_rotate)                                                                                                    \
    X(cairo_save)                                                                                                      \
    X(cairo_scale)                                                                                                     \
    X(cairo_select_font_face)                                                                                          \
    X(cairo_set_dash)                                                                                                  \
    X(cairo_set_font_size)                                                                                             \
    X(cairo_set_line_width)                                                                                            \
    X(cairo_set_source_rgb)                                                                                            \
    X(cairo_set_source_rgba)                                                                                           \
    X(cairo_set_source_surface)                                                                                        \
    X(cairo_show_text)                                                                                                 \
    X(cairo_stroke)                                                                                                    \
    X(cairo_surface_destroy)                                                                                           \
    X(cairo_surface_finish)                                                                                            \
    X(cairo_surface_mark_dirty)                                                                                        \
    X(cairo_surface_status)                                                                                            \
    X(cairo_surface_write_to_png)                                                                                      \
    X(cairo_svg_surface_create)                                                                                        \
    X(cairo_text_extents)                                                                                              \
    X(cairo_translate)

struct a2m_cairo_fns {
    A2M_CAIRO_FNS(A2M_DL_SLOT)
};
extern struct a2m_cairo_fns a2m_cairo;
/* 0 when the library is loaded, else A2M_ERR_UNSUPPORTED naming it */
int a2m_cairo_load(void);

#ifndef A2M_DL_NO_REDIRECT
#define cairo_arc                      a2m_cairo.cairo_arc
#define cairo_clip                     a2m_cairo.cairo_clip
#define cairo_create                   a2m_cairo.cairo_create
#define cairo_destroy                  a2m_cairo.cairo_destroy
#define cairo_fill                     a2m_cairo.cairo_fill
#define cairo_fill_preserve            a2m_cairo.cairo_fill_preserve
#define cairo_get_source               a2m_cairo.cairo_get_source
#define cairo_image_surface_create     a2m_cairo.cairo_image_surface_create
#define cairo_image_surface_get_data   a2m_cairo.cairo_image_surface_get_data
#define cairo_image_surface_get_stride a2m_cairo.cairo_image_surface_get_stride
#define cairo_line_to                  a2m_cairo.cairo_line_to
#define cairo_move_to                  a2m_cairo.cairo_move_to
#define cairo_new_sub_path             a2m_cairo.cairo_new_sub_path
#define cairo_paint                    a2m_cairo.cairo_paint
#define cairo_pattern_set_filter       a2m_cairo.cairo_pattern_set_filter
#define cairo_pdf_surface_create       a2m_cairo.cairo_pdf_surface_create
#define cairo_rectangle                a2m_cairo.cairo_rectangle
#define cairo_restore                  a2m_cairo.cairo_restore
#define cairo_rotate                   a2m_cairo.cairo_rotate
#define cairo_save                     a2m_cairo.cairo_save
#define cairo_scale                    a2m_cairo.cairo_scale
#define cairo_select_font_face         a2m_cairo.cairo_select_font_face
#define cairo_set_dash                 a2m_cairo.cairo_set_dash
#define cairo_set_font_size            a2m_cairo.cairo_set_font_size
#define cairo_set_line_width           a2m_cairo.cairo_set_line_width
#define cairo_set_source_rgb           a2m_cairo.cairo_set_source_rgb
#define cairo_set_source_rgba          a2m_cairo.cairo_set_source_rgba
#define cairo_set_source_surface       a2m_cairo.cairo_set_source_surface
#define cairo_show_text                a2m_cairo.cairo_show_text
#define cairo_stroke                   a2m_cairo.cairo_stroke
#define cairo_surface_destroy          a2m_cairo.cairo_surface_destroy
#define cairo_surface_finish           a2m_cairo.cairo_surface_finish
#define cairo_surface_mark_dirty       a2m_cairo.cairo_surface_mark_dirty
#define cairo_surface_status           a2m_cairo.cairo_surface_status
#define cairo_surface_write_to_png     a2m_cairo.cairo_surface_write_to_png
#define cairo_svg_surface_create       a2m_cairo.cairo_svg_surface_create
#define cairo_text_extents             a2m_cairo.cairo_text_extents
#define cairo_translate                a2m_cairo.cairo_translate
#endif

#endif
