/* Helpers shared by the figure files of src/plot (plot.c, plot_embed.c). */
#ifndef A2M_PLOT_INTERNAL_H
#define A2M_PLOT_INTERNAL_H

#include "plot/cairo_dl.h" /* cairo, opened when first used */

#include "a2m/plot.h"

typedef struct figure {
    cairo_surface_t *surface;
    cairo_t *cr;
    char *tmp;
    const char *path;
    int png;
} figure;

/* A white page of size in a temporary file beside path, as PNG/SVG/PDF by path's extension. */
int figure_open(figure *f, const char *path, a2m_plot_size size);
/* Writes the picture and renames it onto path (the temporary removed on failure). */
int figure_close(figure *f);
/* Text anchored at (x, y): ax, ay the fraction of its width/height left and below of the point. */
void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay);
/* A round tick step giving about `ticks` ticks over range. */
double nice_step(double range, int ticks);

#endif
