/* Run-time instruction-set dispatch for hot loops. The library is compiled
 * for the baseline (A2M_MARCH, default x86-64: every x86-64 CPU runs it);
 * A2M_DISPATCH on a function compiles it twice, for x86-64-v3 (AVX2, FMA)
 * and for the baseline, and the loader picks one by the CPU at start-up
 * (GCC/clang target_clones, an ifunc). Only on static functions: clang 14
 * names an external function's ifunc NAME.ifunc, so calls from other files
 * would not link; an external entry point calls a dispatched static body.
 * Helpers a dispatched function calls must be static inline to be compiled
 * into its clones. Floating-point
 * contraction stays as the file's flags say (off in ISO C mode), so the two
 * clones give the same numbers except in files built with -ffp-contract=fast
 * (the CQT: its v3 clone fuses multiply-adds, as the v3 build always did).
 * Empty where the baseline already has AVX2 (-DA2M_MARCH=native on such a
 * CPU) or the compiler/target has no target_clones. */
#ifndef A2M_CORE_ISA_H
#define A2M_CORE_ISA_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__) && !defined(A2M_NO_DISPATCH)
#define A2M_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define A2M_DISPATCH
#endif

/* A2M_DISPATCH with an x86-64-v4 (AVX-512) clone too, for loops that gain from 16 lanes (GCC only: clang's
 * target_clones takes no arch= list). The same bits as the other clones where the file does not contract. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__) &&                        \
    !defined(A2M_NO_DISPATCH)
#define A2M_DISPATCH_V4 __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define A2M_DISPATCH_V4 A2M_DISPATCH
#endif

#endif
