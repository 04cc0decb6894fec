/*
 * Data sets: IDX checks and round trips, MNIST-style folders, Fashion-MNIST
 * when installed, CSV tables, Iris, synthetic sets, the split, gathering.
 *
 * Crafted files go to a fresh temporary folder (mkdtemp) that the suite's
 * cleanup removes.
 */
#include "testutil.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const double pi = 3.14159265358979323846;

/* ------------------------------------------------------------ helpers */

static char tmpdir[256];
static char created[64][512]; /* files and folders to remove, in creation order */
static int n_created;

static int suite_init(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/nnlab-data-XXXXXX", base && *base ? base : "/tmp");
    n_created = 0;
    return mkdtemp(tmpdir) ? 0 : 1;
}

static int suite_clean(void)
{
    while (n_created > 0)
        remove(created[--n_created]);
    remove(tmpdir);
    return 0;
}

/* tmpdir/name, remembered for removal. */
static const char *tmp_path(const char *name)
{
    if (n_created == 64)
        return "/nonexistent/too-many-files";
    char *p = created[n_created++];
    snprintf(p, sizeof created[0], "%s/%s", tmpdir, name);
    return p;
}

/* Create the folder tmpdir/name. */
static const char *make_dir(const char *name)
{
    const char *p = tmp_path(name);
    return mkdir(p, 0700) == 0 ? p : NULL;
}

/* Write len bytes to tmpdir/name, gzip-compressed when gz. */
static const char *write_file(const char *name, const void *data, size_t len, int gz)
{
    const char *p = tmp_path(name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        if (!f)
            return NULL;
        int ok = len == 0 || gzwrite(f, data, (unsigned)len) == (int)len;
        return gzclose(f) == Z_OK && ok ? p : NULL;
    }
    FILE *f = fopen(p, "wb");
    if (!f)
        return NULL;
    size_t put = fwrite(data, 1, len, f);
    return fclose(f) == 0 && put == len ? p : NULL;
}

/* An IDX file of unsigned bytes: 00 00 08 ndim, big-endian extents, data.
 * Returns its length in buf. */
static size_t make_idx(uint8_t *buf, int ndim, const uint32_t *dims, const uint8_t *data,
                       size_t n)
{
    uint8_t *p = buf;
    *p++ = 0;
    *p++ = 0;
    *p++ = 0x08;
    *p++ = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        *p++ = (uint8_t)(dims[i] >> 24);
        *p++ = (uint8_t)(dims[i] >> 16);
        *p++ = (uint8_t)(dims[i] >> 8);
        *p++ = (uint8_t)dims[i];
    }
    memcpy(p, data, n);
    return (size_t)(p - buf) + n;
}

/* Assert that call fails and that the message contains word. */
#define EXPECT_ERROR(call, word)                                                           \
    do {                                                                                   \
        nn_clear_error();                                                                  \
        int rc_ = (call);                                                                  \
        char m_[800];                                                                      \
        snprintf(m_, sizeof m_, "%s: expected an error containing \"%s\", got rc %d: \"%s\"", \
                 #call, (word), rc_, nn_last_error());                                     \
        CU_assertImplementation(rc_ == NN_ERROR && strstr(nn_last_error(), (word)) != NULL, \
                                __LINE__, m_, __FILE__, "", CU_FALSE);                     \
    } while (0)

/* Assert that call succeeds, showing the message when it does not. */
#define EXPECT_OK(call)                                                                    \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        char m_[800];                                                                      \
        snprintf(m_, sizeof m_, "%s failed: %s", #call, nn_last_error());                  \
        CU_assertImplementation(rc_ == NN_OK, __LINE__, m_, __FILE__, "", CU_FALSE);       \
    } while (0)

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ------------------------------------------------------------ IDX parsing */

static void test_idx_truncated_header(void)
{
    static const uint8_t three[] = { 0, 0, 8 };
    static const uint8_t two_dims_cut[] = { 0, 0, 8, 2, 0, 0, 0, 1, 0, 0 };
    nn_idx idx;
    EXPECT_ERROR(nn_idx_parse(&idx, three, sizeof three), "truncated header");
    EXPECT_ERROR(nn_idx_parse(&idx, NULL, 0), "truncated header");
    EXPECT_ERROR(nn_idx_parse(&idx, two_dims_cut, sizeof two_dims_cut), "truncated header");
    CU_ASSERT(all_zero(&idx, sizeof idx));
}

static void test_idx_wrong_magic_and_type(void)
{
    static const uint8_t magic[] = { 1, 0, 8, 1, 0, 0, 0, 1, 7 };
    static const uint8_t ascii[] = { 'P', '5', '\n', '2', ' ', '2' };
    static const uint8_t floats[] = { 0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0 };
    nn_idx idx;
    EXPECT_ERROR(nn_idx_parse(&idx, magic, sizeof magic), "magic");
    EXPECT_ERROR(nn_idx_parse(&idx, ascii, sizeof ascii), "magic");
    EXPECT_ERROR(nn_idx_parse(&idx, floats, sizeof floats), "type 0x0d");
}

static void test_idx_dimension_count(void)
{
    static const uint8_t ndim0[] = { 0, 0, 8, 0, 1, 2, 3 };
    static const uint8_t ndim4[] = { 0, 0, 8, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9 };
    nn_idx idx;
    EXPECT_ERROR(nn_idx_parse(&idx, ndim0, sizeof ndim0), "0 dimensions");
    EXPECT_ERROR(nn_idx_parse(&idx, ndim4, sizeof ndim4), "4 dimensions");
}

static void test_idx_absurd_dims(void)
{
    uint8_t buf[64], data[4] = { 1, 2, 3, 4 };
    nn_idx idx;
    uint32_t huge[1] = { 1u << 31 };
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 1, huge, data, 4)), "dimension 0 is 2147483648");
    uint32_t zero[2] = { 4, 0 };
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 2, zero, data, 4)), "dimension 1 is 0");
    /* Three extents of 2^24 each pass the per-extent check; their product,
     * 2^72, must be compared without overflowing to a small number. */
    uint32_t big3[3] = { 1u << 24, 1u << 24, 1u << 24 };
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 3, big3, data, 4)), "truncated file");
    uint32_t wrap[3] = { 1u << 24, 1u << 24, 1u << 16 }; /* product 2^64 wraps to 0 */
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 3, wrap, data, 0)), "does not match");
}

static void test_idx_size_mismatch(void)
{
    uint8_t buf[64], data[8] = { 0 };
    uint32_t dims[2] = { 2, 3 };
    nn_idx idx;
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 2, dims, data, 5)), "truncated file");
    EXPECT_ERROR(nn_idx_parse(&idx, buf, make_idx(buf, 2, dims, data, 7)), "trailing bytes");
    EXPECT_OK(nn_idx_parse(&idx, buf, make_idx(buf, 2, dims, data, 6)));
    nn_idx_free(&idx);
}

static void test_idx_round_trip(void)
{
    uint8_t data[24], buf[64];
    for (int i = 0; i < 24; i++)
        data[i] = (uint8_t)(i * 11);
    uint32_t dims[3] = { 2, 3, 4 };
    size_t len = make_idx(buf, 3, dims, data, 24);
    const char *plain = write_file("rt-idx3-ubyte", buf, len, 0);
    const char *gz = write_file("rt-idx3-ubyte.gz", buf, len, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    const char *paths[3] = { NULL, plain, gz };
    for (int k = 0; k < 3; k++) {
        nn_idx idx;
        if (k == 0)
            EXPECT_OK(nn_idx_parse(&idx, buf, len));
        else
            EXPECT_OK(nn_idx_read(&idx, paths[k]));
        CU_ASSERT_EQUAL(idx.ndim, 3);
        CU_ASSERT_EQUAL(idx.dims[0], 2);
        CU_ASSERT_EQUAL(idx.dims[1], 3);
        CU_ASSERT_EQUAL(idx.dims[2], 4);
        CU_ASSERT_EQUAL(idx.size, 24);
        CU_ASSERT(idx.data && memcmp(idx.data, data, 24) == 0);
        nn_idx_free(&idx);
        CU_ASSERT_PTR_NULL(idx.data);
    }
}

static void test_idx_read_errors(void)
{
    nn_idx idx;
    EXPECT_ERROR(nn_idx_read(&idx, "/nonexistent/nnlab/x-idx1-ubyte"), "cannot open");

    /* A file error names the file. */
    static const uint8_t magic[] = { 7, 7, 8, 1, 0, 0, 0, 1, 0 };
    const char *bad = write_file("bad-magic-idx1-ubyte", magic, sizeof magic, 0);
    EXPECT_ERROR(nn_idx_read(&idx, bad), "bad-magic-idx1-ubyte: IDX: bad magic");

    /* A gzip stream cut short (a broken download) is caught by zlib. */
    uint8_t data[3000], buf[3100];
    for (int i = 0; i < 3000; i++)
        data[i] = (uint8_t)((i * 7919) >> 3);
    uint32_t dims[1] = { 3000 };
    size_t len = make_idx(buf, 1, dims, data, 3000);
    const char *full = write_file("full-idx1-ubyte.gz", buf, len, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    FILE *f = fopen(full, "rb");
    uint8_t gzbytes[4000];
    size_t gzlen = f ? fread(gzbytes, 1, sizeof gzbytes, f) : 0;
    if (f)
        fclose(f);
    CU_ASSERT_FATAL(gzlen > 40);
    const char *cut = write_file("cut-idx1-ubyte.gz", gzbytes, gzlen / 2, 0);
    EXPECT_ERROR(nn_idx_read(&idx, cut), "cut-idx1-ubyte.gz: truncated gzip data");
    CU_ASSERT_PTR_NULL(idx.data);
    /* A flipped byte in the deflate stream or its CRC: zlib refuses it. */
    gzbytes[gzlen - 6] ^= 0x5a;
    const char *flipped = write_file("flipped-idx1-ubyte.gz", gzbytes, gzlen, 0);
    EXPECT_ERROR(nn_idx_read(&idx, flipped), "flipped-idx1-ubyte.gz: ");
}

/* ------------------------------------------------------------ IDX folders */

/* Write tmpdir/dir/<prefix>-images-idx3-ubyte[.gz] (n images h×w, pixel
 * (i, j) = 10 i + j) and the labels file (label i = labels[i]). */
static void write_split(const char *dir, const char *prefix, int n, int nlabels, int h, int w,
                        const uint8_t *labels, int gz)
{
    uint8_t buf[1024], data[1024];
    char name[128];
    for (int i = 0; i < n * h * w; i++)
        data[i] = (uint8_t)(10 * (i / (h * w)) + i % (h * w));
    uint32_t idims[3] = { (uint32_t)n, (uint32_t)h, (uint32_t)w };
    snprintf(name, sizeof name, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(name, buf, make_idx(buf, 3, idims, data, (size_t)(n * h * w)), gz);
    uint32_t ldims[1] = { (uint32_t)nlabels };
    snprintf(name, sizeof name, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(name, buf, make_idx(buf, 1, ldims, labels, (size_t)nlabels), gz);
}

static const uint8_t tiny_labels[6] = { 3, 1, 4, 1, 5, 9 };

static void test_idx_dir_load(void)
{
    const char *dir = make_dir("tiny");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    write_split("tiny", "train", 5, 5, 2, 3, tiny_labels, 1); /* gzip */
    write_split("tiny", "t10k", 3, 3, 2, 3, tiny_labels + 3, 0); /* plain */
    nn_dataset train, test;
    EXPECT_OK(nn_load_idx_dir(&train, &test, dir, "tiny"));
    CU_ASSERT_EQUAL(train.n, 5);
    CU_ASSERT_EQUAL(test.n, 3);
    CU_ASSERT_EQUAL(train.dim, 6);
    CU_ASSERT_EQUAL(train.channels, 1);
    CU_ASSERT_EQUAL(train.height, 2);
    CU_ASSERT_EQUAL(train.width, 3);
    CU_ASSERT_EQUAL(train.classes, 10);
    CU_ASSERT_PTR_NOT_NULL(train.u8);
    CU_ASSERT_PTR_NULL(train.f32);
    CU_ASSERT_STRING_EQUAL(train.name, "tiny/train");
    CU_ASSERT_STRING_EQUAL(test.name, "tiny/test");
    if (train.u8 && test.u8) {
        CU_ASSERT_EQUAL(train.u8[4 * 6 + 5], 45);
        CU_ASSERT_EQUAL(test.u8[2 * 6 + 1], 21);
        for (int i = 0; i < 5; i++)
            CU_ASSERT_EQUAL(train.labels[i], tiny_labels[i]);
        CU_ASSERT_EQUAL(test.labels[2], 9);
    }
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    CU_ASSERT(all_zero(&train, sizeof train));
}

static void test_idx_dir_errors(void)
{
    nn_dataset train, test;
    static const uint8_t bad_label[5] = { 1, 2, 10, 3, 4 };

    const char *count_dir = make_dir("count");
    CU_ASSERT_PTR_NOT_NULL_FATAL(count_dir);
    write_split("count", "train", 5, 4, 2, 3, tiny_labels, 0);
    write_split("count", "t10k", 3, 3, 2, 3, tiny_labels, 0);
    EXPECT_ERROR(nn_load_idx_dir(&train, &test, count_dir, "x"), "count mismatch: 5 images but 4 labels");
    CU_ASSERT(all_zero(&train, sizeof train) && all_zero(&test, sizeof test));

    const char *label_dir = make_dir("label");
    CU_ASSERT_PTR_NOT_NULL_FATAL(label_dir);
    write_split("label", "train", 5, 5, 2, 3, bad_label, 0);
    write_split("label", "t10k", 3, 3, 2, 3, tiny_labels, 0);
    EXPECT_ERROR(nn_load_idx_dir(&train, &test, label_dir, "x"), "label 10 of example 2");

    const char *notest_dir = make_dir("notest");
    CU_ASSERT_PTR_NOT_NULL_FATAL(notest_dir);
    write_split("notest", "train", 5, 5, 2, 3, tiny_labels, 0);
    EXPECT_ERROR(nn_load_idx_dir(&train, &test, notest_dir, "x"), "t10k-images-idx3-ubyte(.gz) not found");
    CU_ASSERT(all_zero(&train, sizeof train));

    /* Labels where images belong: one dimension, not three. */
    const char *flat_dir = make_dir("flat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(flat_dir);
    uint8_t buf[64];
    uint32_t d1[1] = { 5 };
    write_file("flat/train-images-idx3-ubyte", buf, make_idx(buf, 1, d1, tiny_labels, 5), 0);
    write_file("flat/train-labels-idx1-ubyte", buf, make_idx(buf, 1, d1, tiny_labels, 5), 0);
    EXPECT_ERROR(nn_load_idx_dir(&train, &test, flat_dir, "x"), "expected 3");
}

static void test_find_dataset(void)
{
    char dir[1024], expected[600];
    const char *old = getenv("NNLAB_DATA");
    char saved[512] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);

    CU_ASSERT_PTR_NOT_NULL_FATAL(make_dir("found"));
    write_split("found", "train", 2, 2, 2, 2, tiny_labels, 0);
    setenv("NNLAB_DATA", tmpdir, 1);
    EXPECT_OK(nn_find_dataset(dir, sizeof dir, "found"));
    snprintf(expected, sizeof expected, "%s/found", tmpdir);
    CU_ASSERT_STRING_EQUAL(dir, expected);
    EXPECT_ERROR(nn_find_dataset(dir, 8, "found"), "does not fit");
    EXPECT_ERROR(nn_find_dataset(dir, sizeof dir, "no-such-set"), "make datasets");
    EXPECT_ERROR(nn_find_dataset(dir, sizeof dir, "../etc"), "not a plain name");

    if (old)
        setenv("NNLAB_DATA", saved, 1);
    else
        unsetenv("NNLAB_DATA");
}

/* Fashion-MNIST itself, where installed (Debian's dataset-fashion-mnist or
 * `make datasets`). Facts checked independently with Python's gzip module:
 * the first training label is 9 (ankle boot), the first test label 9, the
 * first image's bytes sum to 76247, and every class has 6000 examples. */
static void test_fashion_mnist_real(void)
{
    char dir[1024];
    if (nn_find_dataset(dir, sizeof dir, "fashion-mnist")) {
        printf("\n    note: Fashion-MNIST not installed; real-data check skipped ");
        CU_PASS("Fashion-MNIST not installed");
        return;
    }
    nn_dataset train, test;
    EXPECT_OK(nn_load_dataset(&train, &test, "fashion-mnist", 1));
    CU_ASSERT_EQUAL(train.n, 60000);
    CU_ASSERT_EQUAL(test.n, 10000);
    CU_ASSERT_EQUAL(train.height, 28);
    CU_ASSERT_EQUAL(train.width, 28);
    CU_ASSERT_EQUAL(train.dim, 784);
    CU_ASSERT_EQUAL(test.dim, 784);
    CU_ASSERT_STRING_EQUAL(train.name, "fashion-mnist/train");
    if (train.n == 60000 && test.n == 10000) {
        int counts[10] = { 0 }, bad = 0;
        for (int i = 0; i < train.n; i++) {
            bad += train.labels[i] < 0 || train.labels[i] >= 10;
            if (!bad)
                counts[train.labels[i]]++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        for (int c = 0; c < 10; c++)
            CU_ASSERT_EQUAL(counts[c], 6000);
        CU_ASSERT_EQUAL(train.labels[0], 9);
        CU_ASSERT_EQUAL(test.labels[0], 9);
        long sum = 0;
        for (int j = 0; j < 784; j++)
            sum += train.u8[j];
        CU_ASSERT_EQUAL(sum, 76247);
    }
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

/* MNIST where fetched: its first training digit is a 5. */
static void test_mnist_real(void)
{
    char dir[1024];
    if (nn_find_dataset(dir, sizeof dir, "mnist")) {
        printf("\n    note: MNIST not downloaded (make datasets); real-data check skipped ");
        CU_PASS("MNIST not downloaded");
        return;
    }
    nn_dataset train, test;
    EXPECT_OK(nn_load_dataset(&train, &test, "mnist", 1));
    CU_ASSERT_EQUAL(train.n, 60000);
    CU_ASSERT_EQUAL(test.n, 10000);
    CU_ASSERT_EQUAL(train.dim, 784);
    if (train.n == 60000)
        CU_ASSERT_EQUAL(train.labels[0], 5);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

/* ------------------------------------------------------------ CSV */

static nn_status parse(nn_table *t, const char *text)
{
    return nn_csv_parse(t, text, strlen(text));
}

static void test_csv_numeric_and_categorical(void)
{
    /* Spaces around fields, a blank line, a CRLF ending, no final newline. */
    const char *text = "a, b ,name\n1,2,x\n\n 3 , 4.5 ,y\r\n5,-6e-1,x";
    nn_table t;
    EXPECT_OK(parse(&t, text));
    CU_ASSERT_EQUAL(t.rows, 3);
    CU_ASSERT_EQUAL_FATAL(t.cols, 3);
    CU_ASSERT_STRING_EQUAL(t.names[0], "a");
    CU_ASSERT_STRING_EQUAL(t.names[1], "b");
    CU_ASSERT_STRING_EQUAL(t.names[2], "name");
    const float expected[9] = { 1, 2, 0, 3, 4.5f, 1, 5, -0.6f, 0 };
    TU_ASSERT_CLOSE(t.values, expected, 9, 1e-7);
    CU_ASSERT_PTR_NULL(t.levels[0]);
    CU_ASSERT_EQUAL(t.n_levels[0], 0);
    CU_ASSERT_EQUAL_FATAL(t.n_levels[2], 2);
    CU_ASSERT_STRING_EQUAL(t.levels[2][0], "x");
    CU_ASSERT_STRING_EQUAL(t.levels[2][1], "y");
    nn_table_free(&t);
    CU_ASSERT(all_zero(&t, sizeof t));
    nn_table_free(&t); /* safe twice */
}

static void test_csv_many_categories(void)
{
    /* 300 distinct categories, each seen twice: exercises the hash table's growth. */
    static char text[300 * 2 * 16 + 16];
    char *p = text;
    p += sprintf(p, "id,v\n");
    for (int i = 0; i < 600; i++)
        p += sprintf(p, "k%d,%d\n", i % 300, i);
    nn_table t;
    EXPECT_OK(parse(&t, text));
    CU_ASSERT_EQUAL_FATAL(t.n_levels[0], 300);
    int ok = 1;
    for (int i = 0; i < 600; i++)
        ok &= t.values[2 * i] == (float)(i % 300);
    CU_ASSERT(ok);
    CU_ASSERT_STRING_EQUAL(t.levels[0][299], "k299");
    nn_table_free(&t);
}

static void test_csv_rejects(void)
{
    nn_table t;
    EXPECT_ERROR(parse(&t, "a,b\n1,2\n3\n4,5\n"), "line 3: 1 fields, expected 2");
    EXPECT_ERROR(parse(&t, "a,b\n1,2\n\n3,4,5\n"), "line 4: 3 fields");
    EXPECT_ERROR(parse(&t, ""), "empty");
    EXPECT_ERROR(parse(&t, " \n\r\n\n"), "empty");
    EXPECT_ERROR(parse(&t, "a,b\n"), "no data rows");
    EXPECT_ERROR(parse(&t, "a,,c\n1,2,3\n"), "empty name");
    EXPECT_ERROR(nn_csv_parse(&t, "a\n1\0", 4), "NUL");
    CU_ASSERT(all_zero(&t, sizeof t));
}

static void test_csv_mixed_column(void)
{
    nn_table t;
    /* A typo in a numeric column, and a missing-value marker. */
    EXPECT_ERROR(parse(&t, "x,y\n1,2\n3,4\n5,x6\n7,8\n"), "line 4, column \"y\": \"x6\" is not a number");
    EXPECT_ERROR(parse(&t, "x,y\n1,2\nNA,4\n5,6\n"), "line 3");
    /* Not finite: text, not a number. */
    EXPECT_ERROR(parse(&t, "x\n1\nnan\n2\n"), "\"nan\" is not a number");
    EXPECT_ERROR(parse(&t, "x\n1\n1e999\n2\n"), "not a number");
    /* A stray number in a text column. */
    EXPECT_ERROR(parse(&t, "c\nred\ngreen\n7\nblue\n"), "line 4, column \"c\": number \"7\"");
}

static void test_csv_read_file(void)
{
    const char *text = "f,label\n0.5,0\n1.5,2\n";
    const char *plain = write_file("t.csv", text, strlen(text), 0);
    const char *gz = write_file("t.csv.gz", text, strlen(text), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    nn_table t;
    EXPECT_OK(nn_csv_read(&t, plain));
    CU_ASSERT_EQUAL(t.rows, 2);
    nn_table_free(&t);
    EXPECT_OK(nn_csv_read(&t, gz));
    CU_ASSERT_EQUAL(t.rows, 2);
    nn_table_free(&t);
    EXPECT_ERROR(nn_csv_read(&t, "/nonexistent/nnlab.csv"), "cannot open");
    const char *bad = write_file("bad.csv", "a,b\n1\n", 6, 0);
    EXPECT_ERROR(nn_csv_read(&t, bad), "bad.csv: CSV line 2");

    /* 65 MB of zeros, a few kB compressed: over the 64 MB cap. */
    const char *big = tmp_path("big.csv.gz");
    gzFile f = gzopen(big, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char zeros[1 << 20];
    for (int i = 0; i < 65; i++)
        gzwrite(f, zeros, sizeof zeros);
    gzclose(f);
    EXPECT_ERROR(nn_csv_read(&t, big), "larger than 64 MB");
}

static void test_table_to_dataset(void)
{
    nn_table t;
    nn_dataset ds;
    /* Numeric label column in the middle. */
    EXPECT_OK(parse(&t, "f1,y,f2\n1,2,3\n4,0,6\n"));
    EXPECT_OK(nn_table_to_dataset(&ds, &t, 1));
    CU_ASSERT_EQUAL(ds.n, 2);
    CU_ASSERT_EQUAL(ds.dim, 2);
    CU_ASSERT_EQUAL(ds.classes, 3);
    CU_ASSERT_PTR_NULL(ds.u8);
    const float x[4] = { 1, 3, 4, 6 };
    TU_ASSERT_CLOSE(ds.f32, x, 4, 1e-7);
    CU_ASSERT(ds.labels[0] == 2 && ds.labels[1] == 0);
    nn_dataset_free(&ds);
    EXPECT_ERROR(nn_table_to_dataset(&ds, &t, 3), "outside");
    nn_table_free(&t);

    /* Labels must be whole numbers >= 0. */
    EXPECT_OK(parse(&t, "f,y\n1,2.5\n"));
    EXPECT_ERROR(nn_table_to_dataset(&ds, &t, 1), "2.5 is not a class number");
    nn_table_free(&t);
    EXPECT_OK(parse(&t, "f,y\n1,-1\n"));
    EXPECT_ERROR(nn_table_to_dataset(&ds, &t, 1), "data row 1");
    nn_table_free(&t);
    EXPECT_OK(parse(&t, "y\n1\n"));
    EXPECT_ERROR(nn_table_to_dataset(&ds, &t, 0), "two columns");
    nn_table_free(&t);
    CU_ASSERT(all_zero(&ds, sizeof ds));
}

static void test_iris(void)
{
    nn_table t;
    EXPECT_OK(nn_csv_read(&t, NNLAB_ROOT "/datasets/iris.csv"));
    CU_ASSERT_EQUAL(t.rows, 150);
    CU_ASSERT_EQUAL_FATAL(t.cols, 5);
    CU_ASSERT_STRING_EQUAL(t.names[0], "sepal_length");
    CU_ASSERT_STRING_EQUAL(t.names[4], "species");
    CU_ASSERT_EQUAL_FATAL(t.n_levels[4], 3);
    CU_ASSERT_STRING_EQUAL(t.levels[4][0], "setosa");
    CU_ASSERT_STRING_EQUAL(t.levels[4][2], "virginica");
    /* Column sums of Fisher's table (as R's colSums(iris)). */
    double sum[4] = { 0 };
    for (int r = 0; r < t.rows; r++)
        for (int c = 0; c < 4; c++)
            sum[c] += t.values[r * 5 + c];
    TU_ASSERT_NEAR(sum[0], 876.5, 1e-3);
    TU_ASSERT_NEAR(sum[1], 458.6, 1e-3);
    TU_ASSERT_NEAR(sum[2], 563.7, 1e-3);
    TU_ASSERT_NEAR(sum[3], 179.9, 1e-3);

    nn_dataset all;
    EXPECT_OK(nn_table_to_dataset(&all, &t, 4));
    CU_ASSERT_EQUAL(all.n, 150);
    CU_ASSERT_EQUAL(all.dim, 4);
    CU_ASSERT_EQUAL(all.classes, 3);
    int counts[3] = { 0 };
    for (int i = 0; i < all.n; i++)
        counts[all.labels[i]]++;
    CU_ASSERT(counts[0] == 50 && counts[1] == 50 && counts[2] == 50);
    nn_table_free(&t);

    /* The 120/30 split keeps every row exactly once. */
    nn_dataset train, test, train2, test2;
    EXPECT_OK(nn_load_dataset(&train, &test, "iris", 42));
    CU_ASSERT_EQUAL(train.n, 120);
    CU_ASSERT_EQUAL(test.n, 30);
    CU_ASSERT_EQUAL(train.classes, 3);
    CU_ASSERT_EQUAL(test.dim, 4);
    CU_ASSERT_STRING_EQUAL(train.name, "iris/train");
    CU_ASSERT_STRING_EQUAL(test.name, "iris/test");
    double s_all = 0, s_split = 0;
    for (int i = 0; i < 150 * 4; i++)
        s_all += all.f32[i] * (1 + i % 4);
    for (int i = 0; i < train.n * 4; i++)
        s_split += train.f32[i] * (1 + i % 4);
    for (int i = 0; i < test.n * 4; i++)
        s_split += test.f32[i] * (1 + i % 4);
    TU_ASSERT_NEAR(s_split, s_all, 1e-6 * s_all);
    /* Same seed, same split; another seed, another split. */
    EXPECT_OK(nn_load_dataset(&train2, &test2, "iris", 42));
    CU_ASSERT(memcmp(test.f32, test2.f32, 30 * 4 * sizeof(float)) == 0);
    nn_dataset_free(&train2);
    nn_dataset_free(&test2);
    EXPECT_OK(nn_load_dataset(&train2, &test2, "iris", 43));
    CU_ASSERT(memcmp(test.f32, test2.f32, 30 * 4 * sizeof(float)) != 0);
    nn_dataset_free(&train2);
    nn_dataset_free(&test2);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_dataset_free(&all);
}

/* ------------------------------------------------------------ synthetic sets */

static const struct {
    const char *name;
    int classes;
} named_sets[] = { { "xor", 2 }, { "spirals", 3 }, { "moons", 2 }, { "circles", 2 }, { "blobs", 3 } };

static void test_synthetic_sizes_and_balance(void)
{
    for (int k = 0; k < 5; k++) {
        nn_dataset train, test;
        EXPECT_OK(nn_load_dataset(&train, &test, named_sets[k].name, 7));
        CU_ASSERT_EQUAL(train.n, 1000);
        CU_ASSERT_EQUAL(test.n, 500);
        CU_ASSERT_EQUAL(train.dim, 2);
        CU_ASSERT_EQUAL(train.channels, 0);
        CU_ASSERT_EQUAL(train.classes, named_sets[k].classes);
        CU_ASSERT_EQUAL(test.classes, named_sets[k].classes);
        CU_ASSERT_PTR_NULL(train.u8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(train.f32);
        int counts[3] = { 0 }, bad = 0, c = train.classes;
        for (int i = 0; i < train.n; i++) {
            bad += train.labels[i] < 0 || train.labels[i] >= c;
            bad += !isfinite(train.f32[2 * i]) || !isfinite(train.f32[2 * i + 1]);
            bad += fabsf(train.f32[2 * i]) > 4 || fabsf(train.f32[2 * i + 1]) > 4;
            if (train.labels[i] >= 0 && train.labels[i] < 3)
                counts[train.labels[i]]++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        for (int j = 0; j < c; j++) /* 1000 points over c classes: balanced within one */
            CU_ASSERT(counts[j] >= 1000 / c && counts[j] <= 1000 / c + 1);
        char expected[32];
        snprintf(expected, sizeof expected, "%s/test", named_sets[k].name);
        CU_ASSERT_STRING_EQUAL(test.name, expected);
        nn_dataset_free(&train);
        nn_dataset_free(&test);
    }
}

static void test_synthetic_determinism(void)
{
    for (int k = 0; k < 5; k++) {
        nn_dataset a, at, b, bt, c, ct;
        EXPECT_OK(nn_load_dataset(&a, &at, named_sets[k].name, 123));
        EXPECT_OK(nn_load_dataset(&b, &bt, named_sets[k].name, 123));
        EXPECT_OK(nn_load_dataset(&c, &ct, named_sets[k].name, 124));
        CU_ASSERT(memcmp(a.f32, b.f32, 2000 * sizeof(float)) == 0);
        CU_ASSERT(memcmp(a.labels, b.labels, 1000 * sizeof(int)) == 0);
        CU_ASSERT(memcmp(at.f32, bt.f32, 1000 * sizeof(float)) == 0);
        CU_ASSERT(memcmp(a.f32, c.f32, 2000 * sizeof(float)) != 0);
        /* The test set is new draws, not a copy of training points. */
        CU_ASSERT(memcmp(a.f32, at.f32, 1000 * sizeof(float)) != 0);
        nn_dataset_free(&a);
        nn_dataset_free(&at);
        nn_dataset_free(&b);
        nn_dataset_free(&bt);
        nn_dataset_free(&c);
        nn_dataset_free(&ct);
    }
}

/* Each set's labels mean what the set promises. */
static void test_synthetic_labels(void)
{
    nn_rng rng;
    nn_dataset ds;

    /* Circles: class 1 (the inner circle) lies nearer the centre. */
    nn_rng_seed(&rng, 1);
    EXPECT_OK(nn_make_synthetic(&ds, NN_SYN_CIRCLES, 1000, 2, 0.05f, &rng));
    double r[2] = { 0 };
    for (int i = 0; i < ds.n; i++)
        r[ds.labels[i]] += hypot(ds.f32[2 * i], ds.f32[2 * i + 1]) / 500;
    TU_ASSERT_NEAR(r[0], 1.0, 0.05);
    TU_ASSERT_NEAR(r[1], 0.5, 0.05);
    nn_dataset_free(&ds);

    /* XOR: label 0 where x and y share a sign, 1 where they differ. */
    EXPECT_OK(nn_make_synthetic(&ds, NN_SYN_XOR, 1000, 7, 0.2f, &rng));
    CU_ASSERT_EQUAL(ds.classes, 2); /* forced */
    int agree = 0;
    for (int i = 0; i < ds.n; i++)
        agree += (ds.f32[2 * i] * ds.f32[2 * i + 1] < 0) == ds.labels[i];
    CU_ASSERT(agree >= 990);
    nn_dataset_free(&ds);

    /* Moons: the upper moon (class 0) sits higher on average. */
    EXPECT_OK(nn_make_synthetic(&ds, NN_SYN_MOONS, 1000, 2, 0.1f, &rng));
    double y[2] = { 0 };
    for (int i = 0; i < ds.n; i++)
        y[ds.labels[i]] += ds.f32[2 * i + 1] / 500;
    CU_ASSERT(y[0] > y[1] + 0.5);
    nn_dataset_free(&ds);

    /* Blobs: almost every point is nearest its own class's mean. */
    EXPECT_OK(nn_make_synthetic(&ds, NN_SYN_BLOBS, 1200, 4, 0.3f, &rng));
    double mean[4][2] = { { 0 } };
    for (int i = 0; i < ds.n; i++)
        for (int j = 0; j < 2; j++)
            mean[ds.labels[i]][j] += ds.f32[2 * i + j] / 300;
    int nearest_ok = 0;
    for (int i = 0; i < ds.n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int c = 0; c < 4; c++) {
            double d = hypot(ds.f32[2 * i] - mean[c][0], ds.f32[2 * i + 1] - mean[c][1]);
            if (d < bd)
                bd = d, best = c;
        }
        nearest_ok += best == ds.labels[i];
    }
    CU_ASSERT(nearest_ok >= 1150);
    nn_dataset_free(&ds);

    /* Spirals without noise: radius t in [0, 1), and arm c is arm 0 turned
     * by 2πc/k, so a point's angle minus 3πr is its arm's offset. */
    EXPECT_OK(nn_make_synthetic(&ds, NN_SYN_SPIRALS, 300, 3, 0.0f, &rng));
    int on_arm = 0;
    for (int i = 0; i < ds.n; i++) {
        double px = ds.f32[2 * i], py = ds.f32[2 * i + 1], rad = hypot(px, py);
        double off = atan2(py, px) - 3 * pi * rad - 2 * pi * ds.labels[i] / 3;
        on_arm += rad < 1 && fabs(remainder(off, 2 * pi)) < 1e-3;
    }
    CU_ASSERT_EQUAL(on_arm, 300);
    nn_dataset_free(&ds);
}

static void test_synthetic_errors(void)
{
    nn_rng rng;
    nn_dataset ds;
    nn_rng_seed(&rng, 1);
    EXPECT_ERROR(nn_make_synthetic(&ds, NN_SYN_BLOBS, 2, 3, 0.1f, &rng), "2 points of 3 classes");
    EXPECT_ERROR(nn_make_synthetic(&ds, NN_SYN_SPIRALS, 10, 0, 0.1f, &rng), "classes");
    EXPECT_ERROR(nn_make_synthetic(&ds, NN_SYN_MOONS, 10, 2, -1.0f, &rng), "noise");
    EXPECT_ERROR(nn_make_synthetic(&ds, NN_SYN_MOONS, 10, 2, NAN, &rng), "noise");
    EXPECT_ERROR(nn_make_synthetic(&ds, (nn_synthetic)42, 10, 2, 0.1f, &rng), "unknown kind");
    CU_ASSERT(all_zero(&ds, sizeof ds));
    nn_dataset test;
    EXPECT_ERROR(nn_load_dataset(&ds, &test, "cifar-11", 1), "unknown data set");
}

/* ------------------------------------------------------------ split, gather */

/* 100 rows whose features are (i, -i) and labels i mod 3. */
static void make_rows(nn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->n = 100;
    ds->dim = 2;
    ds->classes = 3;
    ds->f32 = malloc(200 * sizeof(float));
    ds->labels = malloc(100 * sizeof(int));
    for (int i = 0; i < 100; i++) {
        ds->f32[2 * i] = (float)i;
        ds->f32[2 * i + 1] = (float)-i;
        ds->labels[i] = i % 3;
    }
    snprintf(ds->name, sizeof ds->name, "rows/train");
}

static void test_split(void)
{
    nn_dataset train, val;
    nn_rng rng;
    make_rows(&train);
    nn_rng_seed(&rng, 5);
    EXPECT_OK(nn_dataset_split(&train, &val, 0.25f, &rng));
    CU_ASSERT_EQUAL(train.n, 75);
    CU_ASSERT_EQUAL(val.n, 25);
    CU_ASSERT_EQUAL(val.dim, 2);
    CU_ASSERT_EQUAL(val.classes, 3);
    CU_ASSERT_STRING_EQUAL(val.name, "rows/val");
    CU_ASSERT_STRING_EQUAL(train.name, "rows/train");
    /* Disjoint and complete: every row lands in exactly one set, whole. */
    int seen[100] = { 0 }, whole = 1;
    const nn_dataset *sets[2] = { &train, &val };
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sets[s]->n; i++) {
            int row = (int)sets[s]->f32[2 * i];
            if (row < 0 || row >= 100)
                continue;
            seen[row]++;
            whole &= sets[s]->f32[2 * i + 1] == (float)-row && sets[s]->labels[i] == row % 3;
        }
    int once = 0;
    for (int i = 0; i < 100; i++)
        once += seen[i] == 1;
    CU_ASSERT_EQUAL(once, 100);
    CU_ASSERT(whole);

    /* Bad fractions leave the set as it was. */
    nn_dataset_free(&val);
    EXPECT_ERROR(nn_dataset_split(&train, &val, 0.0f, &rng), "fraction");
    EXPECT_ERROR(nn_dataset_split(&train, &val, 1.0f, &rng), "fraction");
    EXPECT_ERROR(nn_dataset_split(&train, &val, NAN, &rng), "fraction");
    EXPECT_ERROR(nn_dataset_split(&train, &val, 0.001f, &rng), "empty set");
    CU_ASSERT_EQUAL(train.n, 75);
    CU_ASSERT(all_zero(&val, sizeof val));
    nn_dataset_free(&train);
    EXPECT_ERROR(nn_dataset_split(&train, &val, 0.5f, &rng), "holds no rows");

    /* Same seed, same split. */
    nn_dataset a, av, b, bv;
    make_rows(&a);
    make_rows(&b);
    nn_rng_seed(&rng, 9);
    EXPECT_OK(nn_dataset_split(&a, &av, 0.1f, &rng));
    nn_rng_seed(&rng, 9);
    EXPECT_OK(nn_dataset_split(&b, &bv, 0.1f, &rng));
    CU_ASSERT_EQUAL(av.n, 10);
    CU_ASSERT(memcmp(av.f32, bv.f32, 20 * sizeof(float)) == 0);
    nn_dataset_free(&a);
    nn_dataset_free(&av);
    nn_dataset_free(&b);
    nn_dataset_free(&bv);
}

static void test_split_bytes(void)
{
    /* An image set splits its bytes and keeps its image shape. */
    nn_dataset ds = { 0 }, val;
    ds.n = 10;
    ds.dim = 4;
    ds.classes = 10;
    ds.channels = 1;
    ds.height = ds.width = 2;
    ds.u8 = malloc(40);
    ds.labels = malloc(10 * sizeof(int));
    for (int i = 0; i < 40; i++)
        ds.u8[i] = (uint8_t)(i / 4);
    for (int i = 0; i < 10; i++)
        ds.labels[i] = i;
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    EXPECT_OK(nn_dataset_split(&ds, &val, 0.3f, &rng));
    CU_ASSERT_EQUAL(val.n, 3);
    CU_ASSERT_EQUAL(ds.n, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(val.u8);
    CU_ASSERT_PTR_NULL(val.f32);
    CU_ASSERT(val.height == 2 && val.width == 2 && val.channels == 1);
    int ok = 1;
    for (int i = 0; i < val.n; i++)
        for (int j = 0; j < 4; j++)
            ok &= val.u8[4 * i + j] == val.labels[i];
    CU_ASSERT(ok);
    nn_dataset_free(&ds);
    nn_dataset_free(&val);
}

static void test_gather(void)
{
    nn_dataset ds = { 0 };
    uint8_t bytes[6] = { 0, 255, 51, 102, 1, 254 };
    int labels[3] = { 4, 5, 6 };
    ds.n = 3;
    ds.dim = 2;
    ds.u8 = bytes;
    ds.labels = labels;
    int idx[4] = { 2, 0, 1, 2 };
    float x[8];
    int y[4];
    nn_dataset_gather(x, y, &ds, idx, 4);
    const float want[8] = { 1 / 255.0f, 254 / 255.0f, 0, 1, 0.2f, 0.4f, 1 / 255.0f, 254 / 255.0f };
    TU_ASSERT_CLOSE(x, want, 8, 1e-6);
    CU_ASSERT(y[0] == 6 && y[1] == 4 && y[2] == 5 && y[3] == 6);
    CU_ASSERT(x[2] == 0.0f && x[3] == 1.0f); /* the ends are exact */

    /* Float features are copied as they are. */
    float f[6] = { 1.5f, -2, 3, 4, 5e6f, -6e-6f };
    ds.u8 = NULL;
    ds.f32 = f;
    nn_dataset_gather(x, y, &ds, idx, 2);
    const float wantf[4] = { 5e6f, -6e-6f, 1.5f, -2 };
    CU_ASSERT(memcmp(x, wantf, sizeof wantf) == 0);
}

void suite_data(void)
{
    CU_pSuite s = CU_add_suite("data", suite_init, suite_clean);
    CU_add_test(s, "idx: truncated header", test_idx_truncated_header);
    CU_add_test(s, "idx: wrong magic and element type", test_idx_wrong_magic_and_type);
    CU_add_test(s, "idx: dimension count 0 and 4", test_idx_dimension_count);
    CU_add_test(s, "idx: absurd dimensions", test_idx_absurd_dims);
    CU_add_test(s, "idx: payload size mismatch", test_idx_size_mismatch);
    CU_add_test(s, "idx: round trip, memory, plain and gzip", test_idx_round_trip);
    CU_add_test(s, "idx: missing, bad and truncated files", test_idx_read_errors);
    CU_add_test(s, "idx dir: tiny set loads", test_idx_dir_load);
    CU_add_test(s, "idx dir: counts, labels, missing files", test_idx_dir_errors);
    CU_add_test(s, "find: NNLAB_DATA, errors", test_find_dataset);
    CU_add_test(s, "fashion-mnist: real files when installed", test_fashion_mnist_real);
    CU_add_test(s, "mnist: real files when downloaded", test_mnist_real);
    CU_add_test(s, "csv: numeric and categorical columns", test_csv_numeric_and_categorical);
    CU_add_test(s, "csv: many categories", test_csv_many_categories);
    CU_add_test(s, "csv: ragged, empty, headless", test_csv_rejects);
    CU_add_test(s, "csv: numbers mixed with text", test_csv_mixed_column);
    CU_add_test(s, "csv: read plain and gzip files", test_csv_read_file);
    CU_add_test(s, "csv: table to data set", test_table_to_dataset);
    CU_add_test(s, "iris: 150 rows, 3 classes, 120/30 split", test_iris);
    CU_add_test(s, "synthetic: sizes and class balance", test_synthetic_sizes_and_balance);
    CU_add_test(s, "synthetic: same seed same points", test_synthetic_determinism);
    CU_add_test(s, "synthetic: labels mean what they say", test_synthetic_labels);
    CU_add_test(s, "synthetic: bad arguments", test_synthetic_errors);
    CU_add_test(s, "split: sizes, disjoint, seeded", test_split);
    CU_add_test(s, "split: image bytes", test_split_bytes);
    CU_add_test(s, "gather: bytes / 255 and floats", test_gather);
}
