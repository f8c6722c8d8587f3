/* The study both test_search and test_alloc_fail open: a fresh SQLite file (its -wal and -shm side files gone too)
 * and the options a2m search's defaults would give (val_loss, TPE, the median pruner), 3 epochs, seed 7. */
#ifndef A2M_TEST_STUDY_CHECK_H
#define A2M_TEST_STUDY_CHECK_H

#include <stdio.h>
#include <string.h>

#include "a2m/search.h"

static inline void test_study_fresh(const char *db) {
    char side[4200];
    remove(db);
    snprintf(side, sizeof side, "%s-wal", db), remove(side);
    snprintf(side, sizeof side, "%s-shm", db), remove(side);
}

static inline a2m_study_info test_study_want(void) {
    a2m_study_info want;
    memset(&want, 0, sizeof want);
    snprintf(want.objective, sizeof want.objective, "val_loss");
    snprintf(want.sampler, sizeof want.sampler, "tpe");
    snprintf(want.pruner, sizeof want.pruner, "median");
    want.epochs = 3, want.seed = 7;
    return want;
}

#endif
