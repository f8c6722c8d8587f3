/* Pictures: valid files of the requested size and format, with the expected
 * content where it can be checked by pixel: a diagonal confusion matrix has
 * its brightest cells on the diagonal; the label overlay colours the frames
 * of a note at the note's pitch; a perfectly calibrated reliability diagram has
 * its bars' top edges on the diagonal; bad inputs leave no file. */
#include <cairo.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/plot.h"
#include "check.h"

static double luminance(cairo_surface_t *s, int x, int y) {
    unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t px = *(uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    return 0.299 * ((px >> 16) & 255) + 0.587 * ((px >> 8) & 255) + 0.114 * (px & 255);
}
static void rgb(cairo_surface_t *s, int x, int y, int *r, int *g, int *b) {
    unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t px = *(uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    *r = (px >> 16) & 255, *g = (px >> 8) & 255, *b = px & 255;
}

static int is_white(cairo_surface_t *s, int x, int y) {
    int r, g, b;
    rgb(s, x, y, &r, &g, &b);
    return r > 245 && g > 245 && b > 245;
}

/* The matrix's left edge and side, found on the row just under its top edge (y0 = 50). */
static void find_matrix(cairo_surface_t *s, double *x0, double *side) {
    int w = cairo_image_surface_get_width(s), x = 0;
    while (x < w && is_white(s, x, 52)) x++;
    int e = x;
    while (e < w && !is_white(s, e, 52)) e++;
    *x0 = x, *side = e - x;
}

static void test_confusion(void) {
    const char *path = test_tmp("conf.png");
    int64_t m[9] = {90, 5, 5, 2, 96, 2, 1, 1, 98};
    const char *names[3] = {"silence", "C4", "E4"};
    a2m_plot_size size = {800, 500};
    CHECK(a2m_plot_confusion(path, m, 3, names, size) == A2M_OK, "confusion: %s", a2m_errmsg());
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "valid PNG");
    CHECK(cairo_image_surface_get_width(s) == 800 && cairo_image_surface_get_height(s) == 500, "size");
    double x0, side;
    find_matrix(s, &x0, &side);
    double cell = side / 3;
    CHECK(side > 300 && side < 450, "matrix found (x0 %.0f, side %.0f)", x0, side);
    int ok = 1;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            if (r != c) {
                double diag = luminance(s, (int)(x0 + r * cell + 4), (int)(50 + r * cell + 4));
                double off = luminance(s, (int)(x0 + c * cell + 4), (int)(50 + r * cell + 4));
                if (!(diag > off + 50)) ok = 0;
            }
    CHECK(ok, "diagonal cells are the brightest");
    /* centred: the blank columns left of the labels and right of the colour bar differ by little
     * (the matrix used to sit at the left with the right third empty) */
    int left = 0, right = 799;
    for (int found = 0; left < 800 && !found; left++)
        for (int y = 40; y < 490 && !found; y++) found = !is_white(s, left, y);
    for (int found = 0; right > 0 && !found; right--)
        for (int y = 40; y < 490 && !found; y++) found = !is_white(s, right, y);
    CHECK(abs(left - (799 - right)) < 40, "content centred (blank %d px left, %d px right)", left, 799 - right);
    cairo_surface_destroy(s);
    unlink(path);
}

/* 51 and 64 classes at a2m_plot_confusion_size: cells of at least 20 px, the diagonal brightest,
 * every column label inside the figure (vertical, under its column) */
static void test_confusion_many(void) {
    const char *path = test_tmp("conf51.png");
    static int64_t m[64 * 64];
    static char buf[64][16];
    const char *names[64];
    for (int n = 51; n <= 64; n += 13) {
        for (int r = 0; r < n; r++) {
            snprintf(buf[r], sizeof buf[r], "C#%d (%d)", r % 10, 40 + r);
            names[r] = buf[r];
            for (int c = 0; c < n; c++) m[r * n + c] = r == c ? 900 : (r + c) % 7 == 0 ? 30 : 0;
        }
        a2m_plot_size size = a2m_plot_confusion_size(n);
        CHECK(a2m_plot_confusion(path, m, n, names, size) == A2M_OK, "%d classes: %s", n, a2m_errmsg());
        cairo_surface_t *s = cairo_image_surface_create_from_png(path);
        CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_height(s) == size.height,
              "valid PNG");
        double x0, side;
        find_matrix(s, &x0, &side);
        double cell = side / n;
        CHECK(cell >= 20, "%d classes: cells of %.1f px", n, cell);
        int ok = 1;
        for (int r = 0; r < n; r += 5) {
            int y = (int)(50 + (r + 0.5) * cell), c = (r + 1) % n;
            if (!(luminance(s, (int)(x0 + (r + 0.2) * cell), y) > luminance(s, (int)(x0 + (c + 0.2) * cell), y) + 50))
                ok = 0;
        }
        CHECK(ok, "%d classes: diagonal brightest", n);
        /* the column labels end above the bottom ("predicted" under them, then white) */
        int white_bottom = 1;
        for (int x = 0; x < size.width; x++) white_bottom &= is_white(s, x, size.height - 3);
        CHECK(white_bottom, "%d classes: nothing cut at the bottom", n);
        cairo_surface_destroy(s);
    }
    unlink(path);
    CHECK(a2m_plot_confusion(path, m, 65, names, a2m_plot_confusion_size(65)) == A2M_ERR_RANGE &&
              !a2m_path_exists(path),
          "65 classes: error, no file");
    CHECK(a2m_plot_confusion(path, m, 0, names, a2m_plot_confusion_size(0)) == A2M_ERR_EMPTY, "0 classes: error");
    a2m_plot_size s4 = a2m_plot_confusion_size(4), s64 = a2m_plot_confusion_size(64);
    CHECK(s4.width == 740 && s4.height == 600 && s64.width == 1748 && s64.height == 1608, "sizes %dx%d, %dx%d",
          s4.width, s4.height, s64.width, s64.height);
}

static void test_labels_overlay(void) {
    /* a C4 tone (MIDI 60) from 1 s to 2 s, labels from the same note */
    const char *path = test_tmp("cqt.png");
    size_t n = 3 * 16000;
    float *x = calloc(n, sizeof *x);
    for (size_t i = 16000; i < 32000; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 261.6256 * i / 16000.0));
    a2m_cqt *c;
    a2m_cqt_params p = a2m_cqt_default_params();
    CHECK(a2m_cqt_new(p, n, &c) == A2M_OK, "cqt");
    size_t frames = a2m_cqt_n_frames(c, n);
    float *db = malloc(frames * 252 * sizeof *db);
    a2m_cqt_db(c, x, n, db);
    a2m_note note = {1.0, 2.0, 60, 100, 0};
    int64_t *labels = malloc(frames * sizeof *labels);
    a2m_labels_from_notes(&note, 1, a2m_label_default_params(), labels, frames, NULL);
    int class_notes[4] = {-1, 60, 64, 67};
    a2m_cqt_overlay ov = {labels, class_notes, NULL, 0, NULL, 0, 0};
    a2m_plot_size size = {1000, 600};
    CHECK(a2m_plot_cqt(path, db, frames, p, &ov, "test", size) == A2M_OK, "cqt plot: %s", a2m_errmsg());
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "valid PNG");
    /* axes: x0 80, y0 45, w = W-190, h = H-105; C4 = bin 36*log2(261.63/32.70) = 108 */
    double w = 1000 - 190.0, h = 600 - 105.0, dur = frames * 96 / 16000.0;
    int y = (int)(45 + h - (108.0 / 252) * h);
    int r, g, b;
    rgb(s, (int)(80 + 1.5 / dur * w), y, &r, &g, &b);
    CHECK(r > 200 && g < 150 && b < 150, "the note's frames are coloured at its pitch (rgb %d %d %d)", r, g, b);
    rgb(s, (int)(80 + 0.5 / dur * w), y, &r, &g, &b);
    CHECK(!(r > 200 && g < 150 && b < 150), "silence frames are not (rgb %d %d %d)", r, g, b);
    cairo_surface_destroy(s);
    unlink(path);
    /* other formats */
    const char *svg = test_tmp("cqt.svg"), *pdf = test_tmp("cqt.pdf");
    CHECK(a2m_plot_cqt(svg, db, frames, p, NULL, NULL, size) == A2M_OK, "svg");
    CHECK(a2m_plot_cqt(pdf, db, frames, p, NULL, NULL, size) == A2M_OK, "pdf");
    uint8_t *buf;
    size_t len;
    CHECK(a2m_read_file(svg, &buf, &len, 1 << 26) == A2M_OK && len > 100 && strstr((char *)buf, "<svg") != NULL,
          "SVG content");
    free(buf);
    CHECK(a2m_read_file(pdf, &buf, &len, 1 << 26) == A2M_OK && len > 100 && memcmp(buf, "%PDF", 4) == 0, "PDF content");
    free(buf);
    unlink(svg), unlink(pdf);
    free(x), free(db), free(labels);
    a2m_cqt_del(c);
}

/* Loss axes: x0 80, y0 50, w = W - 170, h = H - 110; epochs widened by 2% a side (one epoch: +-0.5);
 * the loss axis from 0 to 1.05 x the largest loss. */
static void test_loss_and_bad(void) {
    double e[3] = {1, 2, 3}, tl[3] = {0.6, 0.3, 0.2}, vl[3] = {0.4, 0.3, 0.35}, va[3] = {0.8, 0.9, 0.88},
           vf[3] = {0.8, 0.91, 0.87};
    a2m_loss_curve cv = {3, e, tl, vl, va, vf};
    a2m_plot_size size = {900, 500};
    const char *path = test_tmp("loss.png");
    CHECK(a2m_plot_loss(path, &cv, size) == A2M_OK, "loss plot");
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_width(s) == 900, "loss PNG");
    /* tick marks (5 px under the frame) at epochs 1, 2, 3 only: 3 epochs used to get 1, 1.25, 1.5, ... */
    double w = 900 - 170.0, h = 500 - 110.0;
#define EX(v) ((int)lround(80 + ((v)-0.96) / 2.08 * w))
    int ty = (int)(50 + h + 3);
    CHECK(!is_white(s, EX(1), ty) && !is_white(s, EX(2), ty) && !is_white(s, EX(3), ty), "ticks at whole epochs");
    CHECK(is_white(s, EX(1.4), ty) && is_white(s, EX(1.6), ty) && is_white(s, EX(2.2), ty),
          "none between them (the 0.2 grid)");
#undef EX
    cairo_surface_destroy(s);
    /* one epoch: a dot per series in the middle (the line of one point drew nothing) */
    cv.n = 1;
    CHECK(a2m_plot_loss(path, &cv, size) == A2M_OK, "one-epoch loss plot");
    s = cairo_image_surface_create_from_png(path);
    int r, g, b;
    rgb(s, (int)(80 + w / 2) + 3, (int)lround(50 + h - 0.6 / (0.6 * 1.05) * h), &r, &g, &b);
    CHECK(b > 150 && r < 80 && g > 90 && g < 150, "train loss dot (rgb %d %d %d)", r, g, b);
    rgb(s, (int)(80 + w / 2) + 3, (int)lround(50 + h - 0.4 / (0.6 * 1.05) * h), &r, &g, &b);
    CHECK(r > 220 && g > 100 && g < 160 && b < 60, "val loss dot (rgb %d %d %d)", r, g, b);
    cairo_surface_destroy(s);
    unlink(path);
    cv.n = 3;
    /* only .png, .svg and .pdf (or no extension: PNG); x.jpg used to get PNG bytes */
    CHECK(a2m_plot_format("a/x.PNG") && !strcmp(a2m_plot_format("a/x.PNG"), "png") &&
              !strcmp(a2m_plot_format("x.svg"), "svg") && !strcmp(a2m_plot_format("x.pdf"), "pdf") &&
              !strcmp(a2m_plot_format("/dev/stdout"), "png") && !strcmp(a2m_plot_format("a.b/x"), "png"),
          "formats");
    const char *jpg = test_tmp("loss.jpg");
    CHECK(!a2m_plot_format(jpg) && a2m_plot_loss(jpg, &cv, size) == A2M_ERR_UNSUPPORTED && !a2m_path_exists(jpg),
          "x.jpg refused, no file");
    cv.n = 0;
    CHECK(a2m_plot_loss(path, &cv, size) == A2M_ERR_EMPTY && !a2m_path_exists(path), "empty log: error, no file");
    CHECK(a2m_plot_confusion("/nonexistent-dir/x.png", (int64_t[1]){1}, 1, (const char *[]){"a"}, size) != A2M_OK,
          "unwritable path");
}

/* Reliability diagram. Upper panel: x0 80, y0 45, h = 0.72 (H - 121); its width depends on the
 * legend's text, so the test finds the frame's right edge on a row through the middle of the panel. */
static void test_reliability(void) {
    const char *path = test_tmp("rel.png");
    double conf[10], acc[10];
    int64_t count[10];
    for (int b = 0; b < 10; b++) conf[b] = acc[b] = 0.05 + 0.1 * b, count[b] = 10 + 5 * b;
    count[1] = 0, conf[1] = acc[1] = 0; /* an empty bin draws nothing */
    conf[8] = 0.85, acc[8] = 0.5;       /* one overconfident bin: a gap from 0.5 to 0.85 */
    a2m_reliability_curve c = {10, conf, acc, count, 0.01, 0.35};
    a2m_plot_size size = {1000, 600};
    CHECK(a2m_plot_reliability(path, &c, size) == A2M_OK, "reliability plot: %s", a2m_errmsg());
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "valid PNG");
    CHECK(cairo_image_surface_get_width(s) == 1000 && cairo_image_surface_get_height(s) == 600, "size");
    double x0 = 80, y0 = 45, h = 0.72 * (600 - 45 - 62 - 14);
    int right = 999;
    while (right > 100 && luminance(s, right, (int)(y0 + h / 2)) > 200) right--;
    double w = right - x0;
    CHECK(w > 500 && w < 900, "upper panel found (width %.0f)", w);
#define PX(v) ((int)lround(x0 + (v)*w))
#define PY(v) ((int)lround(y0 + h - (v)*h))
    int r, g, b, blue_ok = 1, white_ok = 1;
    for (int k = 0; k < 10; k++) {
        if (k == 1 || k == 8) continue;
        /* perfectly calibrated bins: the bar's top edge is where the diagonal crosses the bar's middle */
        rgb(s, PX(conf[k]), PY(conf[k]) + 4, &r, &g, &b);
        if (!(b > 140 && r < 80 && g > 90 && g < 150))
            blue_ok = 0, fprintf(stderr, "bin %d below: %d %d %d\n", k, r, g, b);
        rgb(s, PX(conf[k]), PY(conf[k]) - 4, &r, &g, &b);
        if (!(r > 235 && g > 235 && b > 235)) white_ok = 0, fprintf(stderr, "bin %d above: %d %d %d\n", k, r, g, b);
    }
    CHECK(blue_ok, "bars reach the diagonal");
    CHECK(white_ok, "and stop there");
    rgb(s, PX(0.15), PY(0.01), &r, &g, &b);
    CHECK(r > 235 && g > 235 && b > 235, "empty bin: no bar (rgb %d %d %d)", r, g, b);
    rgb(s, PX(0.85) + 10, PY(0.3), &r, &g, &b);
    CHECK(b > 140 && r < 80, "overconfident bin: bar up to its accuracy (rgb %d %d %d)", r, g, b);
    rgb(s, PX(0.85) + 10, PY(0.7), &r, &g, &b);
    CHECK(r > 200 && g < 200 && g > 120 && b < 200, "then the gap to its confidence (rgb %d %d %d)", r, g, b);
    rgb(s, PX(0.85) + 10, PY(0.95), &r, &g, &b);
    CHECK(r > 235 && g > 235 && b > 235, "and nothing above (rgb %d %d %d)", r, g, b);
#undef PX
#undef PY
    cairo_surface_destroy(s);
    unlink(path);
    const char *svg = test_tmp("rel.svg"), *pdf = test_tmp("rel.pdf");
    CHECK(a2m_plot_reliability(svg, &c, size) == A2M_OK && a2m_plot_reliability(pdf, &c, size) == A2M_OK, "svg, pdf");
    uint8_t *buf;
    size_t len;
    CHECK(a2m_read_file(svg, &buf, &len, 1 << 26) == A2M_OK && strstr((char *)buf, "<svg") != NULL, "SVG content");
    free(buf);
    CHECK(a2m_read_file(pdf, &buf, &len, 1 << 26) == A2M_OK && memcmp(buf, "%PDF", 4) == 0, "PDF content");
    free(buf);
    unlink(svg), unlink(pdf);
    /* bad inputs: no file */
    int64_t zero[10] = {0};
    a2m_reliability_curve e = {10, conf, acc, zero, 0, 0};
    CHECK(a2m_plot_reliability(path, &e, size) == A2M_ERR_EMPTY && !a2m_path_exists(path), "no frames: error, no file");
    acc[3] = NAN;
    CHECK(a2m_plot_reliability(path, &c, size) == A2M_ERR_NONFINITE && !a2m_path_exists(path), "NaN: error, no file");
    acc[3] = 0.35, count[3] = -1;
    CHECK(a2m_plot_reliability(path, &c, size) == A2M_ERR_RANGE && !a2m_path_exists(path),
          "negative count: error, no file");
    e.n_bins = 0;
    CHECK(a2m_plot_reliability(path, &e, size) != A2M_OK && !a2m_path_exists(path), "no bins");
}

/* Notes above the top CQT bin and past the end of the audio stop at the frame: the strip above
 * the plot area (under the title) and the gap right of it (before the colour bar) stay white. */
static void test_clipped(void) {
    const char *path = test_tmp("clip.png");
    size_t frames = 200;
    float *db = malloc(frames * 252 * sizeof *db);
    for (size_t i = 0; i < frames * 252; i++) db[i] = -80.0f + (float)(i % 252) * 0.2f;
    a2m_note notes[2] = {{0.5, 5.0, 120, 100, 0}, {-1.0, 0.8, 62, 100, 0}}; /* 120: above C8; 5 s: past 1.2 s; -1 s */
    a2m_cqt_overlay ov = {NULL, NULL, notes, 2, notes, 2, 0};
    a2m_plot_size size = {1000, 600};
    CHECK(a2m_plot_cqt(path, db, frames, a2m_cqt_default_params(), &ov, "clip", size) == A2M_OK, "cqt: %s",
          a2m_errmsg());
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "valid PNG");
    /* plot area: x0 80, y0 45, w 810, h 495; the colour bar starts 20 px right of it; note names end
     * 8 px left of it, tick marks 5 px */
    int outside = 0;
    for (int x = 81; x < 80 + 810; x++)
        for (int y = 32; y < 44; y++) outside += !is_white(s, x, y);
    for (int x = 80 + 810 + 2; x < 80 + 810 + 18; x++)
        for (int y = 46; y < 45 + 495; y++) outside += !is_white(s, x, y);
    for (int y = 46; y < 45 + 495; y++) outside += !is_white(s, 74, y); /* between the note names and the ticks */
    CHECK(outside == 0, "%d pixels drawn outside the frame", outside);
    cairo_surface_destroy(s);
    unlink(path);
    free(db);
}

int main(void) {
    test_reliability();
    test_confusion();
    test_confusion_many();
    test_labels_overlay();
    test_clipped();
    test_loss_and_bad();
    return test_done("test_plot");
}
