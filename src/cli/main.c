/* a2m: sing -> MIDI. A thin command line over liba2m: one file per command. */
#include <cblas.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "a2m.h"
#include "a2m/cqt.h"
#include "a2m/io.h"
#include "cli/cli.h"
#include "cli/commands.h"

const cli_command cli_commands[] = {
    {"features", "CQT, mel, MFCC or LPC features of audio files or a folder -> .npy", cmd_features},
    {"labels", "MIDI -> one class per frame -> .npy", cmd_labels},
    {"synth", "render a MIDI file with a voice-like tone -> .wav", cmd_synth},
    {"gendata", "training data: random melodies sung (synth, fluid) or seed takes pitch-shifted, augmented",
     cmd_gendata},
    {"dataset", "pair voice_N.wav with midi_N.mid in a folder -> dataset", cmd_dataset},
    {"train", "train a model on a dataset -> .safetensors", cmd_train},
    {"forward", "run a model on normalised features (or --raw-db: a2m features output) -> logits .npy", cmd_forward},
    {"search", "hyperparameter search (TPE/random, median pruner) over train options in a shared study database",
     cmd_search},
    {"eval", "frame metrics of a model on a dataset split", cmd_eval},
    {"knn", "k-nearest-neighbour frame classifier on a dataset split (a baseline: eval's metrics)", cmd_knn},
    {"linear", "multinomial logistic regression on frames, trained and scored (a baseline)", cmd_linear},
    {"calibrate", "temperature scaling of a model's probabilities, fitted on a validation split", cmd_calibrate},
    {"compare", "note (mir_eval) or frame (scikit-learn) metrics of two transcriptions", cmd_compare},
    {"embed", "UMAP of a dataset split's frames (features or hidden states) -> EMB.npy + EMB.labels.npy", cmd_embed},
    {"trust", "trustworthiness (scikit-learn's, k 5) of an embedding: X.npy EMB.npy", cmd_trustworthiness},
    {"plot",
     "pictures (.png/.svg/.pdf): plot loss LOG.csv, plot confusion EVAL.json,\n"
     "              plot reliability EVAL.json, plot uncertainty EVAL.json, plot cqt AUDIO, plot pianoroll AUDIO,\n"
     "              plot embed EMB.npy, plot search STUDY.db -o DIR",
     cmd_plot},
    {"report", "eval + figures + README.md of a model on a dataset split, in one folder", cmd_report},
    {"transcribe", "audio -> MIDI (+ notes CSV/JSON, frame probabilities)", cmd_transcribe},
    {"import", "PyTorch state dict (safetensors) -> self-contained a2m model", cmd_import},
    {"info", "describe a model file", cmd_info},
};
const size_t cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

static int usage(FILE *out) {
    fprintf(out, "a2m: transcribe singing to MIDI\n\n"
                 "usage: a2m <command> [options]\n"
                 "       a2m <command> --help   options of one command\n\n"
                 "commands:\n");
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(out, "  %-11s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\nA first run: make demo (renders a MIDI with `a2m synth`, transcribes it, prints the notes).\n");
    return out == stdout ? 0 : 2;
}

static int run(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || cli_is_help(name)) {
        if (argc >= 3) {
            for (size_t i = 0; i < cli_n_commands; i++)
                if (strcmp(argv[2], cli_commands[i].name) == 0) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return cli_commands[i].run(2, hargv);
                }
        }
        return usage(stdout);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("a2m %d.%d.%d\n", A2M_VERSION_MAJOR, A2M_VERSION_MINOR, A2M_VERSION_PATCH);
        return 0;
    }
    for (size_t i = 0; i < cli_n_commands; i++)
        if (strcmp(name, cli_commands[i].name) == 0) {
            char **owned;
            int n = cli_end_options(argc - 1, argv + 1, &owned);
            int rc = n < 0 ? cli_fail("out of memory") : cli_commands[i].run(n, argv + 1);
            cli_free_owned(owned);
            return rc;
        }
    fprintf(stderr, "a2m: unknown command '%s'\n", name);
    usage(stderr);
    return 2;
}

/* FFTW wisdom kept between runs: $A2M_FFTW_WISDOM (empty: none), else $XDG_CACHE_HOME/a2m/fftw3f-wisdom, else
 * ~/.cache/a2m/fftw3f-wisdom. Measuring the CQT's plans was ~40% of a short file's whole transcription. */
static const char *wisdom_path(char *buf, size_t n) {
    const char *env = getenv("A2M_FFTW_WISDOM"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (env) return *env ? env : NULL;
    if (xdg && *xdg) snprintf(buf, n, "%s/a2m/fftw3f-wisdom", xdg);
    else if (home && *home) snprintf(buf, n, "%s/.cache/a2m/fftw3f-wisdom", home);
    else return NULL;
    return buf;
}

/* The CQT kernel cache lives beside the wisdom (the same folder, "cqt-kernels"): none when there is no wisdom. */
static const char *kernels_path(const char *wisdom, char *buf, size_t n) {
    if (!wisdom) return NULL;
    const char *slash = strrchr(wisdom, '/');
    int dir = slash ? (int)(slash - wisdom) + 1 : 0;
    return snprintf(buf, n, "%.*scqt-kernels", dir, wisdom) < (int)n ? buf : NULL;
}

/* Saves the wisdom and the CQT kernels when this run made new ones; a cache that cannot be written is no error. */
static void caches_keep(const char *wisdom, const char *kernels) {
    int plans = wisdom && a2m_fftw_wisdom_new(), kern = kernels && a2m_cqt_kernels_new();
    if (!plans && !kern) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", wisdom);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = '\0', a2m_mkdirs(dir);
    if (plans) a2m_fftw_wisdom_save(wisdom);
    if (kern) a2m_cqt_kernels_save(kernels);
}

/* OpenBLAS starts its thread pool in its library constructor, before main (one thread per core unless
 * $OPENBLAS_NUM_THREADS says otherwise: setting it from an executable's .preinit_array is too early, libc's own
 * constructor then resets the environment); openblas_set_num_threads(1) alone leaves those threads spinning in
 * sched_yield until their timeout, ~5% of a 60 s transcription's CPU time. So they are stopped first, with the call
 * OpenBLAS's own fork handler makes (not in cblas.h, and absent from other BLAS libraries: a weak reference, NULL
 * there; dlsym would not find it in the a2m command, which links OpenBLAS statically). */
extern int blas_thread_shutdown_(void) __attribute__((weak));

static void blas_one_thread(void) {
    openblas_set_num_threads(1); /* first: it starts the pool again when there is none */
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

/* The heap in 2 MB pages. A command's buffers (a 30 s transcription: ~30 MB: the CQT frames of the tuning's 20 s
 * look-ahead, the network's batch and activations, the model) are each written once soon after they are allocated,
 * and in 4 KB pages every first write is a page fault: 8.1k faults, ~28 of a 30 s transcription's ~100 ms CPU time
 * in the kernel (zeroing, charging, unmapping). So buffers up to 32 MB come from the heap instead of an mmap each
 * (glibc's default above 128 KB), the heap grows by 64 MB at once, is never trimmed below that, and those 64 MB ask
 * for transparent huge pages (THP's "madvise" mode, as most distributions ship it): 0.4k faults, kernel time ~28 ->
 * ~10 ms (perf stat, 30 runs; the same as glibc's tunables glibc.malloc.hugetlb=1 + top_pad, which a program cannot
 * set for itself). Process-wide, so here in main and never in the library; where THP is off it only costs the
 * untouched address space. */
#define HEAP_PAD  (64 << 20)
#define HEAP_HUGE ((uintptr_t)2 << 20)

static void heap_hugepages(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 2 * HEAP_PAD);
    mallopt(M_TOP_PAD, HEAP_PAD);
    char *p = malloc(1 << 20); /* more than the heap's top holds: it grows by this + HEAP_PAD */
    if (!p) return;
    uintptr_t from = ((uintptr_t)p + HEAP_HUGE - 1) & ~(HEAP_HUGE - 1), to = (uintptr_t)sbrk(0) & ~(HEAP_HUGE - 1);
    free(p);
    /* only when p came from the brk heap (not under a sanitizer's allocator, nor where sbrk failed) */
    if (to > from && to - from <= HEAP_PAD + (2 << 20)) madvise((void *)from, to - from, MADV_HUGEPAGE);
}

/* stdout is checked once here, after any command (help, results, notes): a write error is exit 1 */
int main(int argc, char **argv) {
    heap_hugepages();
    cli_signals_install();
    /* BLAS threads are set here only (the library never changes them): one, as parallel work is the library's
     * n_threads (training's two LSTM directions, --jobs inputs); BLAS threads spinning beside them only cost time
     * on these small products, and results do not depend on --threads */
    blas_one_thread();
    char buf[4096], kbuf[4096];
    const char *wisdom = wisdom_path(buf, sizeof buf), *kernels = kernels_path(wisdom, kbuf, sizeof kbuf);
    if (wisdom) a2m_fftw_wisdom_load(wisdom); /* a missing or foreign cache is measured anew */
    if (kernels) a2m_cqt_kernels_load(kernels);
    int rc = run(argc, argv);
    caches_keep(wisdom, kernels);
    return cli_finish_stdout(rc);
}
