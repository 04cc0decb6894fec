/*
 * The grader's test API: what a lab's test file declares.
 *
 * A lab's tests are CUnit test functions (they use CU_ASSERT and friends)
 * listed in one table with their points, visibility and time limit:
 *
 *     static void test_sum(void) { ... CU_ASSERT(...); ... }
 *     const gr_test gr_public_tests[] = {
 *         { "neuron sum", 2, 1.0, "nn_neuron_sum", test_sum },
 *         ...
 *         { NULL, 0, 0, NULL, NULL }            -- the table ends here
 *     };
 *
 * Public tests define gr_public_tests (grader/labs/labNN.c), hidden tests
 * gr_hidden_tests (grader/hidden/labNN.c), an instructor's own extra tests
 * gr_extra_tests (a folder given with HIDDEN=path). Each table is optional.
 *
 * The runner executes every test in its own child process (DESIGN section 4)
 * and decides pass or fail from what the child reports on the grader's own
 * channel, never from the child's exit status or output.
 */
#ifndef NNLAB_GRADER_H
#define NNLAB_GRADER_H

#include <CUnit/CUnit.h>

/* One test. */
typedef struct {
    const char *name;       /* shown in the report; unique within the lab */
    int points;             /* earned in full when every assertion holds */
    double seconds;         /* wall-clock limit; CPU limit is the same, rounded up */
    const char *functions;  /* the student functions it exercises, comma-separated:
                               when all of them are still the untouched stub,
                               the test is "not attempted" rather than "failed" */
    void (*run)(void);      /* the CUnit test function */
} gr_test;

/* The tables, each ending with an entry whose name is NULL. */
extern const gr_test gr_public_tests[];
extern const gr_test gr_hidden_tests[];
extern const gr_test gr_extra_tests[];

/*
 * Helpers a test may call.
 */

/* The folder this run writes into (build/grade/labNN/...): tests that
 * train something put their CSV logs under gr_out_dir()/data/ for the
 * report's plots. */
const char *gr_out_dir(void);

/* Record a hint shown with the first failure of the current test, for a
 * known common mistake ("did you forget to subtract the row max?"). The
 * first call in a test wins; a test that passes shows no hint. */
void gr_hint(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Relative error max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|) in double;
 * +Inf when any value is NaN or infinite, so NaN never passes. */
double gr_rel_err(const float *a, const float *b, int n);

/* Assert that got[n] matches want[n] within tol (gr_rel_err), with a
 * failure message naming the worst index, the expected and the got value. */
#define GR_ASSERT_CLOSE(got, want, n, tol) \
    gr_assert_close((got), (want), (n), (tol), #got, __FILE__, __LINE__)
void gr_assert_close(const float *got, const float *want, int n, double tol, const char *what,
                     const char *file, int line);

/* Assert |got − want| <= tol for one value (NaN fails), with expected/got. */
#define GR_ASSERT_NEAR(got, want, tol) \
    gr_assert_near((double)(got), (double)(want), (tol), #got, __FILE__, __LINE__)
void gr_assert_near(double got, double want, double tol, const char *what, const char *file,
                    int line);

/* Fill x[n] with NaN: outputs are poisoned before a call, so a function
 * that writes nothing cannot pass. */
void gr_poison(float *x, int n);

/* End the current test now as "skipped", with the reason (lab 8 on a
 * machine with no CUDA device): it earns nothing, counts neither as passed
 * nor as failed, and its points leave the possible total. */
void gr_skip(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#endif
