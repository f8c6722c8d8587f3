/* a2m: sing -> MIDI. A thin command line over liba2m: one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

const cli_command cli_commands[] = {
    {"features", "CQT dB features of audio files or a folder -> .npy", cmd_features},
    {"labels", "MIDI -> one class per frame -> .npy", cmd_labels},
    {"synth", "render a MIDI file with a voice-like tone -> .wav", cmd_synth},
    {"gendata", "training data: random melodies sung (synth, fluid) or seed takes pitch-shifted, augmented", cmd_gendata},
    {"dataset", "pair voice_N.wav with midi_N.mid in a folder -> dataset", cmd_dataset},
    {"train", "train a model on a dataset -> .safetensors", cmd_train},
    {"forward", "run a model on normalised features (or --raw-db: a2m features output) -> logits .npy", cmd_forward},
    {"eval", "frame metrics of a model on a dataset split", cmd_eval},
    {"compare", "note (mir_eval) or frame (scikit-learn) metrics of two transcriptions", cmd_compare},
    {"plot", "pictures (.png/.svg/.pdf): plot loss LOG.csv, plot confusion EVAL.json,\n"
             "              plot reliability EVAL.json, plot cqt AUDIO, plot pianoroll AUDIO",
     cmd_plot},
    {"report", "eval + figures + README.md of a model on a dataset split, in one folder", cmd_report},
    {"transcribe", "audio -> MIDI (+ notes CSV/JSON, frame probabilities)", cmd_transcribe},
    {"import", "PyTorch state dict (safetensors) -> self-contained a2m model", cmd_import},
    {"info", "describe a model file", cmd_info},
};
const size_t cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

static int usage(FILE *out) {
    fprintf(out,
            "a2m: transcribe singing to MIDI\n\n"
            "usage: a2m <command> [options]\n"
            "       a2m <command> --help   options of one command\n\n"
            "commands:\n");
    for (size_t i = 0; i < cli_n_commands; i++) fprintf(out, "  %-11s %s\n", cli_commands[i].name, cli_commands[i].summary);
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
        printf("a2m 0.1.0\n");
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

/* stdout is checked once here, after any command (help, results, notes): a write error is exit 1 */
int main(int argc, char **argv) {
    cli_signals_install();
    return cli_finish_stdout(run(argc, argv));
}
