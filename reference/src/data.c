/*
 * Data sets: IDX files (MNIST, Fashion-MNIST), CSV tables, Iris, synthetic
 * 2-D sets, the validation split and minibatch gathering.
 *
 * A reader lets a file's header decide how many bytes it touches, so every
 * header field is checked before it is trusted (DESIGN section 5): a
 * truncated download, a wrong file or a hostile one fails with a message
 * that names the file and the check, never with a crash.
 *
 * Arrays come from malloc and are released by nn_dataset_free(),
 * nn_idx_free() and nn_table_free().
 */
#include "nnlab/data.h"
#include "nnlab/error.h"
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#ifndef NNLAB_ROOT
#define NNLAB_ROOT "."
#endif

/* Caps on whole-file reads: a corrupt gzip stream must not fill memory.
 * The largest IDX file we expect, Fashion-MNIST's training images, is 47 MB. */
#define IDX_MAX_BYTES ((size_t)1 << 30)
#define CSV_MAX_BYTES ((size_t)64 << 20)
/* Largest IDX extent: 2^24 is far above any real image set's count. */
#define IDX_MAX_DIM (1u << 24)
/* Largest synthetic set, and most classes a label column may give. */
#define SYN_MAX_POINTS (1 << 24)
#define TABLE_MAX_CLASSES 65536
/* Room for a file name built from a folder and a base name. */
#define PATH_BYTES 1024

/* ------------------------------------------------------------ files */

/* Re-record the last message with the file name in front: "PATH: message". */
static int fail_in(const char *path)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s", nn_last_error());
    return nn_fail("%s: %s", path, msg);
}

/* Record why zlib stopped reading f, then close it. zlib's text reads
 * "PATH: reason" and lives inside f, so it is copied before gzclose(). */
static int gz_fail(gzFile f, const char *path)
{
    int err = Z_OK;
    const char *why = gzerror(f, &err);
    size_t skip = strncmp(why, path, strlen(path)) == 0 ? strlen(path) : 0;
    while (why[skip] == ':' || why[skip] == ' ')
        skip++;
    nn_fail("%s: %s (%s)", path, err == Z_BUF_ERROR ? "truncated gzip data" : "read error",
            why + skip);
    gzclose(f);
    return NN_ERROR;
}

/*
 * Read a whole file into a fresh buffer, at most max_bytes. gzread()
 * inflates gzip files and passes any other file through unchanged, so one
 * reader serves "x.gz" and "x" alike. A gzip stream does not state its
 * inflated size up front, so the buffer grows by doubling: O(n) copying
 * in total.
 */
static int read_file(uint8_t **out, size_t *len, const char *path, size_t max_bytes)
{
    *out = NULL;
    *len = 0;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return nn_fail("%s: cannot open (%s)", path, errno ? strerror(errno) : "out of memory");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int got, err;
    do {
        if (n == cap) {
            /* Room for one byte past the cap: filling it proves the file too large. */
            size_t grown = cap ? 2 * cap : (size_t)1 << 16;
            grown = grown < max_bytes + 1 ? grown : max_bytes + 1;
            uint8_t *p = cap > max_bytes ? NULL : realloc(buf, grown);
            if (!p) {
                if (cap > max_bytes)
                    nn_fail("%s: larger than %zu MB", path, max_bytes >> 20);
                else
                    nn_fail("%s: out of memory reading %zu bytes", path, grown);
                gzclose(f);
                free(buf);
                return NN_ERROR;
            }
            buf = p;
            cap = grown;
        }
        got = gzread(f, buf + n, (unsigned)(cap - n < INT_MAX ? cap - n : INT_MAX));
        n += got > 0 ? (size_t)got : 0;
    } while (got > 0);
    /* got == 0 at the end of the file; gzerror() tells an intact end from a
     * gzip stream cut short (Z_BUF_ERROR), and got < 0 from a corrupt one. */
    gzerror(f, &err);
    if (got < 0 || err != Z_OK) {
        free(buf);
        return gz_fail(f, path);
    }
    if (gzclose(f) != Z_OK) {
        free(buf);
        return nn_fail("%s: truncated or corrupt gzip data", path);
    }
    *out = buf;
    *len = n;
    return NN_OK;
}

/* ------------------------------------------------------------ IDX */

/* IDX stores every integer big-endian (most significant byte first). */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Check an IDX header and fill in out's shape (not its data); *offset is
 * where the payload starts. The layout (LeCun's MNIST page):
 *   bytes 0-1  zero
 *   byte  2    element type, 0x08 = unsigned byte
 *   byte  3    number of dimensions d
 *   then d big-endian uint32 extents, then the elements, row-major.
 */
static int idx_header(nn_idx *out, size_t *offset, const uint8_t *buf, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len < 4)
        return nn_fail("IDX: truncated header (%zu bytes, need at least 4)", len);
    if (buf[0] != 0 || buf[1] != 0)
        return nn_fail("IDX: bad magic %02x %02x (expected 00 00): not an IDX file", buf[0],
                       buf[1]);
    if (buf[2] != 0x08)
        return nn_fail("IDX: element type 0x%02x is not unsigned byte (0x08)", buf[2]);
    int ndim = buf[3];
    if (ndim < 1 || ndim > 3)
        return nn_fail("IDX: %d dimensions, expected 1 to 3", ndim);
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header)
        return nn_fail("IDX: truncated header (%zu bytes, need %zu for %d dimensions)", len,
                       header, ndim);
    /* size = d0·d1·d2 must equal the payload. Compare by division before each
     * multiplication: three extents near 2^24 would overflow even 64 bits. */
    size_t payload = len - header, size = 1;
    int fits = 1;
    double need = 1.0;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * i);
        if (d < 1 || d > IDX_MAX_DIM)
            return nn_fail("IDX: dimension %d is %u, outside 1..%u", i, d, IDX_MAX_DIM);
        out->dims[i] = (int)d;
        need *= d;
        if (fits && size <= payload / d)
            size *= d;
        else
            fits = 0;
    }
    if (!fits || size != payload) {
        memset(out, 0, sizeof *out);
        return nn_fail("IDX: payload size %zu bytes does not match the dimensions' product %.0f (%s)",
                       payload, need, need > (double)payload ? "truncated file" : "trailing bytes");
    }
    out->ndim = ndim;
    out->size = size;
    *offset = header;
    return NN_OK;
}

int nn_idx_parse(nn_idx *out, const uint8_t *buf, size_t len)
{
    size_t offset;
    if (idx_header(out, &offset, buf, len))
        return NN_ERROR;
    out->data = malloc(out->size ? out->size : 1);
    if (!out->data) {
        size_t size = out->size;
        memset(out, 0, sizeof *out);
        return nn_fail("IDX: out of memory for %zu bytes", size);
    }
    memcpy(out->data, buf + offset, out->size);
    return NN_OK;
}

int nn_idx_read(nn_idx *out, const char *path)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len, offset;
    if (read_file(&buf, &len, path, IDX_MAX_BYTES))
        return NN_ERROR;
    if (idx_header(out, &offset, buf, len)) {
        free(buf);
        return fail_in(path);
    }
    /* Slide the payload to the front of the buffer we already own rather
     * than copy it: no second 47 MB allocation for Fashion-MNIST. */
    memmove(buf, buf + offset, out->size);
    out->data = buf;
    return NN_OK;
}

void nn_idx_free(nn_idx *idx)
{
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* ------------------------------------------------------------ data sets */

void nn_dataset_free(nn_dataset *ds)
{
    free(ds->u8);
    free(ds->f32);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* Give ds like's shape and class count, and room for n rows in the same
 * feature type (bytes or floats). */
static int alloc_like(nn_dataset *ds, const nn_dataset *like, int n)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->dim = like->dim;
    ds->classes = like->classes;
    ds->channels = like->channels;
    ds->height = like->height;
    ds->width = like->width;
    size_t cells = (size_t)n * (size_t)like->dim;
    if (like->u8)
        ds->u8 = malloc(cells ? cells : 1);
    else
        ds->f32 = malloc(cells ? cells * sizeof(float) : 1);
    ds->labels = malloc(n ? (size_t)n * sizeof(int) : 1);
    if ((!ds->u8 && !ds->f32) || !ds->labels) {
        nn_dataset_free(ds);
        return nn_fail("out of memory for %d rows of %d features", n, like->dim);
    }
    return NN_OK;
}

/* dst's rows 0..count are src's rows idx[0..count). */
static void copy_rows(nn_dataset *dst, const nn_dataset *src, const int *idx, int count)
{
    size_t dim = (size_t)src->dim;
    for (int r = 0; r < count; r++) {
        size_t from = (size_t)idx[r] * dim, to = (size_t)r * dim;
        if (src->u8)
            memcpy(dst->u8 + to, src->u8 + from, dim);
        else
            memcpy(dst->f32 + to, src->f32 + from, dim * sizeof(float));
        dst->labels[r] = src->labels[idx[r]];
    }
}

/* Name a set "<base>/<part>", where base is name up to its first '/'
 * ("fashion-mnist/train" gives "fashion-mnist/val"). */
static void set_name(nn_dataset *ds, const char *name, const char *part)
{
    int base = (int)strcspn(name, "/");
    if (base > 0)
        snprintf(ds->name, sizeof ds->name, "%.*s/%s", base, name, part);
    else
        snprintf(ds->name, sizeof ds->name, "%s", part);
}

/* Ask the memory system for a row we will read soon. Shuffled rows lie
 * anywhere in the 47 MB of pixels, so each one would otherwise stall on a
 * cache miss; fetching the row after next while converting this one hides
 * that wait. A hint only: without GCC/clang builtins it does nothing. */
static void prefetch_row(const uint8_t *row, size_t bytes)
{
#if defined(__GNUC__)
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(row + off);
#else
    (void)row;
    (void)bytes;
#endif
}

void nn_dataset_gather(float *x, int *y, const nn_dataset *ds, const int *idx, int count)
{
    /* Called for every minibatch, so kept tight: x = byte · (1/255), a
     * multiplication by a constant (no division) in a plain inner sweep
     * that the compiler vectorises. */
    const float scale = 1.0f / 255.0f;
    const size_t dim = (size_t)ds->dim;
    for (int r = 0; r < count; r++)
        y[r] = ds->labels[idx[r]];
    if (!ds->u8) {
        for (int r = 0; r < count; r++)
            memcpy(x + (size_t)r * dim, ds->f32 + (size_t)idx[r] * dim, dim * sizeof(float));
        return;
    }
    for (int r = 0; r < count && r < 2; r++)
        prefetch_row(ds->u8 + (size_t)idx[r] * dim, dim);
    for (int r = 0; r < count; r++) {
        if (r + 2 < count)
            prefetch_row(ds->u8 + (size_t)idx[r + 2] * dim, dim);
        const uint8_t *src = ds->u8 + (size_t)idx[r] * dim;
        float *dst = x + (size_t)r * dim;
        for (size_t j = 0; j < dim; j++)
            dst[j] = (float)src[j] * scale;
    }
}

int nn_dataset_split(nn_dataset *train, nn_dataset *val, float fraction, nn_rng *rng)
{
    memset(val, 0, sizeof *val);
    if (!(fraction > 0.0f && fraction < 1.0f)) /* also rejects NaN */
        return nn_fail("split: fraction %g outside (0, 1)", (double)fraction);
    if (!train->labels || (!train->u8 && !train->f32) || train->dim < 1)
        return nn_fail("split: data set \"%s\" holds no rows", train->name);
    int n = train->n;
    int n_val = (int)floor((double)fraction * n + 0.5);
    if (n_val < 1 || n_val >= n)
        return nn_fail("split: moving %g of %d rows leaves an empty set", (double)fraction, n);

    /* A seeded permutation: its first n_val rows go to validation, the
     * rest, in shuffled order, stay for training. */
    int *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return nn_fail("split: out of memory");
    for (int i = 0; i < n; i++)
        order[i] = i;
    nn_rng_shuffle(rng, order, n);

    nn_dataset rest;
    if (alloc_like(val, train, n_val) || alloc_like(&rest, train, n - n_val)) {
        nn_dataset_free(val);
        free(order);
        return NN_ERROR;
    }
    copy_rows(val, train, order, n_val);
    copy_rows(&rest, train, order + n_val, n - n_val);
    set_name(val, train->name, "val");
    memcpy(rest.name, train->name, sizeof rest.name);
    nn_dataset_free(train);
    *train = rest;
    free(order);
    return NN_OK;
}

/* ------------------------------------------------------------ MNIST-style folders */

/* The IDX file dir/base, plain or with ".gz" (plain first: a user who has
 * unpacked the files keeps them unpacked). */
static int find_idx_file(char *path, size_t size, const char *dir, const char *base)
{
    static const char *const suffix[] = { "", ".gz" };
    for (int i = 0; i < 2; i++) {
        int k = snprintf(path, size, "%s/%s%s", dir, base, suffix[i]);
        if (k > 0 && (size_t)k < size && access(path, R_OK) == 0)
            return NN_OK;
    }
    return nn_fail("%s/%s(.gz) not found", dir, base);
}

/* Read dir/<prefix>-images-idx3-ubyte and dir/<prefix>-labels-idx1-ubyte
 * into ds, checking that they describe the same examples. */
static int load_idx_split(nn_dataset *ds, const char *dir, const char *prefix)
{
    char base[64], images_path[PATH_BYTES], labels_path[PATH_BYTES];
    nn_idx images = { 0 }, labels = { 0 };
    memset(ds, 0, sizeof *ds);

    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    if (find_idx_file(images_path, sizeof images_path, dir, base) ||
        nn_idx_read(&images, images_path))
        return NN_ERROR;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    if (find_idx_file(labels_path, sizeof labels_path, dir, base) ||
        nn_idx_read(&labels, labels_path))
        goto fail;

    if (images.ndim != 3) {
        nn_fail("%s: %d dimensions, expected 3 (count, height, width)", images_path, images.ndim);
        goto fail;
    }
    if (labels.ndim != 1) {
        nn_fail("%s: %d dimensions, expected 1 (count)", labels_path, labels.ndim);
        goto fail;
    }
    if (images.dims[0] != labels.dims[0]) {
        nn_fail("%s: count mismatch: %d images but %d labels in %s", images_path, images.dims[0],
                labels.dims[0], labels_path);
        goto fail;
    }
    for (int i = 0; i < labels.dims[0]; i++)
        if (labels.data[i] >= 10) {
            nn_fail("%s: label %d of example %d is not a class 0..9", labels_path, labels.data[i], i);
            goto fail;
        }

    ds->labels = malloc((size_t)labels.dims[0] * sizeof(int));
    if (!ds->labels) {
        nn_fail("%s: out of memory", labels_path);
        goto fail;
    }
    for (int i = 0; i < labels.dims[0]; i++)
        ds->labels[i] = labels.data[i];
    ds->n = images.dims[0];
    ds->channels = 1;
    ds->height = images.dims[1];
    ds->width = images.dims[2];
    ds->dim = ds->height * ds->width; /* <= size, which fit in memory */
    ds->classes = 10;
    ds->u8 = images.data; /* the set takes the bytes over */
    images.data = NULL;
    nn_idx_free(&labels);
    return NN_OK;
fail:
    nn_idx_free(&images);
    nn_idx_free(&labels);
    nn_dataset_free(ds);
    return NN_ERROR;
}

int nn_load_idx_dir(nn_dataset *train, nn_dataset *test, const char *dir, const char *name)
{
    memset(test, 0, sizeof *test);
    if (load_idx_split(train, dir, "train"))
        return NN_ERROR;
    if (load_idx_split(test, dir, "t10k")) {
        nn_dataset_free(train);
        return NN_ERROR;
    }
    if (train->height != test->height || train->width != test->width) {
        nn_fail("%s: training images are %dx%d but test images %dx%d", dir, train->height,
                train->width, test->height, test->width);
        nn_dataset_free(train);
        nn_dataset_free(test);
        return NN_ERROR;
    }
    set_name(train, name, "train");
    set_name(test, name, "test");
    return NN_OK;
}

/* ------------------------------------------------------------ finding data */

/*
 * Fill paths[] with the places a data file may live, in search order:
 * $NNLAB_DATA/<env_rel>, ./datasets/<tree_rel>, NNLAB_ROOT/datasets/<tree_rel>.
 * The compiled-in source tree comes last so that a copy next to the user
 * wins. Returns how many were filled (a name too long to fit is left out).
 */
static int search_paths(char paths[][PATH_BYTES], const char *env_rel, const char *tree_rel)
{
    int n = 0, k;
    const char *env = getenv("NNLAB_DATA");
    if (env && *env) {
        k = snprintf(paths[n], PATH_BYTES, "%s/%s", env, env_rel);
        n += k > 0 && k < PATH_BYTES;
    }
    k = snprintf(paths[n], PATH_BYTES, "datasets/%s", tree_rel);
    n += k > 0 && k < PATH_BYTES;
    k = snprintf(paths[n], PATH_BYTES, "%s/datasets/%s", NNLAB_ROOT, tree_rel);
    n += k > 0 && k < PATH_BYTES;
    return n;
}

/* Does dir hold the training images of an IDX data set? */
static int has_idx_set(const char *dir)
{
    char path[PATH_BYTES];
    int ok = find_idx_file(path, sizeof path, dir, "train-images-idx3-ubyte") == NN_OK;
    nn_clear_error();
    return ok;
}

int nn_find_dataset(char *dir, size_t size, const char *name)
{
    if (!name || !*name || strchr(name, '/') || strcmp(name, "..") == 0)
        return nn_fail("data set name \"%s\" is not a plain name", name ? name : "(null)");
    char paths[4][PATH_BYTES], sub[PATH_BYTES];
    snprintf(sub, sizeof sub, "downloads/%s", name);
    int n = search_paths(paths, name, sub);
    if (strcmp(name, "fashion-mnist") == 0)
        snprintf(paths[n++], PATH_BYTES, "/usr/share/datasets/fashion-mnist"); /* Debian */

    char looked[300] = "";
    for (int i = 0; i < n; i++) {
        if (has_idx_set(paths[i])) {
            if (strlen(paths[i]) >= size)
                return nn_fail("%s: folder name does not fit in %zu bytes", paths[i], size);
            memcpy(dir, paths[i], strlen(paths[i]) + 1);
            return NN_OK;
        }
        size_t used = strlen(looked);
        snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", paths[i]);
    }
    return nn_fail("%s not found (looked in %s); run `make datasets`%s", name, looked,
                   strcmp(name, "fashion-mnist") == 0 ? " or `apt install dataset-fashion-mnist`"
                                                      : "");
}

/* ------------------------------------------------------------ synthetic sets */

static const char *const synthetic_names[] = { "xor", "spirals", "moons", "circles", "blobs" };

/* A noise-free point of class c (of k) of the given kind, in about [-1.5, 1.5]². */
static void synthetic_point(float *x, float *y, nn_synthetic kind, int c, int k, nn_rng *rng)
{
    const double pi = 3.14159265358979323846;
    double t = nn_rng_uniform(rng), a, r;
    switch (kind) {
    case NN_SYN_XOR: {
        /* Centres (±1, ±1); class 0 in quadrants I and III (equal signs),
         * class 1 in II and IV: no single line separates them. */
        double s = t < 0.5 ? 1.0 : -1.0;
        *x = (float)s;
        *y = (float)(c == 0 ? s : -s);
        return;
    }
    case NN_SYN_SPIRALS:
        /* Arm c: r = t, θ = 2πc/k + 3πt (one and a half turns), so the
         * arms are the same curve rotated by 2π/k. */
        a = 2.0 * pi * c / k + 3.0 * pi * t;
        *x = (float)(t * cos(a));
        *y = (float)(t * sin(a));
        return;
    case NN_SYN_MOONS:
        /* Upper half circle (cos θ, sin θ) and the lower one shifted to
         * (1 − cos θ, ½ − sin θ), θ ∈ [0, π]; then centred on the origin. */
        a = pi * t;
        *x = (float)((c == 0 ? cos(a) : 1.0 - cos(a)) - 0.5);
        *y = (float)((c == 0 ? sin(a) : 0.5 - sin(a)) - 0.25);
        return;
    case NN_SYN_CIRCLES:
        /* Class 0 on the ring r = 1, class 1 on the inner circle r = ½. */
        a = 2.0 * pi * t;
        r = c == 0 ? 1.0 : 0.5;
        *x = (float)(r * cos(a));
        *y = (float)(r * sin(a));
        return;
    case NN_SYN_BLOBS:
        /* Centres spread evenly on a circle of radius 1.5: the blobs'
         * spread is the noise alone. */
        a = 2.0 * pi * c / k;
        *x = (float)(1.5 * cos(a));
        *y = (float)(1.5 * sin(a));
        return;
    }
}

int nn_make_synthetic(nn_dataset *ds, nn_synthetic kind, int n, int classes, float noise,
                      nn_rng *rng)
{
    memset(ds, 0, sizeof *ds);
    if ((int)kind < 0 || (int)kind > (int)NN_SYN_BLOBS)
        return nn_fail("synthetic: unknown kind %d", (int)kind);
    if (kind == NN_SYN_XOR || kind == NN_SYN_MOONS || kind == NN_SYN_CIRCLES)
        classes = 2;
    if (classes < 1 || n < classes || n > SYN_MAX_POINTS)
        return nn_fail("synthetic %s: %d points of %d classes (need 1 <= classes <= points <= %d)",
                       synthetic_names[kind], n, classes, SYN_MAX_POINTS);
    if (!(noise >= 0.0f) || !isfinite(noise))
        return nn_fail("synthetic %s: noise %g is not a standard deviation >= 0",
                       synthetic_names[kind], (double)noise);
    ds->f32 = malloc((size_t)n * 2 * sizeof(float));
    ds->labels = malloc((size_t)n * sizeof(int));
    if (!ds->f32 || !ds->labels) {
        nn_dataset_free(ds);
        return nn_fail("synthetic %s: out of memory for %d points", synthetic_names[kind], n);
    }
    ds->n = n;
    ds->dim = 2;
    ds->classes = classes;
    snprintf(ds->name, sizeof ds->name, "%s", synthetic_names[kind]);
    /* Classes take turns (i mod classes): balanced to within one point. */
    for (int i = 0; i < n; i++) {
        int c = i % classes;
        float *p = ds->f32 + 2 * (size_t)i;
        synthetic_point(&p[0], &p[1], kind, c, classes, rng);
        p[0] += noise * nn_rng_normal(rng);
        p[1] += noise * nn_rng_normal(rng);
        ds->labels[i] = c;
    }
    return NN_OK;
}

/* ------------------------------------------------------------ named sets */

/* The synthetic sets nn_load_dataset() knows, with the class count and
 * noise that make each a fair but learnable task. */
static const struct {
    nn_synthetic kind;
    int classes;
    float noise;
} synthetic_sets[] = {
    { NN_SYN_XOR, 2, 0.35f },
    { NN_SYN_SPIRALS, 3, 0.05f },
    { NN_SYN_MOONS, 2, 0.1f },
    { NN_SYN_CIRCLES, 2, 0.08f },
    { NN_SYN_BLOBS, 3, 0.4f },
};

static int load_synthetic(nn_dataset *train, nn_dataset *test, int which, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_synthetic kind = synthetic_sets[which].kind;
    int classes = synthetic_sets[which].classes;
    float noise = synthetic_sets[which].noise;
    /* Two sets drawn one after the other from the same stream: the test
     * points are new draws from the same distribution. */
    if (nn_make_synthetic(train, kind, 1000, classes, noise, &rng) ||
        nn_make_synthetic(test, kind, 500, classes, noise, &rng)) {
        nn_dataset_free(train);
        return NN_ERROR;
    }
    set_name(train, synthetic_names[kind], "train");
    set_name(test, synthetic_names[kind], "test");
    return NN_OK;
}

static int load_iris(nn_dataset *train, nn_dataset *test, uint64_t seed)
{
    char paths[3][PATH_BYTES];
    int n = search_paths(paths, "iris.csv", "iris.csv"), found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (access(paths[i], R_OK) == 0)
            found = i;
    if (found < 0)
        return nn_fail("iris.csv not found (looked in datasets/ and %s/datasets/)", NNLAB_ROOT);

    nn_table t;
    if (nn_csv_read(&t, paths[found]))
        return NN_ERROR;
    int rc = nn_table_to_dataset(train, &t, t.cols - 1); /* species is the last column */
    nn_table_free(&t);
    if (rc)
        return fail_in(paths[found]);
    snprintf(train->name, sizeof train->name, "iris");
    /* Fisher's table is sorted by species: a seeded shuffle, then 30 rows out. */
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    if (nn_dataset_split(train, test, 0.2f, &rng)) {
        nn_dataset_free(train);
        return NN_ERROR;
    }
    set_name(train, "iris", "train");
    set_name(test, "iris", "test");
    return NN_OK;
}

int nn_load_dataset(nn_dataset *train, nn_dataset *test, const char *name, uint64_t seed)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!name)
        return nn_fail("no data set name");
    if (strcmp(name, "fashion-mnist") == 0 || strcmp(name, "mnist") == 0) {
        char dir[PATH_BYTES];
        if (nn_find_dataset(dir, sizeof dir, name))
            return NN_ERROR;
        return nn_load_idx_dir(train, test, dir, name);
    }
    if (strcmp(name, "iris") == 0)
        return load_iris(train, test, seed);
    for (int i = 0; i < (int)(sizeof synthetic_sets / sizeof synthetic_sets[0]); i++)
        if (strcmp(name, synthetic_names[synthetic_sets[i].kind]) == 0)
            return load_synthetic(train, test, i, seed);
    return nn_fail("unknown data set \"%s\" (known: fashion-mnist, mnist, iris, xor, spirals, "
                   "moons, circles, blobs)", name);
}

/* ------------------------------------------------------------ CSV */

/* A piece of the text, [begin, end). */
typedef struct {
    const char *begin, *end;
} span;

/* A cursor over CSV text that yields lines with their 1-based numbers. */
typedef struct {
    const char *p, *end;
    int number;
} csv_reader;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r'; /* '\r': files written on Windows */
}

static span trim(const char *b, const char *e)
{
    while (b < e && is_blank(*b))
        b++;
    while (e > b && is_blank(e[-1]))
        e--;
    return (span){ b, e };
}

/* The next line holding more than blanks, or 0 at the end of the text. */
static int next_line(csv_reader *r, span *line, int *number)
{
    while (r->p < r->end) {
        const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
        const char *e = nl ? nl : r->end;
        *line = trim(r->p, e);
        r->p = nl ? nl + 1 : r->end;
        *number = ++r->number;
        if (line->begin < line->end)
            return 1;
    }
    return 0;
}

static int count_fields(span line)
{
    int n = 1;
    for (const char *p = line.begin; p < line.end; p++)
        n += *p == ',';
    return n;
}

/* Cut the next field off the front of *line (trimmed of blanks). */
static span next_field(span *line)
{
    const char *comma = memchr(line->begin, ',', (size_t)(line->end - line->begin));
    const char *e = comma ? comma : line->end;
    span f = trim(line->begin, e);
    line->begin = comma ? comma + 1 : line->end;
    return f;
}

static char *span_dup(span s)
{
    size_t n = (size_t)(s.end - s.begin);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s.begin, n);
        p[n] = '\0';
    }
    return p;
}

/* A cell is a number when strtod() reads all of it and the value is a
 * finite float: "nan", "inf" and "1e999" are text, so a column holding
 * them is not silently filled with non-finite features. */
static int parse_number(span s, float *v)
{
    char buf[64];
    size_t n = (size_t)(s.end - s.begin);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s.begin, n);
    buf[n] = '\0';
    char *stop;
    double d = strtod(buf, &stop);
    if (*stop != '\0' || !isfinite(d) || fabs(d) > FLT_MAX)
        return 0;
    *v = (float)d;
    return 1;
}

/*
 * The categories of one column: names in order of first appearance, and an
 * open-addressing hash table from name to index, so that coding a column
 * costs O(rows) rather than O(rows · categories).
 */
typedef struct {
    char **names;  /* [n] category names */
    int n, cap;    /* used and allocated entries of names */
    int *slots;    /* [n_slots] category index + 1, or 0 for an empty slot */
    size_t n_slots;/* a power of two, kept at least twice n */
} level_set;

static void level_set_free(level_set *ls)
{
    for (int i = 0; i < ls->n; i++)
        free(ls->names[i]);
    free(ls->names);
    free(ls->slots);
    memset(ls, 0, sizeof *ls);
}

/* FNV-1a: a short, decent string hash. */
static size_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot holding s, or the empty slot where s belongs. */
static size_t level_slot(const level_set *ls, const char *s, size_t n)
{
    size_t mask = ls->n_slots - 1, i = hash_bytes(s, n) & mask;
    while (ls->slots[i]) {
        const char *name = ls->names[ls->slots[i] - 1];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            break;
        i = (i + 1) & mask; /* linear probing */
    }
    return i;
}

/* Double the slot table and re-insert every category. */
static int level_rehash(level_set *ls)
{
    size_t n_slots = ls->n_slots ? 2 * ls->n_slots : 16;
    int *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return NN_ERROR;
    free(ls->slots);
    ls->slots = slots;
    ls->n_slots = n_slots;
    for (int k = 0; k < ls->n; k++)
        ls->slots[level_slot(ls, ls->names[k], strlen(ls->names[k]))] = k + 1;
    return NN_OK;
}

/* The index of category s, added at the end when new; -1 when out of memory. */
static int level_code(level_set *ls, span s)
{
    size_t n = (size_t)(s.end - s.begin);
    if (2 * (size_t)ls->n >= ls->n_slots && level_rehash(ls))
        return -1;
    size_t i = level_slot(ls, s.begin, n);
    if (ls->slots[i])
        return ls->slots[i] - 1;
    if (ls->n == ls->cap) {
        int cap = ls->cap ? 2 * ls->cap : 8;
        char **names = realloc(ls->names, (size_t)cap * sizeof *names);
        if (!names)
            return -1;
        ls->names = names;
        ls->cap = cap;
    }
    if (!(ls->names[ls->n] = span_dup(s)))
        return -1;
    ls->slots[i] = ++ls->n;
    return ls->n - 1;
}

/* What the number pass learned about a column: how many cells are numbers,
 * and the first text cell and first number cell with their lines. */
typedef struct {
    int numbers;
    int text_line, number_line;
    span text, number;
} column_scan;

/* Pass 1: the header's names, then count the rows, rejecting ragged ones. */
static int csv_shape(nn_table *t, csv_reader *r)
{
    span line;
    int number;
    if (!next_line(r, &line, &number))
        return nn_fail("CSV: empty (no header line)");
    t->cols = count_fields(line);
    t->names = calloc((size_t)t->cols, sizeof *t->names);
    if (!t->names)
        return nn_fail("CSV: out of memory for %d columns", t->cols);
    for (int c = 0; c < t->cols; c++) {
        span f = next_field(&line);
        if (f.begin == f.end)
            return nn_fail("CSV line %d: column %d has an empty name", number, c + 1);
        if (!(t->names[c] = span_dup(f)))
            return nn_fail("CSV: out of memory");
    }
    csv_reader rows = *r;
    while (next_line(&rows, &line, &number)) {
        int k = count_fields(line);
        if (k != t->cols)
            return nn_fail("CSV line %d: %d fields, expected %d as in the header", number, k,
                           t->cols);
        t->rows++;
    }
    if (t->rows == 0)
        return nn_fail("CSV: a header line but no data rows");
    return NN_OK;
}

/* How much of a cell an error message quotes. */
static int quoted_length(span s)
{
    return s.end - s.begin > 40 ? 40 : (int)(s.end - s.begin);
}

/* Pass 2: store every number; decide each column numeric or categorical. */
static int csv_numbers(nn_table *t, csv_reader r, column_scan *scan)
{
    span line;
    int number;
    for (int row = 0; next_line(&r, &line, &number); row++)
        for (int c = 0; c < t->cols; c++) {
            span f = next_field(&line);
            column_scan *s = &scan[c];
            float *v = &t->values[(size_t)row * t->cols + c];
            if (parse_number(f, v)) {
                if (s->numbers++ == 0) {
                    s->number = f;
                    s->number_line = number;
                }
            } else if (!s->text_line) {
                s->text = f;
                s->text_line = number;
            }
        }
    /* A column must be all numbers or all text: a mix is most often a typo
     * or a missing-value marker ("NA", "?"), better stopped than coded. */
    for (int c = 0; c < t->cols; c++) {
        const column_scan *s = &scan[c];
        if (s->numbers == 0 || s->numbers == t->rows)
            continue;
        if (2 * s->numbers >= t->rows)
            return nn_fail("CSV line %d, column \"%s\": \"%.*s\" is not a number, but the "
                           "column's other cells are", s->text_line, t->names[c],
                           quoted_length(s->text), s->text.begin);
        return nn_fail("CSV line %d, column \"%s\": number \"%.*s\" in a column of text",
                       s->number_line, t->names[c], quoted_length(s->number), s->number.begin);
    }
    return NN_OK;
}

/* Pass 3: code each text column's cells 0, 1, 2, ... by first appearance,
 * all columns in one sweep over the rows. */
static int csv_categories(nn_table *t, csv_reader r, const column_scan *scan)
{
    level_set *sets = calloc((size_t)t->cols, sizeof *sets);
    if (!sets)
        return nn_fail("CSV: out of memory for the categories");
    span line;
    int number, rc = NN_OK;
    for (int row = 0; rc == NN_OK && next_line(&r, &line, &number); row++)
        for (int c = 0; c < t->cols; c++) {
            span f = next_field(&line);
            if (scan[c].numbers)
                continue;
            int code = level_code(&sets[c], f);
            if (code < 0) {
                rc = nn_fail("CSV: out of memory for the categories of column \"%s\"",
                             t->names[c]);
                break;
            }
            t->values[(size_t)row * t->cols + c] = (float)code;
        }
    for (int c = 0; c < t->cols; c++) {
        if (rc == NN_OK && !scan[c].numbers) {
            t->levels[c] = sets[c].names; /* the table takes the names over */
            t->n_levels[c] = sets[c].n;
            sets[c].names = NULL;
            sets[c].n = 0;
        }
        level_set_free(&sets[c]);
    }
    free(sets);
    return rc;
}

int nn_csv_parse(nn_table *t, const char *text, size_t len)
{
    memset(t, 0, sizeof *t);
    if (len > INT_MAX)
        return nn_fail("CSV: text of %zu bytes is too large", len);
    if (len && memchr(text, '\0', len))
        return nn_fail("CSV: NUL byte in the text (a binary file?)");
    csv_reader r = { text, text + len, 0 };
    if (csv_shape(t, &r)) {
        nn_table_free(t);
        return NN_ERROR;
    }
    /* rows · cols cells <= the number of fields in the text, so no overflow. */
    size_t cells = (size_t)t->rows * (size_t)t->cols;
    t->values = malloc(cells * sizeof *t->values);
    t->levels = calloc((size_t)t->cols, sizeof *t->levels);
    t->n_levels = calloc((size_t)t->cols, sizeof *t->n_levels);
    column_scan *scan = calloc((size_t)t->cols, sizeof *scan);
    int rc = NN_ERROR;
    if (!t->values || !t->levels || !t->n_levels || !scan)
        nn_fail("CSV: out of memory for %d rows of %d columns", t->rows, t->cols);
    else
        rc = csv_numbers(t, r, scan) || csv_categories(t, r, scan) ? NN_ERROR : NN_OK;
    free(scan);
    if (rc)
        nn_table_free(t);
    return rc;
}

int nn_csv_read(nn_table *t, const char *path)
{
    memset(t, 0, sizeof *t);
    uint8_t *buf;
    size_t len;
    if (read_file(&buf, &len, path, CSV_MAX_BYTES))
        return NN_ERROR;
    int rc = nn_csv_parse(t, (const char *)buf, len);
    free(buf);
    return rc ? fail_in(path) : NN_OK;
}

void nn_table_free(nn_table *t)
{
    for (int c = 0; c < t->cols; c++) {
        if (t->names)
            free(t->names[c]);
        if (t->levels && t->levels[c]) {
            for (int k = 0; k < t->n_levels[c]; k++)
                free(t->levels[c][k]);
            free(t->levels[c]);
        }
    }
    free(t->names);
    free(t->values);
    free(t->levels);
    free(t->n_levels);
    memset(t, 0, sizeof *t);
}

int nn_table_to_dataset(nn_dataset *ds, const nn_table *t, int label_col)
{
    memset(ds, 0, sizeof *ds);
    if (t->rows < 1 || t->cols < 2)
        return nn_fail("table of %d rows and %d columns: need a row and two columns (a feature "
                       "and the label)", t->rows, t->cols);
    if (label_col < 0 || label_col >= t->cols)
        return nn_fail("label column %d outside the table's columns 0..%d", label_col, t->cols - 1);

    /* A text column's codes are already 0..levels-1; a numeric one must
     * hold class numbers, and its largest gives the class count. */
    const char *label_name = t->names[label_col];
    int categorical = t->levels && t->levels[label_col];
    int classes = categorical ? t->n_levels[label_col] : 0;
    for (int r = 0; r < t->rows && !categorical; r++) {
        float v = t->values[(size_t)r * t->cols + label_col];
        if (!(v >= 0.0f && v < TABLE_MAX_CLASSES) || v != floorf(v))
            return nn_fail("label column \"%s\", data row %d: %g is not a class number "
                           "0..%d", label_name, r + 1, (double)v, TABLE_MAX_CLASSES - 1);
        if ((int)v + 1 > classes)
            classes = (int)v + 1;
    }

    int dim = t->cols - 1;
    ds->f32 = malloc((size_t)t->rows * (size_t)dim * sizeof(float));
    ds->labels = malloc((size_t)t->rows * sizeof(int));
    if (!ds->f32 || !ds->labels) {
        nn_dataset_free(ds);
        return nn_fail("out of memory for a table of %d rows", t->rows);
    }
    for (int r = 0; r < t->rows; r++) {
        const float *row = t->values + (size_t)r * t->cols;
        float *x = ds->f32 + (size_t)r * dim;
        for (int c = 0, j = 0; c < t->cols; c++)
            if (c != label_col)
                x[j++] = row[c];
        ds->labels[r] = (int)row[label_col];
    }
    ds->n = t->rows;
    ds->dim = dim;
    ds->classes = classes;
    snprintf(ds->name, sizeof ds->name, "table");
    return NN_OK;
}
