/* Scatter picture of a 2-D embedding (a2m embed): one colour per class, a legend with each class's count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/midi.h"
#include "a2m/plot.h"
#include "plot/plot_internal.h"

/* Tableau 10 (matplotlib's default cycle); silence is drawn grey */
static const double PALETTE[10][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741},
    {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}, {0.498, 0.498, 0.498}};

const char *a2m_embed_label_name(int64_t code, char *buf, size_t n) {
    if (code == -1) snprintf(buf, n, "silence");
    else if (code == -2) snprintf(buf, n, "onset");
    else if (code == -3) snprintf(buf, n, "below range");
    else if (code == -4) snprintf(buf, n, "above range");
    else if (code >= 0 && code <= 127) {
        char nm[8];
        snprintf(buf, n, "%s (%d)", a2m_note_name((int)code, nm), (int)code);
    } else snprintf(buf, n, "class %lld", (long long)code);
    return buf;
}

/* legend order: silence, notes ascending, onset, below, above, anything else */
static int code_rank(int64_t c) { return c == -1 ? -1000 : c >= 0 ? (int)(c > 1000 ? 1000 : c) : 2000 - (int)c; }
static int code_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    int rx = code_rank(x), ry = code_rank(y);
    return rx != ry ? (rx < ry ? -1 : 1) : (x < y ? -1 : x > y);
}

/* k: the class's place among the classes that are not silence */
static void class_colour(int64_t code, int k, double rgb[3]) {
    if (code == -1) {
        rgb[0] = rgb[1] = rgb[2] = 0.72;
        return;
    }
    memcpy(rgb, PALETTE[k % 9], sizeof(double) * 3); /* grey (the 10th) is silence's */
}

/* distinct codes (at most A2M_EMBED_MAX_CLASSES, sorted for the legend) and the index of each point's */
static int embed_classes(const int64_t *codes, size_t n, int64_t *cls, size_t *count, int *n_cls,
                         unsigned char *which) {
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < m && cls[k] != codes[i]) k++;
        if (k == m) {
            if (m == A2M_EMBED_MAX_CLASSES)
                return a2m_error(A2M_ERR_RANGE, "plot embed: more than %d classes", A2M_EMBED_MAX_CLASSES);
            cls[m++] = codes[i];
        }
    }
    qsort(cls, (size_t)m, sizeof *cls, code_cmp);
    memset(count, 0, (size_t)m * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (cls[k] != codes[i]) k++;
        which[i] = (unsigned char)k, count[k]++;
    }
    *n_cls = m;
    return A2M_OK;
}

/* point order: a fixed shuffle, so no class is drawn entirely over another */
static size_t *draw_order(size_t n) {
    size_t *o = malloc((n ? n : 1) * sizeof *o);
    if (!o) return NULL;
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < n; i++) o[i] = i;
    for (size_t i = n; i > 1; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        size_t j = (size_t)(s % i), t = o[i - 1];
        o[i - 1] = o[j], o[j] = t;
    }
    return o;
}

typedef struct view {
    double x0, y0, w, h, xmin, ymin, scale; /* pixels per unit, the same on both axes */
} view;

static int fit_view(const float *xy, size_t n, double x0, double y0, double w, double h, view *v) {
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
            return a2m_error(A2M_ERR_NONFINITE, "plot embed: point %zu is not finite", i);
        xmin = fmin(xmin, xy[2 * i]), xmax = fmax(xmax, xy[2 * i]);
        ymin = fmin(ymin, xy[2 * i + 1]), ymax = fmax(ymax, xy[2 * i + 1]);
    }
    double rx = fmax(xmax - xmin, 1e-9) * 1.04, ry = fmax(ymax - ymin, 1e-9) * 1.04;
    v->scale = fmin(w / rx, h / ry);
    v->x0 = x0, v->y0 = y0, v->w = w, v->h = h;
    v->xmin = (xmin + xmax) / 2 - w / v->scale / 2, v->ymin = (ymin + ymax) / 2 - h / v->scale / 2;
    return A2M_OK;
}

static void draw_points(cairo_t *cr, const view *v, const float *xy, const unsigned char *which, const size_t *order,
                        size_t n, double (*rgb)[3]) {
    double r = fmin(3.0, fmax(0.8, 3.0 * sqrt(2000.0 / (double)(n ? n : 1))));
    cairo_save(cr);
    cairo_rectangle(cr, v->x0, v->y0, v->w, v->h);
    cairo_clip(cr);
    for (size_t t = 0; t < n; t++) {
        size_t i = order[t];
        double px = v->x0 + (xy[2 * i] - v->xmin) * v->scale, py = v->y0 + v->h - (xy[2 * i + 1] - v->ymin) * v->scale;
        cairo_set_source_rgba(cr, rgb[which[i]][0], rgb[which[i]][1], rgb[which[i]][2], 0.6);
        cairo_arc(cr, px, py, r, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

static void draw_legend(cairo_t *cr, double x, double y, const int64_t *cls, const size_t *count, int m,
                        double (*rgb)[3]) {
    char name[48], line[80];
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, x, y, "class (frames)", 0, 0.5);
    for (int k = 0; k < m; k++) {
        double yy = y + 24 + 22 * k;
        cairo_set_source_rgb(cr, rgb[k][0], rgb[k][1], rgb[k][2]);
        cairo_arc(cr, x + 6, yy, 6, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(line, sizeof line, "%s  %zu", a2m_embed_label_name(cls[k], name, sizeof name), count[k]);
        text_at(cr, x + 18, yy, line, 0, 0.5);
    }
}

int a2m_plot_embed(const char *path, const float *xy, const int64_t *codes, size_t n, const char *title,
                   a2m_plot_size size) {
    if (n == 0) return a2m_error(A2M_ERR_EMPTY, "plot embed: no points");
    int64_t cls[A2M_EMBED_MAX_CLASSES];
    size_t count[A2M_EMBED_MAX_CLASSES];
    double rgb[A2M_EMBED_MAX_CLASSES][3];
    int m = 0;
    unsigned char *which = malloc(n);
    size_t *order = draw_order(n);
    int rc =
        which && order ? embed_classes(codes, n, cls, count, &m, which) : a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (int k = 0, c = 0; k < m; k++) class_colour(cls[k], cls[k] == -1 ? 0 : c++, rgb[k]);
    double lw = 200, x0 = 30, y0 = 44, w = size.width - x0 - lw - 20, h = size.height - y0 - 40;
    view v = {0};
    if (!rc && (w < 50 || h < 50))
        rc = a2m_error(A2M_ERR_ARG, "plot embed: %dx%d is too small", size.width, size.height);
    if (!rc) rc = fit_view(xy, n, x0, y0, w, h, &v);
    figure f;
    if (!rc) rc = figure_open(&f, path, size);
    if (!rc) {
        draw_points(f.cr, &v, xy, which, order, n, rgb);
        cairo_set_source_rgb(f.cr, 0, 0, 0);
        cairo_set_line_width(f.cr, 1);
        cairo_rectangle(f.cr, x0, y0, w, h);
        cairo_stroke(f.cr);
        text_at(f.cr, x0 + w / 2, y0 + h + 20, "UMAP 1", 0.5, 0.5);
        cairo_save(f.cr);
        cairo_translate(f.cr, x0 - 14, y0 + h / 2);
        cairo_rotate(f.cr, -M_PI / 2);
        text_at(f.cr, 0, 0, "UMAP 2", 0.5, 0.5);
        cairo_restore(f.cr);
        cairo_set_font_size(f.cr, 15);
        text_at(f.cr, size.width / 2.0, 22, title ? title : "", 0.5, 0.5);
        cairo_set_font_size(f.cr, 13);
        draw_legend(f.cr, x0 + w + 20, y0 + 10, cls, count, m, rgb);
        rc = figure_close(&f);
    }
    free(which), free(order);
    return rc;
}
