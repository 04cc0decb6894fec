/*
 * Tests of checkpoint.c (safetensors) and plot.c (gnuplot).
 *
 * Files go to a fresh mkdtemp() directory, removed when the suite ends.
 * Interoperability is checked both ways without the Python safetensors
 * package (Debian does not ship it): a header written by hand here, as the
 * reference implementation lays it out, must parse; and a file we write must
 * be read back by a dozen lines of Python with only json, struct and numpy.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nnlab/checkpoint.h"
#include "nnlab/error.h"
#include "nnlab/plot.h"
#include "testutil.h"

#define TMP_TEMPLATE "/tmp/nnlab-test-checkpoint-XXXXXX"
static char tmp_dir[] = TMP_TEMPLATE;
static int have_tmp_dir;

/* A file name inside the suite's directory, in one of 16 static buffers
 * used in turn: valid for the next 15 calls. */
static const char *tmp_file(const char *name)
{
    static char paths[16][512];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

static int suite_init(void)
{
    strcpy(tmp_dir, TMP_TEMPLATE);   /* mkdtemp() overwrote the X's last time */
    have_tmp_dir = mkdtemp(tmp_dir) != NULL;
    return have_tmp_dir ? 0 : 1;
}

static int suite_clean(void)
{
    if (!have_tmp_dir)
        return 0;
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove(tmp_file(e->d_name));
    if (d)
        closedir(d);
    rmdir(tmp_dir);
    have_tmp_dir = 0;
    return 0;
}

static int write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t n = fwrite(buf, 1, len, fp);
    return fclose(fp) == 0 && n == len ? 0 : -1;
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Does the last error message contain word? Prints it when not. */
static int error_mentions(const char *word)
{
    if (strstr(nn_last_error(), word))
        return 1;
    fprintf(stderr, "\n  expected an error mentioning \"%s\", got \"%s\"\n", word, nn_last_error());
    return 0;
}

/* ================================================================ round trip */

/* A tensor filled with x[i] = i/4 - 3, exact in float and in numpy. */
static nn_st_tensor ramp(const char *name, int ndim, const int *shape)
{
    nn_st_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    if (nn_tensor_alloc(&t.t, ndim, shape) == NN_OK)
        for (size_t i = 0; i < t.t.size; i++)
            t.t.data[i] = (float)i * 0.25f - 3.0f;
    return t;
}

/* Four tensors of rank 1 to 4 and awkward metadata. */
enum { N_SAMPLE = 4 };
static nn_st_tensor sample[N_SAMPLE];
static nn_st_meta sample_meta[3];
static char meta_value_a[] = "12", meta_value_b[] = "quote \" backslash \\ tab \t newline \n é ✓",
            meta_value_c[] = "";

static nn_st_file make_sample(void)
{
    static const int s1[] = {5}, s2[] = {3, 4}, s3[] = {2, 1, 3}, s4[] = {2, 3, 2, 2};
    sample[0] = ramp("layers.0.bias", 1, s1);
    sample[1] = ramp("layers.0.weight", 2, s2);
    sample[2] = ramp("odd \"name\"\\é", 3, s3);
    sample[3] = ramp("conv.weight", 4, s4);
    /* Values whose bits a careless copy would change. */
    float *w = sample[3].t.data;
    w[0] = -0.0f;
    w[1] = FLT_MIN / 8;   /* subnormal */
    w[2] = FLT_MAX;
    w[3] = -INFINITY;
    w[4] = NAN;
    w[5] = 1.0f / 3.0f;
    snprintf(sample_meta[0].key, NN_NAME_MAX, "epoch");
    sample_meta[0].value = meta_value_a;
    snprintf(sample_meta[1].key, NN_NAME_MAX, "note");
    sample_meta[1].value = meta_value_b;
    snprintf(sample_meta[2].key, NN_NAME_MAX, "empty");
    sample_meta[2].value = meta_value_c;
    return (nn_st_file){N_SAMPLE, sample, 3, sample_meta};
}

static void free_sample(void)
{
    for (int i = 0; i < N_SAMPLE; i++)
        nn_tensor_free(&sample[i].t);
}

static void test_roundtrip(void)
{
    nn_st_file out = make_sample(), in;
    const char *path = tmp_file("roundtrip.safetensors");
    CU_ASSERT_EQUAL_FATAL(nn_st_write(path, &out), NN_OK);
    CU_ASSERT_FALSE(file_exists(tmp_file("roundtrip.safetensors.tmp")));
    CU_ASSERT_EQUAL_FATAL(nn_st_read(&in, path), NN_OK);
    CU_ASSERT_EQUAL(in.n_tensors, N_SAMPLE);
    for (int i = 0; i < N_SAMPLE && i < in.n_tensors; i++) {
        const nn_tensor *a = &out.tensors[i].t, *b = &in.tensors[i].t;
        CU_ASSERT_STRING_EQUAL(in.tensors[i].name, out.tensors[i].name);   /* order kept */
        CU_ASSERT_EQUAL(b->ndim, a->ndim);
        CU_ASSERT_EQUAL(memcmp(b->shape, a->shape, sizeof(int) * (size_t)a->ndim), 0);
        CU_ASSERT_EQUAL_FATAL(b->size, a->size);
        CU_ASSERT_EQUAL(memcmp(b->data, a->data, a->size * sizeof(float)), 0);   /* bit-identical */
    }
    CU_ASSERT_EQUAL(in.n_meta, 3);
    for (int i = 0; i < 3; i++) {
        const char *v = nn_st_meta_get(&in, sample_meta[i].key);
        CU_ASSERT_PTR_NOT_NULL(v);
        CU_ASSERT(v && strcmp(v, sample_meta[i].value) == 0);
    }
    CU_ASSERT_PTR_NOT_NULL(nn_st_find(&in, "conv.weight"));
    CU_ASSERT_PTR_NULL(nn_st_find(&in, "conv.bias"));
    CU_ASSERT_PTR_NULL(nn_st_meta_get(&in, "missing"));
    nn_st_free(&in);
    CU_ASSERT_EQUAL(in.n_tensors, 0);
    CU_ASSERT_PTR_NULL(in.tensors);
    nn_st_free(&in);   /* twice is safe */
    free_sample();
}

/* The layout the reference writes: header length a multiple of 8, padded
 * with spaces, data right after it. */
static void test_header_layout(void)
{
    static const int shape[] = {3};
    nn_st_tensor t = ramp("x", 1, shape);
    nn_st_file out = {1, &t, 0, NULL};
    const char *path = tmp_file("layout.safetensors");
    CU_ASSERT_EQUAL_FATAL(nn_st_write(path, &out), NN_OK);
    nn_tensor_free(&t.t);
    uint8_t buf[256];
    FILE *fp = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[i];
    CU_ASSERT_EQUAL(n % 8, 0);
    CU_ASSERT_EQUAL_FATAL(len, 8 + n + 12);
    const char *expect = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    CU_ASSERT_EQUAL(memcmp(buf + 8, expect, strlen(expect)), 0);
    for (size_t i = 8 + strlen(expect); i < 8 + n; i++)
        CU_ASSERT_EQUAL(buf[i], ' ');
}

/* ================================================================ foreign files */

/* Build [8-byte length][json][data] in memory. */
static uint8_t *build(const char *json, const void *data, size_t data_len, size_t *len)
{
    size_t n = strlen(json);
    *len = 8 + n + data_len;
    uint8_t *buf = calloc(1, *len);
    if (!buf)
        return NULL;
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> 8 * i);
    memcpy(buf + 8, json, n);
    if (data)
        memcpy(buf + 8 + n, data, data_len);
    return buf;
}

/* A header laid out as safetensors' own writer does (metadata first, no
 * spaces, names sorted, padded to 8 bytes), with literal little-endian
 * float bytes, independent of our writer. */
static void test_reference_layout(void)
{
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}"
                       "   ";
    static const uint8_t data[] = {
        0x00, 0x00, 0x80, 0x3f,  0x00, 0x00, 0x00, 0xc0,   /* bias: 1, -2 */
        0x00, 0x00, 0x00, 0x3f,  0x00, 0x00, 0x40, 0x40,   /* weight: 0.5, 3 */
        0x00, 0x00, 0x80, 0xbe,  0x00, 0x00, 0xc8, 0x42,   /* -0.25, 100 */
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0xc0, 0x3f,   /* 0, 1.5 */
    };
    static const float bias[] = {1, -2}, weight[] = {0.5f, 3, -0.25f, 100, 0, 1.5f};
    CU_ASSERT_EQUAL(strlen(json) % 8, 0);
    size_t len;
    uint8_t *buf = build(json, data, sizeof data, &len);
    nn_st_file f;
    CU_ASSERT_EQUAL_FATAL(nn_st_parse(&f, buf, len), NN_OK);
    free(buf);
    const nn_st_tensor *b = nn_st_find(&f, "bias"), *w = nn_st_find(&f, "weight");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT(b->t.ndim == 1 && b->t.shape[0] == 2 && b->t.size == 2);
    CU_ASSERT(w->t.ndim == 2 && w->t.shape[0] == 2 && w->t.shape[1] == 3 && w->t.size == 6);
    CU_ASSERT_EQUAL(memcmp(b->t.data, bias, sizeof bias), 0);
    CU_ASSERT_EQUAL(memcmp(w->t.data, weight, sizeof weight), 0);
    CU_ASSERT(nn_st_meta_get(&f, "format") && strcmp(nn_st_meta_get(&f, "format"), "pt") == 0);
    nn_st_free(&f);
}

/* Hand-edited JSON: whitespace, escapes, keys in another order, and the
 * header order unlike the data order. Tensors keep the header's order. */
static void test_json_variants(void)
{
    const char *json = "{\n  \"b\\u002e\\u00e9\\ud83d\\ude00\" : { \"data_offsets\" : [ 4 , 8 ],"
                       " \"shape\" : [ 1 ], \"dtype\" : \"F32\" } ,\n"
                       "  \"__metadata__\" : { \"k\\n\" : \"v\\\"\\\\\\/\\t\" },\n"
                       "  \"a\" : {\"dtype\":\"F32\",\"shape\":[1,1,1,1],\"data_offsets\":[0,4]}\n}\r\n";
    static const uint8_t data[] = {0x00, 0x00, 0xe0, 0x40, 0x00, 0x00, 0x00, 0xc1};   /* 7, -8 */
    size_t len;
    uint8_t *buf = build(json, data, sizeof data, &len);
    nn_st_file f;
    CU_ASSERT_EQUAL_FATAL(nn_st_parse(&f, buf, len), NN_OK);
    free(buf);
    CU_ASSERT_EQUAL_FATAL(f.n_tensors, 2);
    CU_ASSERT_STRING_EQUAL(f.tensors[0].name, "b.\xc3\xa9\xf0\x9f\x98\x80");
    CU_ASSERT_STRING_EQUAL(f.tensors[1].name, "a");
    CU_ASSERT_EQUAL(f.tensors[0].t.data[0], -8.0f);
    CU_ASSERT_EQUAL(f.tensors[1].t.data[0], 7.0f);
    CU_ASSERT_EQUAL(f.tensors[1].t.ndim, 4);
    CU_ASSERT(nn_st_meta_get(&f, "k\n") && strcmp(nn_st_meta_get(&f, "k\n"), "v\"\\/\t") == 0);
    nn_st_free(&f);

    /* No tensors at all is a valid, empty file. */
    buf = build("{}      ", NULL, 0, &len);
    CU_ASSERT_EQUAL(nn_st_parse(&f, buf, len), NN_OK);
    CU_ASSERT_EQUAL(f.n_tensors, 0);
    nn_st_free(&f);
    free(buf);
}

/* ================================================================ bad files */

/* nn_st_parse must refuse buf with a message containing word, and leave
 * the struct empty. */
static void expect_reject(const uint8_t *buf, size_t len, const char *word, const char *what)
{
    nn_st_file f;
    nn_clear_error();
    int rc = nn_st_parse(&f, buf, len);
    if (rc == NN_OK)
        fprintf(stderr, "\n  %s: accepted\n", what);
    CU_ASSERT_EQUAL(rc, NN_ERROR);
    CU_ASSERT(error_mentions(word));
    CU_ASSERT(f.n_tensors == 0 && f.tensors == NULL && f.n_meta == 0 && f.meta == NULL);
    if (rc == NN_OK)
        nn_st_free(&f);
}

/* Same for a JSON header followed by data_len zero bytes. */
static void expect_reject_json(const char *json, size_t data_len, const char *word)
{
    size_t len;
    uint8_t *buf = build(json, NULL, data_len, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    expect_reject(buf, len, word, json);
    free(buf);
}

#define T(shape, offsets) "{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" offsets "}"

static void test_reject_length(void)
{
    uint8_t buf[64] = {0};
    expect_reject(buf, 0, "short", "empty");
    expect_reject(buf, 7, "short", "7 bytes");
    buf[0] = 0xe8, buf[1] = 0x03;   /* 1000 > what follows */
    expect_reject(buf, sizeof buf, "beyond", "length past the end");
    memset(buf, 0xff, 8);           /* 2^64 - 1 */
    expect_reject(buf, sizeof buf, "100 MB", "absurd length");
    memset(buf, 0, 8);
    buf[3] = 0x08;                  /* 134 MB: above the limit, not absurd */
    expect_reject(buf, sizeof buf, "100 MB", "length over the limit");
}

static void test_reject_json(void)
{
    static const char *const bad[] = {
        "",                                              /* empty header */
        "[]",                                            /* not an object */
        "{\"a\":" T("[1]", "[0,4]"),                     /* unclosed */
        "{\"a\" " T("[1]", "[0,4]") "}",                 /* missing ':' */
        "{\"a\":" T("[1]", "[0,4]") ",}",                /* trailing comma */
        "{\"a\":" T("[1,]", "[0,4]") "}",
        "{\"a\":" T("[01]", "[0,4]") "}",                /* leading zero */
        "{\"a\":" T("[1.0]", "[0,4]") "}",               /* not an integer */
        "{\"a\":" T("[-1]", "[0,4]") "}",
        "{\"a\":" T("[1]", "[0,99999999999999999999]") "}",   /* > 2^64 */
        "{\"a",                                          /* unterminated string */
        "{\"a\\x\":" T("[1]", "[0,4]") "}",              /* bad escape */
        "{\"a\\u12\":" T("[1]", "[0,4]") "}",
        "{\"a\\ud800\":" T("[1]", "[0,4]") "}",          /* lone surrogate */
        "{\"a\\u0000\":" T("[1]", "[0,4]") "}",          /* NUL in a name */
        "{\"a\tb\":" T("[1]", "[0,4]") "}",              /* raw control char */
        "{\"a\":" T("[1]", "[0,4]") "} x",               /* text after the object */
        "{\"a\":" T("[1]", "[0,4]") "}{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject_json(bad[i], 4, "JSON");
}

static void test_reject_content(void)
{
    expect_reject_json("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype");
    expect_reject_json("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype");
    expect_reject_json("{\"a\":" T("[1,1,1,1,1]", "[0,4]") "}", 4, "5 dimensions");
    expect_reject_json("{\"a\":" T("[]", "[0,4]") "}", 4, "scalar");
    expect_reject_json("{\"a\":" T("[0]", "[0,0]") "}", 0, "dimension");
    expect_reject_json("{\"a\":" T("[3000000000]", "[0,4]") "}", 4, "dimension");
    expect_reject_json("{\"a\":" T("[2]", "[0,8]") "}", 4, "outside");
    expect_reject_json("{\"a\":" T("[1]", "[4,0]") "}", 4, "order");
    expect_reject_json("{\"a\":" T("[1]", "[0,4,8]") "}", 8, "data_offsets");
    expect_reject_json("{\"a\":" T("[2]", "[0,8]") ",\"b\":" T("[2]", "[4,12]") "}", 12, "overlap");
    expect_reject_json("{\"a\":" T("[1]", "[0,4]") ",\"b\":" T("[1]", "[0,4]") "}", 4, "overlap");
    expect_reject_json("{\"a\":" T("[3]", "[0,8]") "}", 8, "bytes");
    expect_reject_json("{\"a\":" T("[65536,65536,65536,65536]", "[0,4]") "}", 4, "too large");
    expect_reject_json("{\"a\":" T("[1]", "[0,4]") "}", 8, "trailing");
    expect_reject_json("{\"a\":" T("[1]", "[4,8]") "}", 8, "gap");
    expect_reject_json("{\"a\":" T("[1]", "[0,4]") ",\"a\":" T("[1]", "[4,8]") "}", 8, "duplicate");
    expect_reject_json("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing");
    expect_reject_json("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[0,4]}}", 4, "repeated");
    expect_reject_json("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                       "\"extra\":1}}", 4, "extra");
    expect_reject_json("{\"a\":[1]}", 4, "JSON");
    char long_name[200];   /* a 64-byte name: one more than NN_NAME_MAX allows */
    snprintf(long_name, sizeof long_name, "{\"%064d\":" T("[1]", "[0,4]") "}", 7);
    expect_reject_json(long_name, 4, "longer");
    expect_reject_json("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_reject_json("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "duplicate");
    expect_reject_json("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__");
    expect_reject_json("{\"__metadata__\":{\"k\":\"v\",\"x\":\"unterminated}}", 0, "JSON");
}

static void test_read_errors(void)
{
    nn_st_file f;
    const char *missing = tmp_file("missing.safetensors");
    CU_ASSERT_EQUAL(nn_st_read(&f, missing), NN_ERROR);
    CU_ASSERT(error_mentions(missing));
    CU_ASSERT_EQUAL(nn_st_read(&f, tmp_dir), NN_ERROR);
    CU_ASSERT(error_mentions("regular file"));

    /* A file cut short names the file and the problem. */
    const char *cut = tmp_file("cut.safetensors");
    size_t len;
    uint8_t *buf = build("{\"a\":" T("[4]", "[0,16]") "}", NULL, 16, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL(write_bytes(cut, buf, len - 5), 0);
    free(buf);
    CU_ASSERT_EQUAL(nn_st_read(&f, cut), NN_ERROR);
    CU_ASSERT(error_mentions(cut));
    CU_ASSERT(error_mentions("outside"));
}

static void test_write_errors(void)
{
    static const int shape[] = {2};
    nn_st_tensor t[2] = {ramp("same", 1, shape), ramp("same", 1, shape)};
    nn_st_file f = {2, t, 0, NULL};
    const char *path = tmp_file("bad.safetensors");
    CU_ASSERT_EQUAL(nn_st_write(path, &f), NN_ERROR);
    CU_ASSERT(error_mentions("duplicate"));
    snprintf(t[1].name, NN_NAME_MAX, "__metadata__");
    CU_ASSERT_EQUAL(nn_st_write(path, &f), NN_ERROR);
    CU_ASSERT(error_mentions("reserved"));
    snprintf(t[1].name, NN_NAME_MAX, "other");
    t[1].t.size = 3;
    CU_ASSERT_EQUAL(nn_st_write(path, &f), NN_ERROR);
    CU_ASSERT(error_mentions("shape"));
    t[1].t.size = 2;
    CU_ASSERT_FALSE(file_exists(path));

    /* Unwritable place: an error, and no stray .tmp left behind. */
    const char *nowhere = tmp_file("no/such/dir/x.safetensors");
    CU_ASSERT_EQUAL(nn_st_write(nowhere, &f), NN_ERROR);
    CU_ASSERT(error_mentions("cannot create"));

    /* Overwriting an existing checkpoint replaces it whole. */
    CU_ASSERT_EQUAL(nn_st_write(path, &f), NN_OK);
    f.n_tensors = 1;
    CU_ASSERT_EQUAL(nn_st_write(path, &f), NN_OK);
    nn_st_file in;
    CU_ASSERT_EQUAL_FATAL(nn_st_read(&in, path), NN_OK);
    CU_ASSERT_EQUAL(in.n_tensors, 1);
    nn_st_free(&in);
    nn_tensor_free(&t[0].t);
    nn_tensor_free(&t[1].t);
}

/* ================================================================ numpy */

/* A reader in plain Python (json, struct, numpy), checking our file the way
 * a numpy user would load it: exit status 0 when everything matches. */
static const char numpy_reader[] =
    "import json, struct, sys\n"
    "import numpy as np\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "(n,) = struct.unpack('<Q', raw[:8])\n"
    "assert n % 8 == 0, 'header not padded'\n"
    "header = json.loads(raw[8:8 + n])\n"
    "data = raw[8 + n:]\n"
    "meta = header.pop('__metadata__')\n"
    "assert meta == {'epoch': '12', 'note': 'quote \" backslash \\\\ tab \\t newline \\n \\u00e9 \\u2713',"
    " 'empty': ''}, meta\n"
    "assert list(header) == ['layers.0.bias', 'layers.0.weight', 'odd \"name\"\\\\\\u00e9', 'conv.weight']\n"
    "end = 0\n"
    "for name, info in header.items():\n"
    "    assert info['dtype'] == 'F32'\n"
    "    b, e = info['data_offsets']\n"
    "    assert b == end, 'not contiguous'\n"
    "    end = e\n"
    "    x = np.frombuffer(data[b:e], dtype='<f4').reshape(info['shape'])\n"
    "    want = (np.arange(x.size, dtype=np.float32) * np.float32(0.25) - np.float32(3)).reshape(x.shape)\n"
    "    if name == 'conv.weight':\n"
    "        flat = x.reshape(-1)\n"
    "        assert np.signbit(flat[0]) and flat[0] == 0 and flat[1] == np.finfo(np.float32).tiny / 8\n"
    "        assert flat[2] == np.finfo(np.float32).max and flat[3] == -np.inf and np.isnan(flat[4])\n"
    "        assert flat[5] == np.float32(1) / np.float32(3)\n"
    "        x, want = flat[6:], want.reshape(-1)[6:]\n"
    "    assert np.array_equal(x, want), name\n"
    "assert end == len(data), 'trailing data'\n";

static void test_numpy_reads_ours(void)
{
    if (access("/usr/bin/python3", X_OK) != 0) {
        CU_PASS("skipped: no /usr/bin/python3");
        return;
    }
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        CU_PASS("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    const char *script = tmp_file("reader.py"), *path = tmp_file("for_numpy.safetensors");
    CU_ASSERT_EQUAL_FATAL(write_bytes(script, numpy_reader, strlen(numpy_reader)), 0);
    nn_st_file f = make_sample();
    CU_ASSERT_EQUAL_FATAL(nn_st_write(path, &f), NN_OK);
    free_sample();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, path);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* ================================================================ plots */

static const char *write_log(const char *name, const char *text)
{
    const char *path = tmp_file(name);
    return write_bytes(path, text, strlen(text)) == 0 ? path : NULL;
}

static const char sample_log[] =
    "epoch,train_loss,train_acc,val_loss,val_acc,lr\n"
    "1,2.30,0.10,2.25,0.12,0.1\n"
    "2,1.20,0.55,1.30,0.52,0.1\n"
    "3,0.80,0.71,0.95,0.66,0.1\n"
    "4,0.60,0.79,0.85,0.72,0.05\n"
    "5,0.50,0.83,0.82,0.74,0.05\n";

/* Run f(arg) with file descriptor fd sent to path. */
static int redirected(int fd, const char *path, int (*f)(const void *), const void *arg)
{
    fflush(fd == 1 ? stdout : stderr);
    int saved = dup(fd), to = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved < 0 || to < 0)
        return -2;
    dup2(to, fd);
    close(to);
    int rc = f(arg);
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    return rc;
}

static void test_plot_png(void)
{
    if (!nn_have_gnuplot()) {
        CU_PASS("skipped: gnuplot is not installed");
        return;
    }
    const char *csv = write_log("log.csv", sample_log), *png = tmp_file("log.png");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT_EQUAL_FATAL(nn_plot_log(csv, png, 0), NN_OK);
    uint8_t head[8] = {0};
    FILE *fp = fopen(png, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    size_t n = fread(head, 1, sizeof head, fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(memcmp(head, "\x89PNG\r\n\x1a\n", 8), 0);
    CU_ASSERT(size > 1000);
}

static int plot_ascii(const void *csv)
{
    return nn_plot_log(csv, NULL, 1);
}

static void test_plot_ascii(void)
{
    if (!nn_have_gnuplot()) {
        CU_PASS("skipped: gnuplot is not installed");
        return;
    }
    const char *csv = write_log("ascii.csv", sample_log), *out = tmp_file("ascii.txt");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT_EQUAL(redirected(1, out, plot_ascii, csv), NN_OK);
    char text[8192] = "";
    FILE *fp = fopen(out, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    text[fread(text, 1, sizeof text - 1, fp)] = '\0';
    fclose(fp);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "train_loss"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "val_loss"));
    CU_ASSERT_PTR_NULL(strstr(text, "train_acc"));   /* loss only in text */

    /* A run without validation logs nan there: no val_loss line drawn. */
    csv = write_log("noval.csv", "epoch,train_loss,val_loss\n1,0.9,nan\n2,0.5,nan\n");
    CU_ASSERT_EQUAL(redirected(1, out, plot_ascii, csv), NN_OK);
    fp = fopen(out, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    text[fread(text, 1, sizeof text - 1, fp)] = '\0';
    fclose(fp);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "train_loss"));
    CU_ASSERT_PTR_NULL(strstr(text, "val_loss"));
}

static int run_bad_script(const void *unused)
{
    (void)unused;
    return nn_gnuplot("this is not a gnuplot command\n");
}

static void test_plot_errors(void)
{
    const char *missing = tmp_file("missing.csv");
    CU_ASSERT_EQUAL(nn_plot_log(missing, tmp_file("x.png"), 0), NN_ERROR);
    CU_ASSERT(error_mentions("cannot open training log"));
    CU_ASSERT(error_mentions(missing));
    CU_ASSERT_FALSE(file_exists(tmp_file("x.png")));

    const char *quoted = write_log("it's.csv", sample_log);
    CU_ASSERT_EQUAL(nn_plot_log(quoted, NULL, 1), NN_ERROR);
    CU_ASSERT(error_mentions("quote"));
    const char *csv = write_log("ok.csv", sample_log);
    CU_ASSERT_EQUAL(nn_plot_log(csv, tmp_file("a\nb.png"), 0), NN_ERROR);
    CU_ASSERT(error_mentions("newline"));

    CU_ASSERT_EQUAL(nn_plot_log(write_log("nocols.csv", "epoch,lr\n1,0.1\n"), NULL, 1), NN_ERROR);
    CU_ASSERT(error_mentions("loss"));
    CU_ASSERT_EQUAL(nn_plot_log(write_log("allnan.csv", "epoch,loss\n1,nan\n"), NULL, 1), NN_ERROR);
    CU_ASSERT(error_mentions("finite"));
    CU_ASSERT_EQUAL(nn_plot_log(write_log("norows.csv", "epoch,loss\n"), NULL, 1), NN_ERROR);
    CU_ASSERT(error_mentions("no data rows"));
    CU_ASSERT_EQUAL(nn_plot_log(write_log("empty.csv", ""), NULL, 1), NN_ERROR);
    CU_ASSERT(error_mentions("empty"));

    if (!nn_have_gnuplot())
        return;
    CU_ASSERT_EQUAL(nn_plot_log(csv, tmp_file("no/such/dir/x.png"), 0), NN_ERROR);
    CU_ASSERT(error_mentions("cannot write"));
    /* gnuplot's complaint goes to stderr: keep the test output clean. */
    CU_ASSERT_EQUAL(redirected(2, tmp_file("gnuplot.err"), run_bad_script, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("exit status"));
    CU_ASSERT_EQUAL(nn_gnuplot("set terminal dumb\nset output '/dev/null'\nplot x\n"), NN_OK);
}

void suite_checkpoint(void)
{
    CU_pSuite s = CU_add_suite("checkpoint", suite_init, suite_clean);
    CU_add_test(s, "write then read: bit-identical tensors, names, metadata", test_roundtrip);
    CU_add_test(s, "header padded with spaces to 8 bytes", test_header_layout);
    CU_add_test(s, "hand-written reference-layout file parses", test_reference_layout);
    CU_add_test(s, "whitespace, escapes, key and data order", test_json_variants);
    CU_add_test(s, "rejects bad lengths", test_reject_length);
    CU_add_test(s, "rejects malformed JSON", test_reject_json);
    CU_add_test(s, "rejects bad dtype, shape, offsets, layout", test_reject_content);
    CU_add_test(s, "read errors name the file", test_read_errors);
    CU_add_test(s, "write refuses bad input, leaves no .tmp", test_write_errors);
    CU_add_test(s, "numpy reads what we write", test_numpy_reads_ours);

    CU_pSuite p = CU_add_suite("plot", suite_init, suite_clean);
    CU_add_test(p, "training log to PNG", test_plot_png);
    CU_add_test(p, "training log as text (dumb)", test_plot_ascii);
    CU_add_test(p, "plot errors", test_plot_errors);
}
