/*
 * The runner's helpers: the test API of grader.h (float checks, hints,
 * the output folder), text buffers and escaping, the "not attempted"
 * comparison of a student's functions with the stub's, and the report
 * files (results.json, summary.txt, table.html, statuses.txt).
 *
 * Nothing here forks or touches a process: that is runner.c.
 */
#include "runner_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ======================================================================
 * Text buffers
 * ====================================================================== */

void buf_add(gr_buf *b, const char *s, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_puts(gr_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_printf(gr_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

void buf_free(gr_buf *b)
{
    free(b->p);
    *b = (gr_buf){0};
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

void buf_json(gr_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t len = utf8_len(u + i, n - i);
        if (len == 0) {
            buf_puts(b, "\\ufffd");
            i++;
            continue;
        }
        if (c == '"' || c == '\\') {
            buf_add(b, "\\", 1);
            buf_add(b, (const char *)u + i, 1);
        } else if (c == '\n')
            buf_puts(b, "\\n");
        else if (c == '\t')
            buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7F)
            buf_add(b, "?", 1); /* NUL and escapes: databases and browsers choke */
        else
            buf_add(b, (const char *)u + i, len);
        i += len;
    }
    buf_add(b, "\"", 1);
}

void buf_html(gr_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t len = utf8_len(u + i, n - i);
        if (len == 0) {
            buf_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
            i++;
            continue;
        }
        switch (c) {
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default:
            /* Control characters are not allowed in HTML text. */
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                buf_add(b, "?", 1);
            else
                buf_add(b, (const char *)u + i, len);
        }
        i += len;
    }
}

/* ======================================================================
 * The test API (grader.h)
 * ====================================================================== */

const char *gr_out_dir(void)
{
    const char *d = getenv("GR_OUT"); /* set by the runner to --out DIR */
    return d && *d ? d : ".";
}

/* Each test runs in a fresh child process, so this is per test without
 * any reset. The first hint wins: the first mistake a test recognises is
 * the one to fix first. */
static char hint_text[1024];

void gr_hint(const char *fmt, ...)
{
    if (hint_text[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hint_text, sizeof hint_text, fmt, ap);
    va_end(ap);
}

const char *gr_hint_text(void)
{
    return hint_text;
}

/* max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|): relative for large values,
 * absolute (scaled by 1e8) near zero, and symmetric in a and b. */
double gr_rel_err(const float *a, const float *b, int n)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (!isfinite(x) || !isfinite(y))
            return INFINITY;
        double e = fabs(x - y) / fmax(1e-8, fabs(x) + fabs(y));
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* Index of the worst element: the first non-finite one, else the largest
 * relative error. */
static int worst_index(const float *got, const float *want, int n, double *err)
{
    int worst = 0;
    *err = 0.0;
    for (int i = 0; i < n; i++) {
        double e = gr_rel_err(got + i, want + i, 1);
        if (isinf(e)) {
            *err = e;
            return i;
        }
        if (e > *err) {
            *err = e;
            worst = i;
        }
    }
    return worst;
}

/* Report one check to CUnit. CUnit copies the condition text, so a stack
 * buffer is fine. */
static void report_check(int ok, const char *msg, const char *file, int line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)(line > 0 ? line : 0), msg, file, "",
                            CU_FALSE);
}

void gr_assert_close(const float *got, const float *want, int n, double tol, const char *what,
                     const char *file, int line)
{
    char msg[400];
    double err = 0.0;
    int i = n > 0 ? worst_index(got, want, n, &err) : 0;
    int ok = n <= 0 || err <= tol; /* err is +Inf for NaN: never passes */
    if (ok)
        snprintf(msg, sizeof msg, "%s: within tol %g", what, tol);
    else if (isinf(err))
        snprintf(msg, sizeof msg, "%s[%d]: expected %g, got %g (not a finite number: never passes)",
                 what, i, (double)want[i], (double)got[i]);
    else
        snprintf(msg, sizeof msg, "%s[%d]: expected %g, got %g (rel err %.2g > tol %g)", what, i,
                 (double)want[i], (double)got[i], err, tol);
    report_check(ok, msg, file, line);
}

void gr_assert_near(double got, double want, double tol, const char *what, const char *file,
                    int line)
{
    char msg[400];
    double diff = fabs(got - want);
    int ok = diff <= tol; /* false when either is NaN */
    if (ok)
        snprintf(msg, sizeof msg, "%s: within %g", what, tol);
    else if (isnan(diff) || isinf(diff))
        snprintf(msg, sizeof msg, "%s: expected %g, got %g (not a finite number: never passes)",
                 what, want, got);
    else
        snprintf(msg, sizeof msg, "%s: expected %g, got %g (|diff| %.2g > tol %g)", what, want, got,
                 diff, tol);
    report_check(ok, msg, file, line);
}

void gr_poison(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = NAN;
}

/* ======================================================================
 * "Not attempted": compare function bodies with the stub's
 *
 * A tiny C lexer, enough to find top-level function definitions and to
 * compare their bodies token by token, so that whitespace and comments do
 * not count. It is written for hostile input: any byte sequence gives some
 * answer, unterminated comments or strings end at the end of the file, and
 * unbalanced braces only mean the function is not found ("attempted").
 * ====================================================================== */

enum { TOK_END, TOK_WORD, TOK_STR, TOK_PUNCT, TOK_PP };

typedef struct {
    const char *s;
    size_t i, n;
    int bol; /* at the beginning of a line: a '#' starts a directive */
} lexer;

typedef struct {
    int kind;
    const char *p;
    size_t len;
} token;

static int is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skip whitespace and comments; note line starts. */
static void lex_skip(lexer *L)
{
    while (L->i < L->n) {
        char c = L->s[L->i];
        if (c == '\n') {
            L->bol = 1;
            L->i++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L->i++;
        } else if (c == '/' && L->i + 1 < L->n && L->s[L->i + 1] == '*') {
            const char *end = NULL;
            for (size_t j = L->i + 2; j + 1 < L->n; j++)
                if (L->s[j] == '*' && L->s[j + 1] == '/') {
                    end = L->s + j + 2;
                    break;
                }
            L->i = end ? (size_t)(end - L->s) : L->n;
        } else if (c == '/' && L->i + 1 < L->n && L->s[L->i + 1] == '/') {
            while (L->i < L->n && L->s[L->i] != '\n')
                L->i += (L->s[L->i] == '\\' && L->i + 1 < L->n) ? 2 : 1;
        } else
            return;
    }
}

/* The end of a literal opened by quote q at i: the matching quote, or the
 * end of the line when it is unterminated. */
static size_t literal_end(const lexer *L, size_t i, char q)
{
    for (i++; i < L->n && L->s[i] != '\n'; i++) {
        if (L->s[i] == '\\')
            i++;
        else if (L->s[i] == q)
            return i + 1;
    }
    return i < L->n ? i : L->n;
}

static token lex_next(lexer *L)
{
    lex_skip(L);
    token t = {TOK_END, L->s + L->i, 0};
    if (L->i >= L->n)
        return t;
    size_t start = L->i;
    char c = L->s[start];
    if (c == '#' && L->bol) {
        t.kind = TOK_PP; /* a directive runs to the end of its (continued) line */
        while (L->i < L->n && L->s[L->i] != '\n')
            L->i += (L->s[L->i] == '\\' && L->i + 1 < L->n) ? 2 : 1;
    } else if (c == '"' || c == '\'') {
        t.kind = TOK_STR;
        L->i = literal_end(L, start, c);
    } else if (is_word((unsigned char)c)) {
        t.kind = TOK_WORD;
        while (L->i < L->n && is_word((unsigned char)L->s[L->i]))
            L->i++;
    } else {
        t.kind = TOK_PUNCT;
        L->i++;
    }
    L->bol = 0;
    t.len = L->i - start;
    return t;
}

static int tok_is(token t, char c)
{
    return t.kind == TOK_PUNCT && t.p[0] == c;
}

/* A body as its tokens joined by single spaces (a directive's inner
 * whitespace squeezed to one space): equal strings mean equal code. */
static char *normalize(const char *s, size_t n)
{
    lexer L = {s, 0, n, 0};
    gr_buf b = {0};
    for (token t = lex_next(&L); t.kind != TOK_END; t = lex_next(&L)) {
        if (b.len)
            buf_add(&b, " ", 1);
        if (t.kind != TOK_PP) {
            buf_add(&b, t.p, t.len);
            continue;
        }
        for (size_t k = 0; k < t.len; k++) {
            int space = t.p[k] == ' ' || t.p[k] == '\t' || t.p[k] == '\\' || t.p[k] == '\n' ||
                        t.p[k] == '\r';
            if (!space)
                buf_add(&b, t.p + k, 1);
            else if (b.len && b.p[b.len - 1] != ' ')
                buf_add(&b, " ", 1);
        }
    }
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    if (!b.p)
        return calloc(1, 1);
    return b.p;
}

typedef struct {
    char *name;
    char *body; /* normalized */
} src_fn;

typedef struct {
    src_fn *fn;
    int n, cap;
} src_file;

struct gr_sources {
    src_file **student, **stub; /* one per pair */
    int pairs;
};

enum { SRC_MAX_BYTES = 4 << 20, SRC_MAX_FUNCTIONS = 10000, SRC_MAX_NAME = 200 };

static void file_add(src_file *f, token name, const char *body, size_t len)
{
    if (f->n >= SRC_MAX_FUNCTIONS || name.len == 0 || name.len > SRC_MAX_NAME)
        return;
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        src_fn *p = realloc(f->fn, (size_t)cap * sizeof *p);
        if (!p)
            return;
        f->fn = p;
        f->cap = cap;
    }
    char *nm = malloc(name.len + 1);
    char *nb = normalize(body, len);
    if (!nm || !nb) {
        free(nm);
        free(nb);
        return;
    }
    memcpy(nm, name.p, name.len);
    nm[name.len] = '\0';
    f->fn[f->n++] = (src_fn){nm, nb};
}

/* Find every top-level definition `... name ( ... ) ... { body }`.
 * At file scope, the name is the word before the first '(' of a
 * declaration; ';' or '=' ends the declaration (a prototype, a variable,
 * an initializer's braces), so only function bodies are recorded. */
static void scan_functions(src_file *f, const char *s, size_t n)
{
    lexer L = {s, 0, n, 1};
    token prev = {TOK_END, s, 0}, name = {TOK_END, s, 0};
    int depth = 0, paren = 0, in_function = 0;
    const char *body = NULL;
    for (token t = lex_next(&L); t.kind != TOK_END; prev = t, t = lex_next(&L)) {
        if (depth > 0) {
            if (tok_is(t, '{'))
                depth++;
            else if (tok_is(t, '}') && --depth == 0) {
                if (in_function)
                    file_add(f, name, body, (size_t)(t.p + 1 - body));
                in_function = 0;
                name.kind = TOK_END;
            }
            continue;
        }
        if (tok_is(t, '(')) {
            if (paren++ == 0 && name.kind == TOK_END && prev.kind == TOK_WORD)
                name = prev;
        } else if (tok_is(t, ')')) {
            if (paren > 0)
                paren--;
        } else if (paren == 0 && (tok_is(t, ';') || tok_is(t, '='))) {
            name.kind = TOK_END;
        } else if (tok_is(t, '{')) {
            in_function = paren == 0 && name.kind == TOK_WORD;
            body = t.p;
            depth = 1;
            paren = 0;
        }
    }
}

static src_file *load_file(const char *path)
{
    src_file *f = calloc(1, sizeof *f);
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!f || !fp) {
        if (fp)
            fclose(fp);
        return f;
    }
    char *text = malloc(SRC_MAX_BYTES);
    size_t n = text ? fread(text, 1, SRC_MAX_BYTES, fp) : 0;
    fclose(fp);
    if (text)
        scan_functions(f, text, n);
    free(text);
    return f;
}

static void file_free(src_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->fn[i].name);
        free(f->fn[i].body);
    }
    free(f->fn);
    free(f);
}

gr_sources *src_load(char *const *students, char *const *stubs, int pairs)
{
    gr_sources *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->student = calloc((size_t)(pairs > 0 ? pairs : 1), sizeof *s->student);
    s->stub = calloc((size_t)(pairs > 0 ? pairs : 1), sizeof *s->stub);
    if (!s->student || !s->stub) {
        src_free(s);
        return NULL;
    }
    s->pairs = pairs;
    for (int i = 0; i < pairs; i++) {
        s->student[i] = load_file(students[i]);
        s->stub[i] = load_file(stubs[i]);
    }
    return s;
}

void src_free(gr_sources *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->pairs; i++) {
        if (s->student)
            file_free(s->student[i]);
        if (s->stub)
            file_free(s->stub[i]);
    }
    free(s->student);
    free(s->stub);
    free(s);
}

static const src_fn *find_fn(const src_file *f, const char *name, size_t len)
{
    for (int i = 0; f && i < f->n; i++)
        if (strlen(f->fn[i].name) == len && memcmp(f->fn[i].name, name, len) == 0)
            return &f->fn[i];
    return NULL;
}

/* 1 when some pair has the function in both files with equal bodies. */
static int fn_untouched(const gr_sources *s, const char *name, size_t len)
{
    for (int i = 0; i < s->pairs; i++) {
        const src_fn *stub = find_fn(s->stub[i], name, len);
        const src_fn *mine = find_fn(s->student[i], name, len);
        if (stub && mine)
            return strcmp(stub->body, mine->body) == 0;
    }
    return 0;
}

int src_untouched(const gr_sources *s, const char *functions)
{
    if (!s || s->pairs == 0 || !functions)
        return 0;
    int seen = 0;
    for (const char *p = functions; *p;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        while (*q && *q != ',' && *q != ' ' && *q != '\t')
            q++;
        if (q > p) {
            if (!fn_untouched(s, p, (size_t)(q - p)))
                return 0;
            seen = 1;
        }
        p = q;
    }
    return seen;
}

/* ======================================================================
 * Reports
 * ====================================================================== */

const char *outcome_keyword(gr_outcome o)
{
    switch (o) {
    case GR_PENDING: return "not-run";
    case GR_PASSED: return "passed";
    case GR_FAILED: return "failed";
    case GR_NOT_ATTEMPTED: return "not-attempted";
    case GR_CRASHED: return "crashed";
    case GR_TIMEOUT: return "timeout";
    case GR_CPU: return "cpu-time";
    case GR_EXITED: return "exited";
    case GR_MEMORY: return "memory";
    case GR_OUTPUT: return "output-limit";
    case GR_FILESIZE: return "file-size";
    case GR_TAMPERED: return "tampered";
    case GR_SKIPPED: return "skipped";
    case GR_NOT_RUN: return "not-run";
    case GR_COMPILE: return "compile-error";
    }
    return "failed";
}

gr_totals run_totals(const gr_run *run)
{
    gr_totals t = {0};
    for (int i = 0; i < run->n; i++) {
        const gr_result *r = &run->r[i];
        t.score += r->score;
        t.max += r->points;
        if (r->outcome == GR_PASSED)
            t.passed++;
        else if (r->outcome == GR_SKIPPED) {
            t.skipped++;
            t.skipped_points += r->test ? r->test->points : 0;
        } else {
            t.failed++; /* not attempted, crashed, not run... all count as failed */
            t.not_attempted += r->outcome == GR_NOT_ATTEMPTED;
        }
    }
    return t;
}

static const char *lab_title(const gr_run *run, char *buf, size_t size)
{
    const char *lab = run->lab && *run->lab ? run->lab : "tests";
    int digits = strspn(lab, "0123456789") == strlen(lab);
    snprintf(buf, size, "%s%s", digits ? "lab " : "", lab);
    return buf;
}

int text_name_width(const gr_run *run)
{
    size_t w = 20;
    for (int i = 0; i < run->n; i++) {
        size_t len = strlen(run->r[i].name) + (run->r[i].hidden ? 9 : 0);
        if (len > w)
            w = len;
    }
    return w > 48 ? 48 : (int)w;
}

void text_heading(gr_buf *b, const gr_run *run, int width)
{
    char title[128];
    buf_printf(b, "nnlab grader: %s, %d test%s\n\n", lab_title(run, title, sizeof title), run->n,
               run->n == 1 ? "" : "s");
    buf_printf(b, "  %-*s  points   status\n", width, "test");
}

/* Append text indented under a row, one line at a time, at most 12
 * lines (a long compiler log is in full in results.json and the report). */
static void text_detail(gr_buf *b, const char *prefix, const char *text)
{
    for (int lines = 0; text && *text; lines++) {
        if (lines == 12) {
            buf_puts(b, "        [...]\n");
            return;
        }
        size_t n = strcspn(text, "\n");
        buf_printf(b, "        %s%.*s\n", prefix, (int)n, text);
        text += n + (text[n] == '\n');
        prefix = "";
    }
}

void text_row(gr_buf *b, const gr_result *r, int width)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", r->name, r->hidden ? " [hidden]" : "");
    for (char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' '; /* a tab or newline in a name would break the columns */
    if (strlen(name) > (size_t)width && width > 3) {
        /* Too long for the column: cut (not inside a UTF-8 character) and mark it. */
        size_t cut = (size_t)width - 3;
        while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(name + cut, "...", 4);
    }
    int counted = r->outcome != GR_SKIPPED && r->outcome != GR_NOT_RUN;
    int possible = r->test && !counted ? r->test->points : r->points;
    if (counted && r->outcome != GR_PENDING)
        buf_printf(b, "  %-*s %3d / %-3d  %s\n", width, name, r->score, possible, r->status);
    else
        buf_printf(b, "  %-*s   - / %-3d  %s\n", width, name, possible, r->status);
    if (r->outcome != GR_PASSED) {
        text_detail(b, "", r->message);
        if (r->hint && *r->hint)
            text_detail(b, "hint: ", r->hint);
    }
}

void text_closing(gr_buf *b, const gr_run *run)
{
    gr_totals t = run_totals(run);
    buf_printf(b, "\nTotal: %d / %d points", t.score, t.max);
    if (t.not_attempted)
        buf_printf(b, " (%d test%s not attempted)", t.not_attempted,
                   t.not_attempted == 1 ? "" : "s");
    if (t.skipped_points)
        buf_printf(b, " (%d points in skipped tests not counted)", t.skipped_points);
    buf_printf(b, "\n%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
}

/* The text of a test for results.json and the HTML details: status, the
 * first failure, the hint, then what the test printed. */
static void test_text(gr_buf *b, const gr_result *r)
{
    buf_puts(b, r->status);
    buf_puts(b, "\n");
    if (r->outcome != GR_PASSED && r->message) {
        buf_puts(b, r->message);
        buf_puts(b, "\n");
    }
    if (r->outcome != GR_PASSED && r->hint && *r->hint)
        buf_printf(b, "hint: %s\n", r->hint);
    if (r->output && r->output_len) {
        buf_puts(b, "\n--- what the test printed (stdout and stderr) ---\n");
        buf_add(b, r->output, r->output_len);
    }
}

/* The top-level "output", which Gradescope shows students: with hidden
 * tests, it counts the public ones only, so it tells nothing hidden. */
static void json_summary(gr_buf *b, const gr_run *run)
{
    char title[128];
    gr_run visible = *run;
    gr_result *pub = calloc(run->n > 0 ? (size_t)run->n : 1, sizeof *pub);
    visible.n = 0;
    for (int i = 0; pub && i < run->n; i++)
        if (!run->r[i].hidden)
            pub[visible.n++] = run->r[i];
    visible.r = pub;
    gr_totals t = run_totals(pub ? &visible : run);
    buf_printf(b, "nnlab grader, %s: ", lab_title(run, title, sizeof title));
    if (pub && visible.n < run->n)
        buf_printf(b, "public tests %d passed, %d failed, %d skipped; %d hidden tests.", t.passed,
                   t.failed, t.skipped, run->n - visible.n);
    else
        buf_printf(b, "%d passed, %d failed, %d skipped. Total: %d / %d points.", t.passed,
                   t.failed, t.skipped, t.score, t.max);
    free(pub);
}

static void json_report(gr_buf *b, const gr_run *run)
{
    gr_totals t = run_totals(run);
    gr_buf summary = {0};
    json_summary(&summary, run);
    buf_printf(b, "{\n  \"score\": %d,\n  \"max_score\": %d,\n  \"execution_time\": %d,\n",
               t.score, t.max, (int)ceil(run->seconds));
    buf_puts(b, "  \"output\": ");
    buf_json(b, summary.p ? summary.p : "", summary.len);
    buf_puts(b, ",\n  \"tests\": [");
    buf_free(&summary);
    for (int i = 0; i < run->n; i++) {
        const gr_result *r = &run->r[i];
        gr_buf text = {0};
        test_text(&text, r);
        buf_puts(b, i ? ",\n    {" : "\n    {");
        buf_puts(b, "\"name\": ");
        buf_json(b, r->name, strlen(r->name));
        buf_printf(b, ", \"score\": %d, \"max_score\": %d", r->score, r->points);
        /* Gradescope knows only passed and failed: a skipped test has no
         * status (and max_score 0), so it counts as neither. */
        if (r->outcome != GR_SKIPPED)
            buf_printf(b, ", \"status\": \"%s\"", r->outcome == GR_PASSED ? "passed" : "failed");
        buf_printf(b, ", \"visibility\": \"%s\", \"output\": ", r->hidden ? "hidden" : "visible");
        buf_json(b, text.p ? text.p : "", text.len);
        buf_puts(b, "}");
        b->oom |= text.oom;
        buf_free(&text);
    }
    buf_puts(b, "\n  ]\n}\n");
}

static void html_row(gr_buf *b, const gr_result *r)
{
    int counted = r->outcome != GR_SKIPPED && r->outcome != GR_NOT_RUN &&
                  r->outcome != GR_PENDING;
    int possible = r->test && !counted ? r->test->points : r->points;
    buf_printf(b, "<tr class=\"gr-%s\"><td>", outcome_keyword(r->outcome));
    buf_html(b, r->name, strlen(r->name));
    if (r->hidden)
        buf_puts(b, " <span class=\"gr-hidden\">hidden</span>");
    if (counted)
        buf_printf(b, "</td><td>%d / %d</td><td>", r->score, possible);
    else
        buf_printf(b, "</td><td>&ndash; / %d</td><td>", possible);
    buf_html(b, r->status, strlen(r->status));
    buf_puts(b, "</td><td>");
    if (r->outcome != GR_PASSED && r->message) {
        buf_puts(b, "<code>");
        buf_html(b, r->message, strlen(r->message));
        buf_puts(b, "</code>");
    }
    if (r->outcome != GR_PASSED && r->hint && *r->hint) {
        buf_puts(b, "<br><span class=\"gr-hint\">hint: ");
        buf_html(b, r->hint, strlen(r->hint));
        buf_puts(b, "</span>");
    }
    if (r->output && r->output_len) {
        buf_puts(b, "<details><summary>output</summary><pre>");
        buf_html(b, r->output, r->output_len);
        buf_puts(b, "</pre></details>");
    }
    buf_puts(b, "</td></tr>\n");
}

static void html_report(gr_buf *b, const gr_run *run)
{
    gr_totals t = run_totals(run);
    buf_puts(b, "<table class=\"gr-results\">\n<thead><tr><th>test</th><th>points</th>"
                "<th>status</th><th>details</th></tr></thead>\n<tbody>\n");
    for (int i = 0; i < run->n; i++)
        html_row(b, &run->r[i]);
    buf_printf(b, "</tbody>\n<tfoot><tr><td>Total</td><td>%d / %d</td><td colspan=\"2\">"
                  "%d passed, %d failed, %d skipped</td></tr></tfoot>\n</table>\n",
               t.score, t.max, t.passed, t.failed, t.skipped);
}

/* "name<TAB>keyword<TAB>status" per test, for scripts (tabs and newlines
 * inside a field become spaces). */
static void put_field(gr_buf *b, const char *s)
{
    for (; *s; s++)
        buf_add(b, (*s == '\t' || *s == '\n' || *s == '\r') ? " " : s, 1);
}

static void statuses_report(gr_buf *b, const gr_run *run)
{
    for (int i = 0; i < run->n; i++) {
        put_field(b, run->r[i].name);
        buf_printf(b, "\t%s\t", outcome_keyword(run->r[i].outcome));
        put_field(b, run->r[i].status);
        buf_puts(b, "\n");
    }
}

static void text_report(gr_buf *b, const gr_run *run)
{
    int width = text_name_width(run);
    text_heading(b, run, width);
    for (int i = 0; i < run->n; i++)
        text_row(b, &run->r[i], width);
    text_closing(b, run);
}

/* Write dir/name through a temporary file and rename(2), so a reader (or
 * a grader killed half-way) never sees a half-written file. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "grader: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    size_t put = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || put != len || rename(tmp, path) != 0) {
        fprintf(stderr, "grader: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const char json_fallback[] =
    "{\"score\": 0, \"max_score\": 0, \"execution_time\": 0, \"output\": "
    "\"The grader ran out of memory while writing its report.\", \"tests\": []}\n";

int write_reports(const gr_run *run)
{
    static void (*const writers[])(gr_buf *, const gr_run *) = {json_report, text_report,
                                                                 html_report, statuses_report};
    static const char *const names[] = {"results.json", "summary.txt", "table.html",
                                        "statuses.txt"};
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        gr_buf b = {0};
        writers[i](&b, run);
        if (b.oom && i == 0)
            rc |= write_atomic(run->out_dir, names[i], json_fallback, sizeof json_fallback - 1);
        else
            rc |= write_atomic(run->out_dir, names[i], b.p ? b.p : "", b.len);
        buf_free(&b);
    }
    return rc ? -1 : 0;
}
