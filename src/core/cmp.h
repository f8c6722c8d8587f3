/* Field-by-field comparison for qsort comparators. Internal to the library. */
#ifndef A2M_CORE_CMP_H
#define A2M_CORE_CMP_H

/* Lexicographic comparison of two n-key tuples (a comparator's fields in order of precedence): the sign of the
 * first key that differs, 0 when all are equal. A NaN key compares as greater, as the hand-written
 * `a != b ? (a < b ? -1 : 1)` chains this replaces did; integer keys up to 2^53 are exact. */
static inline int a2m_cmp_keys(int n, const double *a, const double *b) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

#endif
