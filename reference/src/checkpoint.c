/*
 * safetensors checkpoints (DESIGN section 5): named float32 tensors plus
 * string metadata, in the format PyTorch and numpy users load directly.
 *
 * A file is three parts:
 *
 *     8 bytes    N, the header length, unsigned little-endian
 *     N bytes    JSON: {"__metadata__": {"key": "value", ...},
 *                       "name": {"dtype": "F32", "shape": [d0, d1, ...],
 *                                "data_offsets": [begin, end]}, ...}
 *                padded with spaces so that the data starts 8-byte aligned
 *     the rest   the data section: each tensor's values, row-major,
 *                little-endian, in bytes [begin, end) of this section
 *
 * The reader trusts nothing in the file. The header is read by a small JSON
 * parser that knows exactly which values the format allows (an object of
 * objects, strings and integer arrays), so it needs no recursion and no
 * general JSON tree; and every offset is checked against the shape and the
 * file size before a single data byte is copied.
 */
#include "nnlab/checkpoint.h"
#include "nnlab/error.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* F32 data is IEEE-754 binary32: four bytes a value, copied as they are. */
_Static_assert(sizeof(float) == 4, "safetensors F32 needs a 4-byte float");

/* The reference implementation refuses longer headers; so do we, so that a
 * corrupt length cannot make the reader walk gigabytes of garbage. */
#define HEADER_MAX 100000000u

/* ================================================================ bytes */

/* Files are little-endian whatever the machine. The 8-byte length is
 * assembled byte by byte; the float data is copied with memcpy and, on the
 * rare big-endian host, byte-swapped afterwards. */
static int host_is_little_endian(void)
{
    const uint32_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static uint64_t load_u64le(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void store_u64le(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> 8 * i);
}

/* Reverse the byte order of n 4-byte values in place. */
static void swap4(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        uint8_t t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

static void floats_from_le(float *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
    if (!host_is_little_endian())
        swap4(dst, n);
}

/* fwrite n floats as little-endian; returns 1 on success. */
static int write_floats_le(FILE *fp, const float *x, size_t n)
{
    if (host_is_little_endian())
        return fwrite(x, sizeof(float), n, fp) == n;
    float chunk[1024];
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        memcpy(chunk, x, k * sizeof(float));
        swap4(chunk, k);
        if (fwrite(chunk, sizeof(float), k, fp) != k)
            return 0;
        x += k;
        n -= k;
    }
    return 1;
}

/* ================================================================ memory */

/* Return arr (n elements used) resized to cap elements, the new ones zero
 * (nn_alloc zero-fills); the old block is freed. On failure arr is left
 * untouched and NULL is returned, so that the caller's cleanup frees it. */
static void *resize(void *arr, int n, int cap, size_t elem)
{
    void *p = nn_alloc((size_t)cap * elem);
    if (!p)
        return NULL;
    if (n > 0)
        memcpy(p, arr, (size_t)n * elem);
    nn_free(arr);
    return p;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fail if two of the n strings at base + i*stride are equal. Sorting first
 * keeps this O(n log n): a header may hold millions of entries. */
static int check_unique(const void *base, size_t stride, int n, const char *what)
{
    if (n < 2)
        return NN_OK;
    const char **names = nn_alloc((size_t)n * sizeof *names);
    if (!names)
        return NN_ERROR;
    for (int i = 0; i < n; i++)
        names[i] = (const char *)base + (size_t)i * stride;
    qsort(names, (size_t)n, sizeof *names, compare_names);
    int rc = NN_OK;
    for (int i = 1; i < n && rc == NN_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = nn_fail("duplicate %s '%s'", what, names[i]);
    nn_free(names);
    return rc;
}

/* ================================================================ JSON */

/* A cursor over the header text. Syntax errors give the byte position. */
typedef struct {
    const char *p;      /* next unread character */
    const char *end;    /* one past the last header byte */
    const char *start;  /* first header byte */
} json;

static size_t json_pos(const json *j)
{
    return (size_t)(j->p - j->start);
}

static void json_skip_space(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Consume c if it is the next non-blank character; returns 1 if it was. */
static int json_accept(json *j, char c)
{
    json_skip_space(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int json_expect(json *j, char c)
{
    if (json_accept(j, c))
        return NN_OK;
    if (j->p == j->end)
        return nn_fail("header JSON ends early: expected '%c'", c);
    if (*j->p > ' ' && *j->p < 0x7f)
        return nn_fail("header JSON, byte %zu: expected '%c', found '%c'", json_pos(j), c, *j->p);
    return nn_fail("header JSON, byte %zu: expected '%c'", json_pos(j), c);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits of a \uXXXX escape, j->p just past the 'u'. */
static int json_hex4(json *j, unsigned *out)
{
    if (j->end - j->p < 4)
        return nn_fail("header JSON ends inside a \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(j->p[i]);
        if (d < 0)
            return nn_fail("header JSON, byte %zu: bad \\u escape", json_pos(j));
        v = v << 4 | (unsigned)d;
    }
    j->p += 4;
    *out = v;
    return NN_OK;
}

/* Encode code point cp (at most 0x10FFFF) as UTF-8; returns the length. */
static size_t utf8_encode(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX, j->p just past the 'u'. Characters outside the Basic
 * Multilingual Plane come as a UTF-16 surrogate pair, \uD83D\uDE00:
 * cp = 0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00). */
static int json_unicode_escape(json *j, char *out, size_t *len)
{
    unsigned cp, low;
    if (json_hex4(j, &cp) != NN_OK)
        return NN_ERROR;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
            return nn_fail("header JSON, byte %zu: lone UTF-16 surrogate", json_pos(j));
        j->p += 2;
        if (json_hex4(j, &low) != NN_OK)
            return NN_ERROR;
        if (low < 0xDC00 || low > 0xDFFF)
            return nn_fail("header JSON, byte %zu: bad UTF-16 surrogate pair", json_pos(j));
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return nn_fail("header JSON, byte %zu: lone UTF-16 surrogate", json_pos(j));
    }
    /* A NUL would silently cut the C string short. */
    if (cp == 0)
        return nn_fail("header JSON, byte %zu: string contains a NUL character", json_pos(j));
    *len = utf8_encode(out, cp);
    return NN_OK;
}

/* One escape sequence, j->p just past the backslash. */
static int json_escape(json *j, char *out, size_t *len)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (j->p == j->end)
        return nn_fail("header JSON ends inside a string");
    char c = *j->p++;
    if (c == 'u')
        return json_unicode_escape(j, out, len);
    const char *hit = c ? strchr(from, c) : NULL;
    if (!hit)
        return nn_fail("header JSON, byte %zu: invalid escape '\\%c'", json_pos(j) - 1, c);
    out[0] = to[hit - from];
    *len = 1;
    return NN_OK;
}

/* A string into out[cap], NUL-terminated. `what` names it in the message
 * when it does not fit. Bytes from 0x80 up are copied as they are. */
static int json_string(json *j, char *out, size_t cap, const char *what)
{
    if (json_expect(j, '"') != NN_OK)
        return NN_ERROR;
    size_t at = json_pos(j), n = 0;
    for (;;) {
        if (j->p == j->end)
            return nn_fail("header JSON ends inside a string");
        char c = *j->p++, piece[4];
        size_t k = 1;
        if (c == '"')
            break;
        piece[0] = c;
        if ((unsigned char)c < 0x20)
            return nn_fail("header JSON, byte %zu: control character in a string", json_pos(j) - 1);
        if (c == '\\' && json_escape(j, piece, &k) != NN_OK)
            return NN_ERROR;
        if (n + k >= cap)
            return nn_fail("%s at header byte %zu is longer than %zu bytes", what, at, cap - 1);
        memcpy(out + n, piece, k);
        n += k;
    }
    out[n] = '\0';
    return NN_OK;
}

/* A string of any length, allocated. Escapes only ever shrink text, so
 * the raw length up to the closing quote bounds the decoded length. */
static int json_string_alloc(json *j, char **out, const char *what)
{
    json_skip_space(j);
    const char *q = j->p + 1;
    while (q < j->end && *q != '"')
        q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    size_t cap = (size_t)(q - j->p) + 1;
    *out = nn_alloc(cap);
    if (!*out)
        return NN_ERROR;
    return json_string(j, *out, cap, what);
}

/* A non-negative integer, as JSON writes it: digits, no sign, no fraction,
 * no exponent, no leading zero. */
static int json_uint(json *j, uint64_t *out)
{
    json_skip_space(j);
    const char *first = j->p;
    uint64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return nn_fail("header JSON, byte %zu: integer too large", json_pos(j));
        v = v * 10 + d;
        j->p++;
    }
    if (j->p == first)
        return nn_fail("header JSON, byte %zu: expected a non-negative integer", json_pos(j));
    if (*first == '0' && j->p - first > 1)
        return nn_fail("header JSON, byte %zu: integer with a leading zero", json_pos(j));
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return nn_fail("header JSON, byte %zu: expected an integer", json_pos(j));
    *out = v;
    return NN_OK;
}

/* [v0, v1, ...]: keeps the first cap values, counts them all in *n, so the
 * caller can say "5 dimensions" rather than "bad array". */
static int json_uint_array(json *j, uint64_t *v, int cap, int *n)
{
    *n = 0;
    if (json_expect(j, '[') != NN_OK)
        return NN_ERROR;
    if (json_accept(j, ']'))
        return NN_OK;
    do {
        uint64_t x = 0;
        if (json_uint(j, &x) != NN_OK)
            return NN_ERROR;
        if (*n < cap)
            v[*n] = x;
        (*n)++;   /* cannot overflow: a 100 MB header holds < 50M numbers */
    } while (json_accept(j, ','));
    return json_expect(j, ']');
}

/* ================================================================ header */

/* What the header says about one tensor, before its data is copied. */
typedef struct {
    int ndim, shape[NN_MAX_DIMS];
    uint64_t begin, end;   /* [begin, end): its bytes in the data section */
    int index;             /* its place in f->tensors (header order) */
} entry;

typedef struct {
    json j;
    nn_st_file *f;
    entry *entries;        /* [f->n_tensors] */
    int cap_tensors, cap_meta;
} parser;

static int parse_dtype(json *j, const char *name)
{
    char dtype[16];
    if (json_string(j, dtype, sizeof dtype, "dtype") != NN_OK)
        return NN_ERROR;
    if (strcmp(dtype, "F32") != 0)
        return nn_fail("tensor '%s' has dtype %s; only F32 is supported", name, dtype);
    return NN_OK;
}

static int parse_shape(json *j, const char *name, entry *e)
{
    uint64_t dims[NN_MAX_DIMS];
    if (json_uint_array(j, dims, NN_MAX_DIMS, &e->ndim) != NN_OK)
        return NN_ERROR;
    if (e->ndim > NN_MAX_DIMS)
        return nn_fail("tensor '%s' has %d dimensions; nnlab tensors have at most %d",
                       name, e->ndim, NN_MAX_DIMS);
    if (e->ndim == 0)
        return nn_fail("tensor '%s' is a scalar (shape []); nnlab tensors have 1 to %d dimensions",
                       name, NN_MAX_DIMS);
    for (int i = 0; i < e->ndim; i++) {
        if (dims[i] < 1 || dims[i] > INT_MAX)
            return nn_fail("tensor '%s': dimension %d is %" PRIu64 ", outside 1..%d",
                           name, i, dims[i], INT_MAX);
        e->shape[i] = (int)dims[i];
    }
    return NN_OK;
}

static int parse_offsets(json *j, const char *name, entry *e)
{
    uint64_t v[2];
    int n;
    if (json_uint_array(j, v, 2, &n) != NN_OK)
        return NN_ERROR;
    if (n != 2)
        return nn_fail("tensor '%s': data_offsets has %d values, expected [begin, end]", name, n);
    if (v[0] > v[1])
        return nn_fail("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] are out of order",
                       name, v[0], v[1]);
    e->begin = v[0];
    e->end = v[1];
    return NN_OK;
}

/* The byte count the shape implies must be exactly end - begin. */
static int check_byte_count(const char *name, const entry *e)
{
    uint64_t count = 1, bytes = e->end - e->begin;
    for (int i = 0; i < e->ndim; i++) {
        if (count > UINT64_MAX / sizeof(float) / (uint64_t)e->shape[i])
            return nn_fail("tensor '%s': shape is too large for any file", name);
        count *= (uint64_t)e->shape[i];
    }
    if (count * sizeof(float) != bytes)
        return nn_fail("tensor '%s': its shape needs %" PRIu64 " bytes but data_offsets "
                       "[%" PRIu64 ", %" PRIu64 ") hold %" PRIu64,
                       name, count * sizeof(float), e->begin, e->end, bytes);
    return NN_OK;
}

/* {"dtype": ..., "shape": ..., "data_offsets": ...}: each key exactly once,
 * in any order, and nothing else. */
static int parse_tensor_info(json *j, const char *name, entry *e)
{
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    if (json_expect(j, '{') != NN_OK)
        return NN_ERROR;
    if (!json_accept(j, '}')) {
        do {
            char key[NN_NAME_MAX];
            int rc;
            if (json_string(j, key, sizeof key, "key") != NN_OK || json_expect(j, ':') != NN_OK)
                return NN_ERROR;
            if (strcmp(key, "dtype") == 0 && !have_dtype++)
                rc = parse_dtype(j, name);
            else if (strcmp(key, "shape") == 0 && !have_shape++)
                rc = parse_shape(j, name, e);
            else if (strcmp(key, "data_offsets") == 0 && !have_offsets++)
                rc = parse_offsets(j, name, e);
            else
                rc = nn_fail("tensor '%s': unexpected or repeated key '%s'", name, key);
            if (rc != NN_OK)
                return NN_ERROR;
        } while (json_accept(j, ','));
        if (json_expect(j, '}') != NN_OK)
            return NN_ERROR;
    }
    if (!have_dtype || !have_shape || !have_offsets)
        return nn_fail("tensor '%s' is missing its \"%s\"", name,
                       !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return check_byte_count(name, e);
}

/* Parse one tensor's description and append it. */
static int parse_tensor(parser *ps, const char *name)
{
    nn_st_file *f = ps->f;
    entry e = {0};
    if (parse_tensor_info(&ps->j, name, &e) != NN_OK)
        return NN_ERROR;
    if (f->n_tensors == ps->cap_tensors) {
        int cap = ps->cap_tensors ? 2 * ps->cap_tensors : 8;
        void *t = resize(f->tensors, f->n_tensors, cap, sizeof *f->tensors);
        if (!t)
            return NN_ERROR;
        f->tensors = t;
        void *en = resize(ps->entries, f->n_tensors, cap, sizeof *ps->entries);
        if (!en)
            return NN_ERROR;
        ps->entries = en;
        ps->cap_tensors = cap;
    }
    e.index = f->n_tensors;
    ps->entries[f->n_tensors] = e;
    strcpy(f->tensors[f->n_tensors].name, name);   /* fits: both NN_NAME_MAX */
    f->n_tensors++;
    return NN_OK;
}

/* "__metadata__": {"key": "value", ...}, string values only. */
static int parse_metadata(parser *ps)
{
    json *j = &ps->j;
    nn_st_file *f = ps->f;
    if (json_expect(j, '{') != NN_OK)
        return NN_ERROR;
    if (json_accept(j, '}'))
        return NN_OK;
    do {
        if (f->n_meta == ps->cap_meta) {
            int cap = ps->cap_meta ? 2 * ps->cap_meta : 8;
            void *m = resize(f->meta, f->n_meta, cap, sizeof *f->meta);
            if (!m)
                return NN_ERROR;
            f->meta = m;
            ps->cap_meta = cap;
        }
        /* Counted at once, so that nn_st_free() releases a half-read value. */
        nn_st_meta *m = &f->meta[f->n_meta++];
        if (json_string(j, m->key, sizeof m->key, "metadata key") != NN_OK ||
            json_expect(j, ':') != NN_OK)
            return NN_ERROR;
        json_skip_space(j);
        if (j->p == j->end || *j->p != '"')
            return nn_fail("metadata value of '%s' is not a string", m->key);
        if (json_string_alloc(j, &m->value, "metadata value") != NN_OK)
            return NN_ERROR;
    } while (json_accept(j, ','));
    return json_expect(j, '}');
}

/* The whole header: one object, then nothing but padding. */
static int parse_header(parser *ps)
{
    json *j = &ps->j;
    int have_meta = 0;
    if (json_expect(j, '{') != NN_OK)
        return NN_ERROR;
    if (!json_accept(j, '}')) {
        do {
            char name[NN_NAME_MAX];
            if (json_string(j, name, sizeof name, "tensor name") != NN_OK ||
                json_expect(j, ':') != NN_OK)
                return NN_ERROR;
            int rc;
            if (strcmp(name, "__metadata__") != 0)
                rc = parse_tensor(ps, name);
            else if (have_meta++)
                rc = nn_fail("header has two __metadata__ objects");
            else
                rc = parse_metadata(ps);
            if (rc != NN_OK)
                return NN_ERROR;
        } while (json_accept(j, ','));
        if (json_expect(j, '}') != NN_OK)
            return NN_ERROR;
    }
    json_skip_space(j);
    if (j->p != j->end)
        return nn_fail("header JSON, byte %zu: unexpected text after the closing '}'", json_pos(j));
    nn_st_file *f = ps->f;
    if (check_unique(f->tensors, sizeof *f->tensors, f->n_tensors, "tensor name") != NN_OK)
        return NN_ERROR;
    return check_unique(f->meta, sizeof *f->meta, f->n_meta, "metadata key");
}

/* ================================================================ layout */

static int compare_begin(const void *a, const void *b)
{
    uint64_t x = ((const entry *)a)->begin, y = ((const entry *)b)->begin;
    return (x > y) - (x < y);
}

/* Sorted by offset, the tensors must tile the data section exactly: the
 * first starts at 0, each starts where the previous one ended, the last
 * ends at the end of the file. Any other layout is an overlap (two names
 * for the same bytes), a gap or trailing bytes (data nobody describes):
 * the reference implementation refuses them too. */
static int check_layout(parser *ps, uint64_t data_len)
{
    const nn_st_tensor *t = ps->f->tensors;
    uint64_t at = 0;
    if (ps->f->n_tensors > 1)   /* qsort(NULL, 0, ...) is undefined */
        qsort(ps->entries, (size_t)ps->f->n_tensors, sizeof *ps->entries, compare_begin);
    for (int i = 0; i < ps->f->n_tensors; i++) {
        const entry *e = &ps->entries[i];
        const char *name = t[e->index].name;
        if (e->end > data_len)
            return nn_fail("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 ") lie outside "
                           "the data section (%" PRIu64 " bytes)", name, e->begin, e->end, data_len);
        if (e->begin < at)
            return nn_fail("tensor '%s' overlaps another: it begins at byte %" PRIu64
                           ", before %" PRIu64, name, e->begin, at);
        if (e->begin > at)
            return nn_fail("gap of unused bytes [%" PRIu64 ", %" PRIu64 ") before tensor '%s'",
                           at, e->begin, name);
        at = e->end;
    }
    if (at != data_len)
        return nn_fail("%" PRIu64 " bytes of trailing data after the last tensor", data_len - at);
    return NN_OK;
}

static int load_data(parser *ps, const uint8_t *data)
{
    for (int i = 0; i < ps->f->n_tensors; i++) {
        const entry *e = &ps->entries[i];
        nn_tensor *t = &ps->f->tensors[e->index].t;
        if (nn_tensor_alloc(t, e->ndim, e->shape) != NN_OK)
            return NN_ERROR;
        floats_from_le(t->data, data + e->begin, t->size);
    }
    return NN_OK;
}

/* ================================================================ reading */

int nn_st_parse(nn_st_file *f, const uint8_t *buf, size_t len)
{
    memset(f, 0, sizeof *f);
    if (len < 8)
        return nn_fail("too short for a safetensors file (%zu bytes; the header length alone is 8)", len);
    uint64_t n = load_u64le(buf);
    if (n > HEADER_MAX)
        return nn_fail("header length %" PRIu64 " exceeds the 100 MB limit", n);
    if (n > len - 8)
        return nn_fail("header length %" PRIu64 " runs beyond the end of the file (%zu bytes follow it)",
                       n, len - 8);
    const char *text = (const char *)buf + 8;
    parser ps = {.j = {text, text + n, text}, .f = f};
    int rc = parse_header(&ps);
    if (rc == NN_OK)
        rc = check_layout(&ps, len - 8 - n);
    if (rc == NN_OK)
        rc = load_data(&ps, buf + 8 + n);
    nn_free(ps.entries);
    if (rc != NN_OK)
        nn_st_free(f);
    return rc;
}

/* The whole file in one allocated buffer. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nn_fail("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = NN_OK;
    *buf = NULL;
    if (fstat(fileno(fp), &st) != 0)
        rc = nn_fail("cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = nn_fail("%s is not a regular file", path);
    else if ((uintmax_t)st.st_size > SIZE_MAX)
        rc = nn_fail("%s is too large for this machine", path);
    else if (!(*buf = nn_alloc((size_t)st.st_size)))
        rc = NN_ERROR;
    else if (fread(*buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size)
        rc = nn_fail("cannot read %s: %s", path, ferror(fp) ? strerror(errno) : "file shrank");
    fclose(fp);
    if (rc != NN_OK) {
        nn_free(*buf);
        return rc;
    }
    *len = (size_t)st.st_size;
    return NN_OK;
}

int nn_st_read(nn_st_file *f, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(f, 0, sizeof *f);
    if (read_file(path, &buf, &len) != NN_OK)
        return NN_ERROR;
    int rc = nn_st_parse(f, buf, len);
    nn_free(buf);
    if (rc != NN_OK) {
        /* Copy first: the message buffer is also nn_fail()'s destination. */
        char why[400];
        snprintf(why, sizeof why, "%s", nn_last_error());
        return nn_fail("%s: %s", path, why);
    }
    return NN_OK;
}

/* ================================================================ writing */

/* A growing text buffer. A failed allocation sets `failed` and later
 * appends do nothing, so the header is built first and checked once. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->len + n + 1);
        char *p = nn_alloc(cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        if (b->len)
            memcpy(p, b->s, b->len);
        nn_free(b->s);
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_uint(strbuf *b, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    sb_str(b, digits);
}

/* s as a JSON string: quote, backslash and control characters escaped
 * (the short forms where JSON has one, as serde_json writes them); other
 * bytes (UTF-8 text) copied as they are. */
static void sb_json_string(strbuf *b, const char *s)
{
    static const char plain[] = "\"\\\b\f\n\r\t", escaped[] = "\"\\bfnrt";
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        const char *hit = strchr(plain, *s);
        char esc[8];
        if (hit) {
            esc[0] = '\\';
            esc[1] = escaped[hit - plain];
            sb_put(b, esc, 2);
        } else if ((unsigned char)*s < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)*s);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* Is name a NUL-terminated string within its NN_NAME_MAX array? */
static int name_ok(const char *name)
{
    return name[0] != '\0' && memchr(name, '\0', NN_NAME_MAX) != NULL;
}

/* Refuse what the reader would refuse, before a byte is written. */
static int check_writable(const nn_st_file *f)
{
    if (f->n_tensors < 0 || f->n_meta < 0 || (f->n_tensors && !f->tensors) || (f->n_meta && !f->meta))
        return nn_fail("safetensors write: bad tensor or metadata count");
    for (int i = 0; i < f->n_tensors; i++) {
        const nn_st_tensor *t = &f->tensors[i];
        if (!name_ok(t->name) || strcmp(t->name, "__metadata__") == 0)
            return nn_fail("safetensors write: tensor %d has an empty, reserved or unterminated name", i);
        if (t->t.ndim < 1 || t->t.ndim > NN_MAX_DIMS || !t->t.data)
            return nn_fail("safetensors write: tensor '%s' has no data or %d dimensions",
                           t->name, t->t.ndim);
        size_t size = 1;
        for (int d = 0; d < t->t.ndim; d++)
            size *= t->t.shape[d] > 0 ? (size_t)t->t.shape[d] : 0;
        if (size == 0 || size != t->t.size)
            return nn_fail("safetensors write: tensor '%s' has a size that does not match its shape",
                           t->name);
    }
    for (int i = 0; i < f->n_meta; i++)
        if (!name_ok(f->meta[i].key) || !f->meta[i].value)
            return nn_fail("safetensors write: metadata entry %d has a bad key or no value", i);
    if (check_unique(f->tensors, sizeof *f->tensors, f->n_tensors, "tensor name") != NN_OK)
        return NN_ERROR;
    return check_unique(f->meta, sizeof *f->meta, f->n_meta, "metadata key");
}

/* The header JSON, tensors in the given order with contiguous offsets,
 * padded with spaces to a multiple of 8 bytes as the reference writer does
 * (the data then starts 8-byte aligned when the file is memory-mapped). */
static int build_header(strbuf *b, const nn_st_file *f)
{
    sb_str(b, "{");
    if (f->n_meta > 0) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < f->n_meta; i++) {
            sb_str(b, i ? "," : "");
            sb_json_string(b, f->meta[i].key);
            sb_str(b, ":");
            sb_json_string(b, f->meta[i].value);
        }
        sb_str(b, "}");
    }
    uint64_t offset = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const nn_tensor *t = &f->tensors[i].t;
        sb_str(b, i || f->n_meta ? "," : "");
        sb_json_string(b, f->tensors[i].name);
        sb_str(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            sb_str(b, d ? "," : "");
            sb_uint(b, (uint64_t)t->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_uint(b, offset);
        sb_str(b, ",");
        offset += (uint64_t)t->size * sizeof(float);
        sb_uint(b, offset);
        sb_str(b, "]}");
    }
    sb_str(b, "}");
    while (!b->failed && b->len % 8 != 0)
        sb_str(b, " ");
    if (b->failed)
        return NN_ERROR;
    if (b->len > HEADER_MAX)
        return nn_fail("safetensors write: header of %zu bytes exceeds the 100 MB limit", b->len);
    return NN_OK;
}

/* Length, header, data; returns 1 if every fwrite succeeded. */
static int write_body(FILE *fp, const strbuf *h, const nn_st_file *f)
{
    uint8_t n8[8];
    store_u64le(n8, h->len);
    int ok = fwrite(n8, 1, 8, fp) == 8 && fwrite(h->s, 1, h->len, fp) == h->len;
    for (int i = 0; ok && i < f->n_tensors; i++)
        ok = write_floats_le(fp, f->tensors[i].t.data, f->tensors[i].t.size);
    return ok;
}

/* Write to tmp, then rename over path: rename() is atomic, so readers see
 * either the old file or the complete new one, never a half-written one. */
static int write_atomically(const char *path, const char *tmp, const strbuf *h, const nn_st_file *f)
{
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return nn_fail("cannot create %s: %s", tmp, strerror(errno));
    int ok = write_body(fp, h, f) && fflush(fp) == 0;
    int err = errno;
    /* fclose() can be the call that reports a full disk: check it too. */
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        err = errno;
        remove(tmp);
        return nn_fail("cannot rename %s to %s: %s", tmp, path, strerror(err));
    }
    if (!ok) {
        remove(tmp);
        return nn_fail("cannot write %s: %s", tmp, strerror(err));
    }
    return NN_OK;
}

int nn_st_write(const char *path, const nn_st_file *f)
{
    if (check_writable(f) != NN_OK)
        return NN_ERROR;
    strbuf header = {0};
    char *tmp = nn_alloc(strlen(path) + sizeof ".tmp");
    int rc = tmp ? build_header(&header, f) : NN_ERROR;
    if (rc == NN_OK) {
        strcat(strcpy(tmp, path), ".tmp");
        rc = write_atomically(path, tmp, &header, f);
    }
    nn_free(tmp);
    nn_free(header.s);
    return rc;
}

/* ================================================================ access */

const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *nn_st_meta_get(const nn_st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

void nn_st_free(nn_st_file *f)
{
    for (int i = 0; i < f->n_tensors; i++)
        nn_tensor_free(&f->tensors[i].t);
    for (int i = 0; i < f->n_meta; i++)
        nn_free(f->meta[i].value);
    nn_free(f->tensors);
    nn_free(f->meta);
    memset(f, 0, sizeof *f);
}
