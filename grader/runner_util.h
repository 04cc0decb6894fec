/*
 * The runner's private interface between runner.c (options, the isolated
 * test processes) and runner_util.c (text buffers, escaping, the "not
 * attempted" source comparison, the report files). Test files never
 * include it: their API is grader.h.
 */
#ifndef NNLAB_RUNNER_UTIL_H
#define NNLAB_RUNNER_UTIL_H

#include <stddef.h>
#include "grader.h"

/* ------------------------------------------------------------ text buffers */

/* A growable byte string. On allocation failure `oom` is set and further
 * appends are dropped, so report code never has to check each call: the
 * writer looks at `oom` once and falls back to a minimal report. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} gr_buf;

void buf_add(gr_buf *b, const char *s, size_t n);
void buf_puts(gr_buf *b, const char *s);
void buf_printf(gr_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void buf_free(gr_buf *b);
/* Append s[n] as a JSON string literal, quotes included; invalid UTF-8
 * becomes U+FFFD so the file stays valid JSON whatever a test printed. */
void buf_json(gr_buf *b, const char *s, size_t n);
/* Append s[n] with & < > " ' escaped for HTML. */
void buf_html(gr_buf *b, const char *s, size_t n);

/* ------------------------------------------------------------ test API state */

/* The hint the current test set with gr_hint(), or "" (child side). */
const char *gr_hint_text(void);

/* ------------------------------------------------------------ not attempted */

typedef struct gr_sources gr_sources;

/* Read the --student/--stub pairs (same order). Unreadable files simply
 * match nothing. Never fails on odd C: the worst case is "attempted". */
gr_sources *src_load(char *const *students, char *const *stubs, int pairs);
void src_free(gr_sources *s);
/* 1 when every function in the comma-separated list has, in some pair, a
 * body identical to the stub's (whitespace and comments aside); 0 when
 * the list is empty or any function differs or cannot be found. */
int src_untouched(const gr_sources *s, const char *functions);

/* ------------------------------------------------------------ results */

/* What became of one test. The keyword (outcome_keyword) is the stable,
 * machine-readable name written to statuses.txt. */
typedef enum {
    GR_PENDING,       /* not run yet (or the grader stopped before it)  */
    GR_PASSED,
    GR_FAILED,        /* an assertion failed                             */
    GR_NOT_ATTEMPTED, /* every function it tests is still the stub       */
    GR_CRASHED,       /* killed by a signal (or stopped by a sanitizer)  */
    GR_TIMEOUT,       /* wall-clock limit                                */
    GR_CPU,           /* CPU-time limit                                  */
    GR_EXITED,        /* exit() before the test finished                 */
    GR_MEMORY,        /* ran out of address space                        */
    GR_OUTPUT,        /* printed more than the output limit              */
    GR_FILESIZE,      /* wrote a file past the file-size limit           */
    GR_TAMPERED,      /* broke the grader's CUnit state or report channel */
    GR_SKIPPED,       /* gr_skip(): cannot run here (no CUDA device)     */
    GR_NOT_RUN,       /* the code does not compile                       */
    GR_COMPILE        /* the "compiles" pseudo-test of --compile-error   */
} gr_outcome;

const char *outcome_keyword(gr_outcome o);

typedef struct {
    const gr_test *test;   /* NULL for the "compiles" pseudo-test */
    const char *name;
    int hidden;
    int points;            /* possible points as counted in the total */
    int score;
    double limit;          /* wall-clock limit in seconds, scaled */
    gr_outcome outcome;
    char status[200];      /* "crashed: SIGSEGV (segmentation fault)"  */
    char *message;         /* first failure "file:line: condition", or NULL */
    char *hint;            /* gr_hint() text shown with a failure, or NULL */
    char *output;          /* captured stdout+stderr (capped), or NULL */
    size_t output_len;
} gr_result;

/* The whole run, as the report writers see it. */
typedef struct {
    const char *lab;       /* --lab, for headings */
    const char *out_dir;
    gr_result *r;
    int n;
    double seconds;        /* elapsed so far */
} gr_run;

/* Totals over the run: points earned and possible, closing-line counts. */
typedef struct {
    int score, max, skipped_points;
    int passed, failed, skipped, not_attempted;
} gr_totals;

gr_totals run_totals(const gr_run *run);

/* The terminal table, piece by piece, so rows can be printed as tests
 * finish: the heading, one row (with its failure lines), the closing. */
void text_heading(gr_buf *b, const gr_run *run, int width);
void text_row(gr_buf *b, const gr_result *r, int width);
void text_closing(gr_buf *b, const gr_run *run);
int text_name_width(const gr_run *run);

/* Write results.json, summary.txt, table.html and statuses.txt into
 * run->out_dir, each atomically (temporary file, then rename). Returns 0,
 * or -1 when some file could not be written (a message is printed). */
int write_reports(const gr_run *run);

#endif
