/* The smallest whole program on liba2m: a recording in, its notes printed and written as a MIDI file.
 *   cc transcribe.c $(pkg-config --cflags --libs a2m) -o transcribe
 *   ./transcribe "$(pkg-config --variable=modeldir a2m)/a2m-anypitch.safetensors" take.wav take.mid */
#include <stdio.h>
#include <stdlib.h>

#include "a2m.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.safetensors IN.wav OUT.mid\n", argv[0]);
        return 2;
    }
    a2m_model *model = NULL;    /* read-only weights: one per process, shared by threads */
    a2m_transcriber *tr = NULL; /* buffers of one transcription at a time: one per thread */
    a2m_transcription r = {0};
    a2m_note *notes = NULL;
    int rc = a2m_path_exists(argv[3]) ? a2m_error(A2M_ERR_EXISTS, "%s: exists", argv[3]) : A2M_OK;
    if (!rc) rc = a2m_model_load(argv[1], NULL, &model);
    if (!rc) rc = a2m_transcriber_new(model, a2m_transcribe_default_params(), &tr);
    if (!rc) rc = a2m_transcriber_run_file(tr, argv[2], &r);
    if (!rc && !(notes = malloc((r.n_notes + 1) * sizeof *notes))) rc = a2m_error(A2M_ERR_NOMEM, "notes");
    for (size_t i = 0; !rc && i < r.n_notes; i++) {
        char name[8];
        notes[i] = r.notes[i].note;
        printf("%8.3f %8.3f %3d %-4s %.2f\n", notes[i].onset, notes[i].offset, (int)notes[i].pitch,
               a2m_note_name((int)notes[i].pitch, name), r.notes[i].confidence);
    }
    if (!rc) rc = a2m_midi_write(argv[3], notes, r.n_notes, a2m_midi_write_default_params());
    if (rc) fprintf(stderr, "transcribe: %s\n", a2m_errmsg()); /* one line naming the file and the problem */
    free(notes);
    a2m_transcription_free(&r);
    a2m_transcriber_del(tr);
    a2m_model_del(model);
    return rc ? 1 : 0;
}
