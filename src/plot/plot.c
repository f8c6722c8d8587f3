/* Pictures with cairo. One surface helper picks PNG/SVG/PDF from the file
 * name; every figure is drawn into a temporary file and renamed. */
#include "a2m/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "plot/plot_internal.h"

const char *a2m_plot_format(const char *path) {
    static const char *const ext[3] = {"png", "svg", "pdf"};
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return ext[0]; /* no extension (/dev/stdout): PNG */
    for (int i = 0; i < 3; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0) return ext[i];
    return NULL;
}

int figure_open(figure *f, const char *path, a2m_plot_size size) {
    memset(f, 0, sizeof *f);
    f->path = path;
    int rc = a2m_cairo_load();
    if (rc) return a2m_error_prefix(rc, path);
    /* a .jpg name used to get PNG bytes: only the formats cairo writes are accepted */
    const char *fmt = a2m_plot_format(path);
    if (!fmt)
        return a2m_error(A2M_ERR_UNSUPPORTED, "%s: unknown picture format (the name must end in .png, .svg or .pdf)",
                         path);
    f->tmp = a2m_temp_path_for(path);
    if (!f->tmp) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    if (!strcmp(fmt, "svg")) f->surface = cairo_svg_surface_create(f->tmp, size.width, size.height);
    else if (!strcmp(fmt, "pdf")) f->surface = cairo_pdf_surface_create(f->tmp, size.width, size.height);
    else f->png = 1, f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size.width, size.height);
    if (cairo_surface_status(f->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(f->surface);
        remove(f->tmp);
        free(f->tmp);
        return a2m_error(A2M_ERR_IO, "%s: cannot create the picture", path);
    }
    f->cr = cairo_create(f->surface);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_select_font_face(f->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(f->cr, 13);
    return A2M_OK;
}

int figure_close(figure *f) {
    int rc = A2M_OK;
    cairo_destroy(f->cr);
    if (f->png && cairo_surface_write_to_png(f->surface, f->tmp) != CAIRO_STATUS_SUCCESS)
        rc = a2m_error(A2M_ERR_IO, "%s: cannot write PNG", f->path);
    cairo_surface_finish(f->surface);
    if (!rc && cairo_surface_status(f->surface) != CAIRO_STATUS_SUCCESS)
        rc = a2m_error(A2M_ERR_IO, "%s: cannot write", f->path);
    cairo_surface_destroy(f->surface);
    if (!rc) rc = a2m_rename_into(f->tmp, f->path);
    else remove(f->tmp);
    free(f->tmp);
    return rc;
}

/* viridis-like colour map, t in [0, 1] */
static void colormap(double t, double *r, double *g, double *b) {
    static const double k[5][3] = {{0.267, 0.005, 0.329},
                                   {0.229, 0.322, 0.546},
                                   {0.128, 0.567, 0.551},
                                   {0.369, 0.789, 0.383},
                                   {0.993, 0.906, 0.144}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double x = t * 4;
    int i = (int)x;
    if (i >= 4) i = 3;
    double u = x - i;
    *r = k[i][0] + u * (k[i + 1][0] - k[i][0]);
    *g = k[i][1] + u * (k[i + 1][1] - k[i][1]);
    *b = k[i][2] + u * (k[i + 1][2] - k[i][2]);
}

void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y + ay * e.height);
    cairo_show_text(cr, s);
}

static void text_vertical(cairo_t *cr, double x, double y, const char *s) {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, s, 0.5, 0.5);
    cairo_restore(cr);
}

double nice_step(double range, int ticks) {
    double raw = range / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

/* Plot area with a frame, x ticks (values) and a label. */
typedef struct axes {
    double x0, y0, w, h; /* pixels */
    double xmin, xmax, ymin, ymax;
    int x_integer; /* x ticks at whole numbers only (epochs) */
} axes;

/* Data is drawn clipped to the plot area: a value outside the axis range stops at the frame
 * (cairo_restore ends the clip). */
static void clip_to(cairo_t *cr, const axes *a) {
    cairo_save(cr);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_clip(cr);
}

static double ax_x(const axes *a, double v) { return a->x0 + (v - a->xmin) / (a->xmax - a->xmin) * a->w; }
static double ax_y(const axes *a, double v) { return a->y0 + a->h - (v - a->ymin) / (a->ymax - a->ymin) * a->h; }

static void draw_frame_and_xticks(cairo_t *cr, const axes *a, const char *xlabel) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    double st = nice_step(a->xmax - a->xmin, 8);
    if (a->x_integer) st = fmax(1, round(st)); /* 3 epochs gave ticks 1, 1.25, 1.5, ... */
    char buf[32];
    for (double v = ceil(a->xmin / st - 1e-9) * st; v <= a->xmax + 1e-9; v += st) {
        double x = ax_x(a, v);
        cairo_move_to(cr, x, a->y0 + a->h);
        cairo_line_to(cr, x, a->y0 + a->h + 5);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-9 * st ? 0.0 : v); /* the margin left of epoch 1 gave "-0" */
        text_at(cr, x, a->y0 + a->h + 9, buf, 0.5, 1);
    }
    text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 30, xlabel, 0.5, 1);
}

static void draw_yticks(cairo_t *cr, const axes *a, int right, const char *label, const char *fmt) {
    double st = nice_step(a->ymax - a->ymin, 6);
    char buf[32];
    double x = right ? a->x0 + a->w : a->x0;
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (double v = ceil(a->ymin / st) * st; v <= a->ymax + 1e-9; v += st) {
        double y = ax_y(a, v);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, right ? x + 5 : x - 5, y);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, fmt, v);
        text_at(cr, right ? x + 8 : x - 8, y, buf, right ? 0 : 1, 0.5);
    }
    text_vertical(cr, right ? x + 58 : x - 58, a->y0 + a->h / 2, label);
}

static void polyline(cairo_t *cr, const axes *a, const double *x, const double *y, size_t n) {
    int started = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) continue;
        if (!started) cairo_move_to(cr, ax_x(a, x[i]), ax_y(a, y[i])), started = 1;
        else cairo_line_to(cr, ax_x(a, x[i]), ax_y(a, y[i]));
    }
    cairo_stroke(cr);
}

static void legend_entry(cairo_t *cr, double x, double y, double r, double g, double b, int dashed, const char *s) {
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2.5);
    double d[1] = {5};
    cairo_set_dash(cr, d, dashed ? 1 : 0, 0);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + 24, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, x + 30, y, s, 0, 0.5);
}

/* One curve: a line, and a dot per epoch when there are few epochs (a one-epoch log is one dot
 * per series instead of an empty chart). */
static void curve(cairo_t *cr, const axes *a, const a2m_loss_curve *c, const double *y, int dashed) {
    double dash[1] = {4};
    cairo_set_line_width(cr, 2.5);
    cairo_set_dash(cr, dash, dashed ? 1 : 0, 0);
    polyline(cr, a, c->epoch, y, c->n);
    cairo_set_dash(cr, NULL, 0, 0);
    for (size_t i = 0; c->n <= 30 && i < c->n; i++) {
        if (!isfinite(y[i])) continue;
        cairo_arc(cr, ax_x(a, c->epoch[i]), ax_y(a, y[i]), c->n == 1 ? 5 : 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

/* how much of the four curves (sampled 16 times between epochs, so a line crossing the box counts
 * and not only its points) lies in the legend box at (cx, cy) */
static size_t legend_hides(const axes *a, const axes *b, const a2m_loss_curve *c, double cx, double cy) {
    const double *ys[4] = {c->train_loss, c->val_loss, c->val_accuracy, c->val_f1};
    size_t hidden = 0;
    for (int k = 0; k < 4; k++) {
        const axes *ax = k < 2 ? a : b;
        for (size_t i = 0; i < c->n; i++)
            for (int s = 0; s < (i + 1 < c->n ? 16 : 1); s++) {
                double t = s / 16.0, e = c->epoch[i], y = ys[k][i];
                if (t > 0) e += t * (c->epoch[i + 1] - e), y += t * (ys[k][i + 1] - y);
                double x = ax_x(ax, e), py = ax_y(ax, y);
                hidden += x >= cx - 8 && x <= cx + 182 && py >= cy - 12 && py <= cy + 70;
            }
    }
    return hidden;
}

/* of six places (left/right x top/middle/bottom), the one that hides the least of the curves */
static void loss_legend(cairo_t *cr, const axes *a, const axes *b, const a2m_loss_curve *c) {
    double lx = a->x0 + a->w - 190, ly = a->y0 + a->h * 0.35;
    size_t fewest = (size_t)-1;
    for (int pos = 0; pos < 6; pos++) {
        double cx = pos % 2 ? a->x0 + a->w - 190 : a->x0 + 20, cy = a->y0 + 24 + (a->h - 110) * (pos / 2) / 2.0;
        size_t hidden = legend_hides(a, b, c, cx, cy);
        if (hidden < fewest) fewest = hidden, lx = cx, ly = cy;
    }
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, lx - 8, ly - 12, 190, 82);
    cairo_fill(cr);
    legend_entry(cr, lx, ly, 0.12, 0.47, 0.71, 0, "train loss");
    legend_entry(cr, lx, ly + 19, 1.0, 0.5, 0.05, 0, "val loss");
    legend_entry(cr, lx, ly + 38, 0.17, 0.63, 0.17, 1, "val accuracy (right)");
    legend_entry(cr, lx, ly + 57, 0.84, 0.15, 0.16, 1, "val macro F1 (right)");
}

/* the loss axis (a) and the accuracy / F1 axis (b) share the epochs */
static size_t loss_axes(const a2m_loss_curve *c, a2m_plot_size size, axes *a, axes *b) {
    *a = (axes){80, 50, size.width - 170.0, size.height - 110.0, c->epoch[0], c->epoch[c->n - 1], 0, 0, 1};
    double margin = 0.02 * (a->xmax - a->xmin); /* the first and last dots inside the frame */
    a->xmin -= margin, a->xmax += margin;
    if (a->xmax <= a->xmin) a->xmin -= 0.5, a->xmax += 0.5; /* one epoch: its dot in the middle */
    double lmax = 0, accmin = 1;
    size_t best = 0;
    for (size_t i = 0; i < c->n; i++) {
        lmax = fmax(lmax, fmax(c->train_loss[i], c->val_loss[i]));
        accmin = fmin(accmin, fmin(c->val_accuracy[i], c->val_f1[i]));
        if (c->val_f1[i] > c->val_f1[best]) best = i;
    }
    a->ymax = lmax > 0 ? lmax * 1.05 : 1;
    *b = *a;
    b->ymin = floor(fmax(0, accmin - 0.02) * 20) / 20, b->ymax = 1;
    return best;
}

int a2m_plot_loss(const char *path, const a2m_loss_curve *c, a2m_plot_size size) {
    if (c->n == 0) return a2m_error(A2M_ERR_EMPTY, "%s: the training log has no epochs", path);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    axes a, b;
    size_t best = loss_axes(c, size, &a, &b);
    clip_to(cr, &a);
    /* best epoch marker */
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    double dash[1] = {4};
    cairo_set_dash(cr, dash, 1, 0);
    cairo_move_to(cr, ax_x(&a, c->epoch[best]), a.y0);
    cairo_line_to(cr, ax_x(&a, c->epoch[best]), a.y0 + a.h);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
    curve(cr, &a, c, c->train_loss, 0);
    cairo_set_source_rgb(cr, 1.0, 0.5, 0.05);
    curve(cr, &a, c, c->val_loss, 0);
    cairo_set_source_rgb(cr, 0.17, 0.63, 0.17);
    curve(cr, &b, c, c->val_accuracy, 1);
    cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
    curve(cr, &b, c, c->val_f1, 1);
    cairo_restore(cr);
    char buf[96];
    snprintf(buf, sizeof buf, "best epoch %g (val F1 %.4f)", c->epoch[best], c->val_f1[best]);
    /* the label sits on the side of the marker with room for it */
    int label_left = ax_x(&a, c->epoch[best]) > a.x0 + a.w * 0.6;
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    text_at(cr, ax_x(&a, c->epoch[best]) + (label_left ? -4 : 4), a.y0 + 6, buf, label_left ? 1 : 0, 1);
    cairo_set_line_width(cr, 1);
    draw_frame_and_xticks(cr, &a, "epoch");
    draw_yticks(cr, &a, 0, "cross-entropy loss", "%.2f");
    draw_yticks(cr, &b, 1, "validation accuracy / macro F1", "%.2f");
    cairo_set_font_size(cr, 15);
    text_at(cr, a.x0 + a.w / 2, 18, "training log", 0.5, 0.5);
    cairo_set_font_size(cr, 12);
    loss_legend(cr, &a, &b, c);
    return figure_close(&f);
}

static void colorbar(cairo_t *cr, double x, double y, double w, double h, double vmin, double vmax, const char *label,
                     const char *fmt) {
    for (int i = 0; i < (int)h; i++) {
        double r, g, b;
        colormap(1.0 - i / h, &r, &g, &b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, x, y + i, w, 1.5);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x, y, w, h);
    cairo_stroke(cr);
    axes a = {x, y, w, h, 0, 1, vmin, vmax, 0};
    draw_yticks(cr, &a, 1, label, fmt);
}

/* Confusion layout: the label font follows the cell size (13 px down to 7 px), column labels turn
 * vertical when they are wider than a cell, and the matrix with its colour bar is centred, so a
 * wide figure has no empty third and 64 classes fit without overlapping labels. */
typedef struct conf_layout {
    double x0, y0, side, cell, font, label_w;
    int vertical;
} conf_layout;

static double widest(cairo_t *cr, const char *const *names, int n, double font) {
    double w = 0;
    cairo_set_font_size(cr, font);
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, names[i], &e);
        w = fmax(w, e.x_advance);
    }
    return w;
}

static conf_layout confusion_layout(cairo_t *cr, int n, const char *const *names, a2m_plot_size size) {
    conf_layout L = {0, 50, 0, 0, 13, 0, 0};
    const double right = 25 + 18 + 75; /* colour bar, its ticks and label */
    double left = 0;
    for (int pass = 0; pass < 3; pass++) { /* the font depends on the cell, the margins on the font */
        L.label_w = widest(cr, names, n, L.font);
        left = 36 + L.label_w + 8;
        double bottom = 10 + (L.vertical ? L.label_w : L.font) + 40;
        L.side = fmax(20, fmin(size.width - left - right, size.height - L.y0 - bottom));
        L.cell = L.side / n;
        L.font = fmax(7, fmin(13, floor(L.cell * 0.55)));
        L.vertical = widest(cr, names, n, L.font) > L.cell - 4;
    }
    L.label_w = widest(cr, names, n, L.font);
    L.x0 = fmax(0, (size.width - (left + L.side + right)) / 2) + left;
    return L;
}

/* count and share in big cells, the share (%) alone in middle ones, colour only in small ones */
static void confusion_cell_text(cairo_t *cr, const conf_layout *L, int r, int c, int64_t count, double frac) {
    double x = L->x0 + (c + 0.5) * L->cell, y = L->y0 + (r + 0.5) * L->cell;
    char buf[64];
    cairo_set_source_rgb(cr, frac > 0.6 ? 0 : 1, frac > 0.6 ? 0 : 1, frac > 0.6 ? 0 : 1);
    if (L->cell >= 60) {
        cairo_set_font_size(cr, 13);
        snprintf(buf, sizeof buf, "%lld", (long long)count);
        text_at(cr, x, y - 8, buf, 0.5, 0.5);
        snprintf(buf, sizeof buf, "%.1f%%", 100 * frac);
        text_at(cr, x, y + 10, buf, 0.5, 0.5);
    } else if (L->cell >= 16 && count > 0) {
        cairo_set_font_size(cr, fmin(12, floor(L->cell * 0.42)));
        snprintf(buf, sizeof buf, "%.0f", 100 * frac);
        text_at(cr, x, y, buf, 0.5, 0.5);
    }
}

static void confusion_labels(cairo_t *cr, const conf_layout *L, int n, const char *const *names) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, L->font);
    for (int i = 0; i < n; i++) {
        double mid = (i + 0.5) * L->cell;
        text_at(cr, L->x0 - 6, L->y0 + mid, names[i], 1, 0.5);
        if (!L->vertical) {
            text_at(cr, L->x0 + mid, L->y0 + L->side + 8, names[i], 0.5, 1);
            continue;
        }
        cairo_save(cr); /* read from the bottom up, ending under the column */
        cairo_translate(cr, L->x0 + mid, L->y0 + L->side + 6);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, names[i], 1, 0.5);
        cairo_restore(cr);
    }
    double below = 8 + (L->vertical ? L->label_w : L->font) + 10;
    cairo_set_font_size(cr, 13);
    text_vertical(cr, L->x0 - L->label_w - 24, L->y0 + L->side / 2, "reference");
    text_at(cr, L->x0 + L->side / 2, L->y0 + L->side + below, "predicted", 0.5, 1);
}

int a2m_plot_confusion(const char *path, const int64_t *counts, int n, const char *const *names, a2m_plot_size size) {
    if (n <= 0 || n > A2M_MAX_CLASSES)
        return a2m_error(n <= 0 ? A2M_ERR_EMPTY : A2M_ERR_RANGE, "%s: %d classes (1 to %d)", path, n, A2M_MAX_CLASSES);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    conf_layout L = confusion_layout(cr, n, names, size);
    for (int r = 0; r < n; r++) {
        int64_t row = 0;
        for (int c = 0; c < n; c++) row += counts[r * n + c];
        for (int c = 0; c < n; c++) {
            double frac = row ? (double)counts[r * n + c] / (double)row : 0, cr_, cg, cb;
            colormap(frac, &cr_, &cg, &cb);
            cairo_set_source_rgb(cr, cr_, cg, cb);
            cairo_rectangle(cr, L.x0 + c * L.cell, L.y0 + r * L.cell, L.cell + 0.5, L.cell + 0.5);
            cairo_fill(cr);
            confusion_cell_text(cr, &L, r, c, counts[r * n + c], frac);
        }
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, L.x0, L.y0, L.side, L.side);
    cairo_stroke(cr);
    confusion_labels(cr, &L, n, names);
    cairo_set_font_size(cr, 15);
    text_at(cr, size.width / 2.0, 20, "confusion matrix (colour: share of the reference row)", 0.5, 0.5);
    cairo_set_font_size(cr, 12);
    colorbar(cr, L.x0 + L.side + 25, L.y0, 18, L.side, 0, 100, "% of row", "%.0f");
    return figure_close(&f);
}

a2m_plot_size a2m_plot_confusion_size(int n) {
    /* about 22 px a class from 20 classes on: 26 classes 772 px high, 64 classes 1608 */
    int h = 200 + 22 * n;
    h = h < 600 ? 600 : h > 1700 ? 1700 : h;
    return (a2m_plot_size){h + 140, h};
}

/* 128 lines, over the 80 of the rule on purpose: one figure's drawing (diagram, gaps, histogram, legend) shares
 * its axes and layout numbers throughout; pieces would pass a dozen of them each. */
int a2m_plot_reliability(const char *path, const a2m_reliability_curve *c, a2m_plot_size size) {
    int nb = c->n_bins;
    if (nb < 1 || nb > 1000) return a2m_error(A2M_ERR_EMPTY, "%s: %d confidence bins", path, nb);
    int64_t total = 0, max_count = 0;
    double acc = 0, conf = 0;
    for (int b = 0; b < nb; b++) {
        if (!isfinite(c->confidence[b]) || !isfinite(c->accuracy[b]))
            return a2m_error(A2M_ERR_NONFINITE, "%s: bin %d is not finite", path, b);
        if (c->count[b] < 0) return a2m_error(A2M_ERR_RANGE, "%s: bin %d has a negative count", path, b);
        total += c->count[b];
        if (c->count[b] > max_count) max_count = c->count[b];
        acc += c->accuracy[b] * (double)c->count[b], conf += c->confidence[b] * (double)c->count[b];
    }
    if (!total) return a2m_error(A2M_ERR_EMPTY, "%s: no frames in the reliability bins", path);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    /* upper panel (accuracy) and lower panel (share of frames) share the x axis */
    /* the legend at the right gets the width of its longest line */
    static const char *legend[3] = {"accuracy of the bin", "gap to mean confidence (line)", "perfect calibration"};
    double legend_w = 0;
    cairo_set_font_size(cr, 12);
    for (int i = 0; i < 3; i++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, legend[i], &e);
        legend_w = fmax(legend_w, 30 + e.x_advance);
    }
    double top = 45, bottom = 62, gap = 14, avail = size.height - top - bottom - gap;
    axes a = {80, top, fmax(100, size.width - 80 - 22 - legend_w - 12), avail * 0.72, 0, 1, 0, 1, 0};
    double max_share = 100.0 * (double)max_count / (double)total;
    axes h = {80, top + a.h + gap, a.w, avail - a.h, 0, 1, 0, max_share * 1.3, 0};
    double pad = 0.08 / nb; /* space between bars, in confidence units */
    axes both = a;
    both.h = h.y0 + h.h - a.y0;
    clip_to(cr, &both);
    for (int b = 0; b < nb; b++) {
        if (!c->count[b]) continue;
        double l = (double)b / nb + pad, r = (double)(b + 1) / nb - pad;
        double ac = fmin(1, fmax(0, c->accuracy[b])), cf = fmin(1, fmax(0, c->confidence[b]));
        cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
        cairo_rectangle(cr, ax_x(&a, l), ax_y(&a, ac), ax_x(&a, r) - ax_x(&a, l), ax_y(&a, 0) - ax_y(&a, ac));
        cairo_fill(cr);
        /* gap between the bin's accuracy and its mean confidence */
        cairo_set_source_rgba(cr, 0.84, 0.15, 0.16, 0.4);
        cairo_rectangle(cr, ax_x(&a, l), ax_y(&a, fmax(ac, cf)), ax_x(&a, r) - ax_x(&a, l),
                        ax_y(&a, fmin(ac, cf)) - ax_y(&a, fmax(ac, cf)));
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, ax_x(&a, l), ax_y(&a, cf));
        cairo_line_to(cr, ax_x(&a, r), ax_y(&a, cf));
        cairo_stroke(cr);
        /* histogram bar and its count */
        double share = 100.0 * (double)c->count[b] / (double)total;
        cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
        cairo_rectangle(cr, ax_x(&h, l), ax_y(&h, share), ax_x(&h, r) - ax_x(&h, l), ax_y(&h, 0) - ax_y(&h, share));
        cairo_fill(cr);
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)c->count[b]);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_font_size(cr, 11);
        text_at(cr, ax_x(&h, (l + r) / 2), ax_y(&h, share) - 4, buf, 0.5, 0);
        cairo_set_font_size(cr, 13);
    }
    cairo_restore(cr);
    /* the diagonal of perfect calibration */
    double dash[1] = {6};
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, 1.5);
    cairo_set_dash(cr, dash, 1, 0);
    cairo_move_to(cr, ax_x(&a, 0), ax_y(&a, 0));
    cairo_line_to(cr, ax_x(&a, 1), ax_y(&a, 1));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 1);
    /* upper frame with tick marks only (the labels are under the lower panel) */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, a.x0, a.y0, a.w, a.h);
    cairo_stroke(cr);
    for (int b = 0; b <= nb; b++) {
        double x = ax_x(&a, (double)b / nb);
        cairo_move_to(cr, x, a.y0 + a.h);
        cairo_line_to(cr, x, a.y0 + a.h - 4);
        cairo_stroke(cr);
    }
    draw_yticks(cr, &a, 0, "accuracy", "%.1f");
    draw_frame_and_xticks(cr, &h, "confidence (top probability of the frame)");
    draw_yticks(cr, &h, 0, "% of frames", "%.0f");
    char title[160];
    snprintf(title, sizeof title, "reliability diagram: ECE %.4f, MCE %.4f", c->ece, c->mce);
    cairo_set_font_size(cr, 15);
    text_at(cr, a.x0 + a.w / 2, 18, title, 0.5, 0.5);
    cairo_set_font_size(cr, 12);
    /* legend and totals at the right */
    double lx = a.x0 + a.w + 22, ly = a.y0 + 12;
    cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
    cairo_rectangle(cr, lx, ly - 6, 24, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, lx + 30, ly, legend[0], 0, 0.5);
    cairo_set_source_rgba(cr, 0.84, 0.15, 0.16, 0.4);
    cairo_rectangle(cr, lx, ly + 19 - 6, 24, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, lx, ly + 19 - 6);
    cairo_line_to(cr, lx + 24, ly + 19 - 6);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, lx + 30, ly + 19, legend[1], 0, 0.5);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_dash(cr, dash, 1, 0);
    cairo_move_to(cr, lx, ly + 38);
    cairo_line_to(cr, lx + 24, ly + 38);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, lx + 30, ly + 38, legend[2], 0, 0.5);
    char buf[96];
    snprintf(buf, sizeof buf, "%lld frame%s", (long long)total, total == 1 ? "" : "s");
    text_at(cr, lx, ly + 72, buf, 0, 0.5);
    snprintf(buf, sizeof buf, "accuracy %.4f", acc / (double)total);
    text_at(cr, lx, ly + 91, buf, 0, 0.5);
    snprintf(buf, sizeof buf, "mean confidence %.4f", conf / (double)total);
    text_at(cr, lx, ly + 110, buf, 0, 0.5);
    text_at(cr, lx, h.y0 + 12, "frames per bin", 0, 0.5);
    return figure_close(&f);
}

static double midi_hz(double m) { return 440.0 * pow(2.0, (m - 69.0) / 12.0); }

/* The CQT bin of a MIDI note (fractional; below 0 or past the top outside the image). */
static double bin_of_midi(const a2m_cqt_params *p, double m) { return log2(midi_hz(m) / p->fmin) * p->bins_per_octave; }

/* A matrix [nx x ny] (column t, row k at v[t * ny + k]; row 0 at the bottom) painted over the axes, one pixel a
 * value scaled to them, coloured over [vmin, vmax]: the CQT figure and the heatmaps draw through it. */
static void paint_matrix(cairo_t *cr, const axes *a, const float *v, int nx, int ny, float vmin, float vmax) {
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, nx, ny);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int k = 0; k < ny; k++)
        for (int t = 0; t < nx; t++) {
            double r, g, b;
            colormap((v[(size_t)t * ny + k] - vmin) / (vmax - vmin), &r, &g, &b);
            uint32_t *px = (uint32_t *)(data + (size_t)(ny - 1 - k) * stride) + t;
            *px = ((uint32_t)(r * 255) << 16) | ((uint32_t)(g * 255) << 8) | (uint32_t)(b * 255);
        }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_clip(cr);
    cairo_translate(cr, a->x0, a->y0);
    cairo_scale(cr, a->w / nx, a->h / ny);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

/* The dB image [frames x bins] in the axes; *vmin, *vmax: its colour range (min to max). */
static void cqt_image(cairo_t *cr, const axes *a, const float *db, size_t frames, int nb, float *vmin, float *vmax) {
    *vmin = INFINITY, *vmax = -INFINITY;
    for (size_t i = 0; i < frames * (size_t)nb; i++) *vmin = fminf(*vmin, db[i]), *vmax = fmaxf(*vmax, db[i]);
    if (!(*vmax > *vmin)) *vmax = *vmin + 1;
    paint_matrix(cr, a, db, (int)frames, nb, *vmin, *vmax);
}

/* The frame labels as bands at their notes' bins, one colour of three per class. */
static void cqt_label_bands(cairo_t *cr, const axes *a, const a2m_cqt_params *p, const a2m_cqt_overlay *ov,
                            size_t frames) {
    static const double col[4][3] = {{1, 1, 1}, {1, 0.2, 0.2}, {0.2, 0.9, 1}, {1, 0.6, 0.1}};
    double frame_s = p->hop / p->sample_rate, dur = frames * frame_s, bps = p->bins_per_octave / 12.0;
    for (size_t t = 0; t < frames;) {
        size_t u = t;
        while (u < frames && ov->labels[u] == ov->labels[t]) u++;
        int64_t cls = ov->labels[t];
        if (cls > 0) {
            double bin = bin_of_midi(p, ov->class_notes[cls] + ov->note_transpose);
            const double *cc = col[1 + (cls - 1) % 3];
            cairo_set_source_rgba(cr, cc[0], cc[1], cc[2], 0.75);
            cairo_rectangle(cr, ax_x(a, t * frame_s), ax_y(a, bin + bps / 2), (u - t) * frame_s / dur * a->w,
                            bps / p->n_bins * a->h);
            cairo_fill(cr);
        }
        t = u;
    }
}

/* Reference notes (white) and transcribed ones (orange, a little lower) as outlined boxes. */
static void cqt_notes(cairo_t *cr, const axes *a, const a2m_cqt_params *p, const a2m_cqt_overlay *ov, double dur) {
    double bps = p->bins_per_octave / 12.0;
    for (int layer = 0; layer < 2; layer++) {
        const a2m_note *notes = layer ? ov->est : ov->ref;
        size_t n = layer ? ov->n_est : ov->n_ref;
        if (!notes) continue;
        for (size_t i = 0; i < n; i++) {
            double bin = bin_of_midi(p, notes[i].pitch + ov->note_transpose);
            double x = ax_x(a, notes[i].onset), w = (notes[i].offset - notes[i].onset) / dur * a->w;
            double y = ax_y(a, bin + bps * (layer ? 0.3 : 0.6)), h = bps * 0.9 / p->n_bins * a->h;
            if (layer) cairo_set_source_rgba(cr, 1.0, 0.35, 0.1, 0.55);
            else cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.55);
            cairo_rectangle(cr, x, y, w, h);
            cairo_fill_preserve(cr);
            cairo_set_source_rgba(cr, layer ? 1.0 : 1.0, layer ? 0.35 : 1.0, layer ? 0.1 : 1.0, 1);
            cairo_set_line_width(cr, 1.5);
            cairo_stroke(cr);
        }
    }
}

/* The y axis (note names at every C), the title, and the legend of the note layers. */
static void cqt_axes_text(cairo_t *cr, const axes *a, const a2m_cqt_params *p, const a2m_cqt_overlay *ov,
                          const char *title) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int m = 0; m < 128; m += 12) {
        double bin = bin_of_midi(p, m);
        if (bin < 0 || bin >= p->n_bins) continue;
        char nm[8];
        double y = ax_y(a, bin);
        cairo_move_to(cr, a->x0 - 5, y);
        cairo_line_to(cr, a->x0, y);
        cairo_stroke(cr);
        text_at(cr, a->x0 - 8, y, a2m_note_name(m, nm), 1, 0.5);
    }
    text_vertical(cr, 22, a->y0 + a->h / 2, "pitch (CQT bin, note names)");
    cairo_set_font_size(cr, 15);
    text_at(cr, a->x0 + a->w / 2, 18, title ? title : "CQT", 0.5, 0.5);
    cairo_set_font_size(cr, 12);
    if (!ov || !(ov->ref || ov->est)) return;
    double lx = a->x0 + 10, ly = a->y0 + 12;
    cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
    cairo_rectangle(cr, lx - 5, ly - 10, 200, 42);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, lx, ly - 5, 18, 10);
    cairo_fill(cr);
    text_at(cr, lx + 25, ly, "reference", 0, 0.5);
    cairo_set_source_rgb(cr, 1, 0.35, 0.1);
    cairo_rectangle(cr, lx, ly + 15, 18, 10);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    text_at(cr, lx + 25, ly + 20, "transcription", 0, 0.5);
}

int a2m_plot_cqt(const char *path, const float *db, size_t frames, a2m_cqt_params p, const a2m_cqt_overlay *ov,
                 const char *title, a2m_plot_size size) {
    if (frames == 0) return a2m_error(A2M_ERR_EMPTY, "%s: nothing to draw", path);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    double dur = frames * (p.hop / p.sample_rate);
    axes a = {80, 45, size.width - 190.0, size.height - 105.0, 0, dur, 0, p.n_bins, 0};
    float vmin, vmax;
    cqt_image(cr, &a, db, frames, p.n_bins, &vmin, &vmax);
    clip_to(cr, &a); /* notes above the top bin or past the end of the audio stop at the frame */
    if (ov && ov->labels && ov->class_notes) cqt_label_bands(cr, &a, &p, ov, frames);
    if (ov) cqt_notes(cr, &a, &p, ov, dur);
    cairo_restore(cr);
    draw_frame_and_xticks(cr, &a, "time (s)");
    cqt_axes_text(cr, &a, &p, ov, title);
    colorbar(cr, a.x0 + a.w + 20, a.y0, 16, a.h, vmin, vmax, "dB", "%.0f");
    return figure_close(&f);
}

static int cmp_f32(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The colour scale: the clip-th and (100 - clip)-th percentiles of the finite values. */
static int heat_range(const a2m_heatmap *h, float *vmin, float *vmax) {
    size_t n = h->n_x * (size_t)h->n_y, m = 0;
    float *v = malloc(n * sizeof *v);
    if (!v) return A2M_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (isfinite(h->values[i])) v[m++] = h->values[i];
    if (m == 0) m = 1, v[0] = 0;
    qsort(v, m, sizeof *v, cmp_f32);
    double c = h->clip_percent > 0 && h->clip_percent < 50 ? h->clip_percent / 100 : 0;
    *vmin = v[(size_t)(c * (double)(m - 1))], *vmax = v[(size_t)((1 - c) * (double)(m - 1))];
    if (!(*vmax > *vmin)) *vmax = *vmin + 1;
    free(v);
    return A2M_OK;
}

static void heat_image(cairo_t *cr, const axes *a, const a2m_heatmap *h, float vmin, float vmax) {
    paint_matrix(cr, a, h->values, (int)h->n_x, h->n_y, vmin, vmax);
}

/* One colour per class in a strip above the image (the CQT figure's label colours). */
static void heat_labels(cairo_t *cr, const axes *a, const a2m_heatmap *h) {
    static const double col[3][3] = {{1, 0.2, 0.2}, {0.2, 0.6, 1}, {1, 0.6, 0.1}};
    for (size_t t = 0; t < h->n_x;) {
        size_t u = t;
        while (u < h->n_x && h->labels[u] == h->labels[t]) u++;
        if (h->labels[t] > 0) {
            const double *c = col[(h->labels[t] - 1) % 3];
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_rectangle(cr, a->x0 + a->w * t / h->n_x, a->y0 - 9, a->w * (u - t) / h->n_x, 7);
            cairo_fill(cr);
        }
        t = u;
    }
}

int a2m_plot_heatmap(const char *path, const a2m_heatmap *h, const char *title, a2m_plot_size size) {
    if (h->n_x == 0 || h->n_y <= 0 || h->n_x > 100000) return a2m_error(A2M_ERR_EMPTY, "%s: nothing to draw", path);
    float vmin, vmax;
    if (heat_range(h, &vmin, &vmax)) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    axes a = {80, 45, size.width - 190.0, size.height - 105.0, 0, h->x_max, 0, h->n_y, 0};
    heat_image(cr, &a, h, vmin, vmax);
    if (h->labels) heat_labels(cr, &a, h);
    draw_frame_and_xticks(cr, &a, h->x_label ? h->x_label : "time (s)");
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int i = 0; i < h->n_yticks; i++) {
        double y = ax_y(&a, h->ytick_pos[i]);
        if (h->ytick_pos[i] < 0 || h->ytick_pos[i] > h->n_y) continue;
        cairo_move_to(cr, a.x0 - 5, y);
        cairo_line_to(cr, a.x0, y);
        cairo_stroke(cr);
        text_at(cr, a.x0 - 8, y, h->ytick_text[i], 1, 0.5);
    }
    text_vertical(cr, 11, a.y0 + a.h / 2, h->y_label ? h->y_label : "");
    cairo_set_font_size(cr, 15);
    text_at(cr, a.x0 + a.w / 2, 18, title ? title : "", 0.5, 0.5);
    cairo_set_font_size(cr, 12);
    colorbar(cr, a.x0 + a.w + 20, a.y0, 16, a.h, vmin, vmax, h->unit ? h->unit : "", "%.3g");
    return figure_close(&f);
}

/* ---- uncertainty CDFs ---- */

static void cdf_panel(cairo_t *cr, const axes *a, const a2m_cdf_panel *p) {
    char t[96];
    draw_frame_and_xticks(cr, a, p->name);
    draw_yticks(cr, a, 0, "share of frames <= x", "%.1f");
    if (isfinite(p->auroc)) snprintf(t, sizeof t, "%s: AUROC %.3f", p->name, p->auroc);
    else snprintf(t, sizeof t, "%s", p->name);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, a->x0 + a->w / 2, a->y0 - 10, t, 0.5, 0);
    clip_to(cr, a);
    cairo_set_line_width(cr, 2.5);
    cairo_set_source_rgb(cr, 0.13, 0.47, 0.71);
    polyline(cr, a, p->x, p->right, (size_t)p->n);
    cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
    double d[1] = {6};
    cairo_set_dash(cr, d, 1, 0);
    polyline(cr, a, p->x, p->wrong, (size_t)p->n);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_restore(cr);
    /* the legend where the curves are not: top left when the CDFs rise late (max probability), else bottom right */
    int late = p->right[p->n / 2] < 0.5 && p->wrong[p->n / 2] < 0.5;
    double lx = late ? a->x0 + 14 : a->x0 + a->w - 150, ly = late ? a->y0 + 18 : a->y0 + a->h - 44;
    legend_entry(cr, lx, ly, 0.13, 0.47, 0.71, 0, "right frames");
    legend_entry(cr, lx, ly + 22, 0.84, 0.15, 0.16, 1, "wrong frames");
}

int a2m_plot_uncertainty(const char *path, const a2m_cdf_panel *panels, int n_panels, const char *title,
                         a2m_plot_size size) {
    if (n_panels < 1 || n_panels > 4)
        return a2m_error(A2M_ERR_ARG, "%s: %d uncertainty panels (1 to 4)", path, n_panels);
    for (int k = 0; k < n_panels; k++) {
        const a2m_cdf_panel *p = &panels[k];
        if (p->n < 2) return a2m_error(A2M_ERR_ARG, "%s: panel %s has %d points", path, p->name, p->n);
        for (int i = 0; i < p->n; i++)
            if (!isfinite(p->x[i]) || (i && p->x[i] < p->x[i - 1]))
                return a2m_error(A2M_ERR_RANGE, "%s: panel %s: x not finite and increasing at point %d", path, p->name,
                                 i);
    }
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    int cols = n_panels > 1 ? 2 : 1, rows = (n_panels + 1) / 2;
    double cw = (double)size.width / cols, rh = (double)(size.height - 40) / rows;
    text_at(cr, size.width / 2.0, 12, title ? title : "uncertainty: CDFs of right and wrong frames", 0.5, 1);
    for (int k = 0; k < n_panels; k++) {
        const a2m_cdf_panel *p = &panels[k];
        axes a = {
            (k % cols) * cw + 80, 40 + (k / cols) * rh + 30, cw - 110, rh - 90, p->x[0], p->x[p->n - 1], 0, 1.02, 0};
        if (!(a.xmax > a.xmin)) a.xmin -= 0.5, a.xmax += 0.5; /* one value: a unit range around it */
        cdf_panel(cr, &a, p);
    }
    return figure_close(&f);
}

/* ---- scatter (a2m plot search) ----------------------------------------------------------------------- */
static void scatter_xticks(cairo_t *cr, const axes *a, const a2m_scatter_plot *p) {
    if (!p->log_x && !p->n_categories) {
        draw_frame_and_xticks(cr, a, p->xlabel);
        return;
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    char buf[64];
    int n = p->n_categories ? p->n_categories : (int)(floor(a->xmax) - ceil(a->xmin)) + 1;
    for (int k = 0; k < n; k++) {
        double v = p->n_categories ? k : ceil(a->xmin) + k, x = ax_x(a, v);
        cairo_move_to(cr, x, a->y0 + a->h);
        cairo_line_to(cr, x, a->y0 + a->h + 5);
        cairo_stroke(cr);
        if (p->n_categories) snprintf(buf, sizeof buf, "%s", p->categories[k]);
        else snprintf(buf, sizeof buf, "%g", pow(10, v));
        text_at(cr, x, a->y0 + a->h + 9, buf, 0.5, 1);
    }
    text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 30, p->xlabel, 0.5, 1);
}

/* the axes' ranges from the finite points, with a margin */
static int scatter_axes(const a2m_scatter_plot *p, a2m_plot_size size, axes *a) {
    *a = (axes){90, 40, size.width - 130, size.height - 100, INFINITY, -INFINITY, INFINITY, -INFINITY, 0};
    for (size_t i = 0; i < p->n; i++) {
        double x = p->log_x ? log10(p->x[i]) : p->x[i];
        if (!isfinite(p->y[i]) || !isfinite(x)) continue;
        a->xmin = fmin(a->xmin, x), a->xmax = fmax(a->xmax, x);
        a->ymin = fmin(a->ymin, p->y[i]), a->ymax = fmax(a->ymax, p->y[i]);
    }
    if (!(a->xmin <= a->xmax)) return 0;
    if (p->n_categories) a->xmin = 0, a->xmax = p->n_categories - 1;
    if (p->log_x) a->xmin = fmin(a->xmin, floor(a->xmin)), a->xmax = fmax(a->xmax, ceil(a->xmax));
    double dx = a->xmax - a->xmin, dy = a->ymax - a->ymin;
    if (dx <= 0) dx = 1;
    if (dy <= 0) dy = fmax(fabs(a->ymax) * 0.1, 1e-3);
    a->xmin -= 0.05 * dx, a->xmax += 0.05 * dx, a->ymin -= 0.08 * dy, a->ymax += 0.08 * dy;
    return 1;
}

int a2m_plot_scatter(const char *path, const a2m_scatter_plot *p, a2m_plot_size size) {
    axes a;
    if (!scatter_axes(p, size, &a)) return a2m_error(A2M_ERR_EMPTY, "%s: no point to draw (no finished trial)", path);
    figure f;
    int rc = figure_open(&f, path, size);
    if (rc) return rc;
    cairo_t *cr = f.cr;
    clip_to(cr, &a);
    if (p->line_y) { /* a step line: the best so far */
        cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
        cairo_set_line_width(cr, 2);
        double prev = NAN;
        for (size_t i = 0; i < p->n; i++) {
            if (!isfinite(p->line_y[i])) continue;
            double x = ax_x(&a, p->x[i]), y = ax_y(&a, p->line_y[i]);
            if (isnan(prev)) cairo_move_to(cr, x, y);
            else cairo_line_to(cr, x, prev), cairo_line_to(cr, x, y);
            prev = y;
        }
        cairo_stroke(cr);
    }
    cairo_set_line_width(cr, 1.5);
    for (size_t i = 0; i < p->n; i++) {
        double x = p->log_x ? log10(p->x[i]) : p->x[i], r, g, b;
        if (!isfinite(p->y[i]) || !isfinite(x)) continue;
        colormap(p->n > 1 ? (double)i / (double)(p->n - 1) : 0.5, &r, &g, &b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_new_sub_path(cr);
        cairo_arc(cr, ax_x(&a, x), ax_y(&a, p->y[i]), 4, 0, 2 * M_PI);
        if (p->hollow && p->hollow[i]) cairo_stroke(cr);
        else cairo_fill(cr);
    }
    cairo_restore(cr);
    scatter_xticks(cr, &a, p);
    draw_yticks(cr, &a, 0, p->ylabel, "%.3g");
    cairo_set_font_size(cr, 15);
    text_at(cr, a.x0 + a.w / 2, 18, p->title, 0.5, 0.5);
    return figure_close(&f);
}
