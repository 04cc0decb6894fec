/*
 * The nnlab test runner: main() of every lab's test binary (DESIGN.md
 * section 4). It is linked with the lab's test tables (grader.h), the
 * student's module and the rest of the reference library:
 *
 *   tests --out DIR [--lab NAME] [--student FILE]... [--stub FILE]...
 *         [--only TEST] [--list] [--compile-error LOG] [--time-scale X]
 *
 * Student code is untrusted: it may crash, hang, exit(0), fork without
 * end, print megabytes, allocate gigabytes or call CUnit itself. So every
 * test runs in a child process of its own, with
 *
 *   - its own process group, killed whole after the test (and a sweep of
 *     any daemon that escaped the group: this process is a "subreaper", so
 *     orphans are re-parented here and can be found);
 *   - a wall-clock limit watched by this process, and CPU-time,
 *     address-space, file-size, process-count and core-size limits
 *     (setrlimit) the kernel enforces;
 *   - user `nobody` when the grader runs as root: the process-count limit
 *     is per user and root ignores it, and nobody cannot signal the grader;
 *   - stdin from /dev/null and stdout/stderr into a pipe that this process
 *     reads, keeping the first and last few KB and killing the test past
 *     10 MB;
 *   - the verdict sent back on a private pipe (fd 1000 or above), as a
 *     record that carries a random nonce chosen here for that one test and
 *     the child's pid. Nothing else counts: not the exit status, not the
 *     output, not a forged record (it cannot know the nonce).
 *
 * A test that misbehaves costs that test only. results.json is rewritten
 * after every test (atomically), so it is valid even if the grader itself
 * is killed half-way.
 *
 * The isolation stops accidents and the usual tricks; it is not a sandbox
 * against a student who reads the runner's memory to find the nonce (the
 * test runs in the same process as the check). Hidden tests and reading
 * the code remain the instructor's tools for that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* prctl, pipe2, close_range, wait4, setgroups, memmem */
#endif
#include "runner_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nnlab/blas.h"

/* The tables are weak: a test binary may link any of them, or none
 * (--compile-error without tests still reports "compiles"). Their
 * objects must be linked directly, not from an archive: a weak reference
 * does not pull a member out of a .a. */
extern const gr_test gr_public_tests[] __attribute__((weak));
extern const gr_test gr_hidden_tests[] __attribute__((weak));
extern const gr_test gr_extra_tests[] __attribute__((weak));

/* Present only when AddressSanitizer is linked in: it needs terabytes of
 * address space (no RLIMIT_AS) and reports faults itself. */
extern void __asan_init(void) __attribute__((weak));

/* Defined by a lab's tables whose tests start the CUDA runtime (lab 8): it
 * reserves tens of GB of address space, so RLIMIT_AS would stop it. */
extern const int gr_unlimited_address_space __attribute__((weak));

/* ------------------------------------------------------------ limits */

enum {
    MEM_LIMIT_MB = 2048,      /* RLIMIT_AS: a huge malloc returns NULL */
    FILE_LIMIT_MB = 16,       /* RLIMIT_FSIZE: CSV logs are a few KB */
    NPROC_EXTRA = 32,         /* processes a test may add to its user's count */
    OUT_HEAD = 32 << 10,      /* output kept: the first 32 KB ...      */
    OUT_TAIL = 16 << 10,      /* ... and the last 16 KB                */
    OUT_KILL = 10 << 20,      /* more than 10 MB of output: killed     */
    REPORT_FD = 1000,         /* the report pipe moves at or above this */
    REC_MAX = 4000,           /* a record fits one atomic pipe write (PIPE_BUF) */
    MAX_TESTS = 3000,
    MAX_PAIRS = 16,
    EXIT_NO_CHANNEL = 121,    /* the child could not write its record */
    COMPILE_LOG_MAX = 4096,
};
static const uid_t NOBODY = 65534; /* nobody / nogroup on Debian and most systems */

/* ------------------------------------------------------------ options */

typedef struct {
    const char *out, *lab, *only, *compile_log;
    char *student[MAX_PAIRS], *stub[MAX_PAIRS];
    int n_student, n_stub, list;
    double time_scale;
} options;

static void usage(FILE *f)
{
    fputs("usage: tests --out DIR [--lab NAME] [--student FILE]... [--stub FILE]...\n"
          "             [--only TEST] [--list] [--compile-error LOGFILE] [--time-scale X]\n"
          "Runs each test of this lab in its own limited process and writes\n"
          "DIR/results.json (Gradescope), summary.txt, table.html and statuses.txt.\n"
          "Exit status: 0 all passed, 1 some did not, 2 usage error, 3 cannot write DIR.\n",
          f);
}

/* The value of an option, or NULL (with a message) when it is missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "tests: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int add_file(char **list, int *n, const char *file, const char *opt)
{
    if (*n >= MAX_PAIRS) {
        fprintf(stderr, "tests: at most %d %s files\n", MAX_PAIRS, opt);
        return -1;
    }
    list[(*n)++] = (char *)file;
    return 0;
}

/* One option; returns 0, or -1 on a usage error. */
static int parse_one(int argc, char **argv, int *i, options *o)
{
    const char *a = argv[*i], *v;
    if (strcmp(a, "--list") == 0) {
        o->list = 1;
        return 0;
    }
    if (!(v = option_value(argc, argv, i)))
        return -1;
    if (strcmp(a, "--out") == 0)
        o->out = v;
    else if (strcmp(a, "--lab") == 0)
        o->lab = v;
    else if (strcmp(a, "--only") == 0)
        o->only = v;
    else if (strcmp(a, "--compile-error") == 0)
        o->compile_log = v;
    else if (strcmp(a, "--student") == 0)
        return add_file(o->student, &o->n_student, v, a);
    else if (strcmp(a, "--stub") == 0)
        return add_file(o->stub, &o->n_stub, v, a);
    else if (strcmp(a, "--time-scale") == 0) {
        char *end;
        o->time_scale = strtod(v, &end);
        if (*end || !(o->time_scale > 0 && o->time_scale < 1000)) {
            fprintf(stderr, "tests: --time-scale wants a number > 0, not '%s'\n", v);
            return -1;
        }
    } else {
        *i -= 1;
        fprintf(stderr, "tests: unknown option '%s'\n", a);
        return -1;
    }
    return 0;
}

/* Returns 0 to go on, 1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.time_scale = 1.0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (parse_one(argc, argv, &i, o) != 0) {
            usage(stderr);
            return 2;
        }
    }
    if (o->n_student != o->n_stub) {
        fprintf(stderr, "tests: --student and --stub come in pairs (%d and %d given)\n",
                o->n_student, o->n_stub);
        return 2;
    }
    if (!o->out && !o->list) {
        fprintf(stderr, "tests: --out DIR is required\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------ the tests */

/* Fill run->r with the tests of every linked table (public ones visible,
 * hidden and extra ones hidden), or the one named by --only. Slot 0 is
 * left free for the "compiles" pseudo-test of --compile-error. */
static int collect_tests(gr_run *run, const options *o, gr_result **base)
{
    const gr_test *tables[3] = {gr_public_tests, gr_hidden_tests, gr_extra_tests};
    *base = calloc(MAX_TESTS + 1, sizeof **base);
    if (!*base)
        return -1;
    gr_result *slot = *base + 1;
    for (int k = 0; k < 3; k++)
        for (const gr_test *t = tables[k]; t && t->name && run->n < MAX_TESTS; t++) {
            if (o->only && strcmp(o->only, t->name) != 0)
                continue;
            double limit = (t->seconds > 0 ? t->seconds : 10.0) * o->time_scale;
            slot[run->n++] = (gr_result){.test = t, .name = t->name, .hidden = k > 0,
                                         .points = t->points, .limit = limit};
        }
    run->r = slot; /* run->r[-1] is the spare slot */
    if (o->only && run->n == 0) {
        fprintf(stderr, "tests: no test named '%s' (--list shows them)\n", o->only);
        return -1;
    }
    return 0;
}

/* Free the results. Only SANITIZE builds care: LeakSanitizer would
 * otherwise report them when the runner exits, and change its status. */
static void free_run(gr_run *run, gr_result *base)
{
    for (int i = 0; i < run->n; i++) {
        free(run->r[i].message);
        free(run->r[i].hint);
        free(run->r[i].output);
    }
    free(base);
}

static void list_tests(const gr_run *run)
{
    for (int i = 0; i < run->n; i++)
        printf("%s\t%d\t%s\t%g\n", run->r[i].name, run->r[i].points,
               run->r[i].hidden ? "hidden" : "visible", run->r[i].limit);
}

static void set_status(gr_result *r, gr_outcome o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void set_status(gr_result *r, gr_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->status, sizeof r->status, fmt, ap);
    va_end(ap);
    r->outcome = o;
    r->score = o == GR_PASSED ? r->points : 0;
    if (o == GR_SKIPPED || o == GR_NOT_RUN)
        r->points = 0; /* not counted in the possible total */
}

/* ------------------------------------------------------------ small helpers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 32 hex digits from the kernel's random source (a clock-and-pid mix if
 * that fails, which only makes the nonce guessable, not the run wrong). */
static void make_nonce(char out[33])
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        uint64_t x = (uint64_t)(now() * 1e9) ^ ((uint64_t)getpid() << 32);
        for (int i = 0; i < 16; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(x >> 56);
        }
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return -1;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Tasks (threads included) whose real uid is uid: what RLIMIT_NPROC
 * counts. -1 when /proc cannot be read. */
static long count_tasks(uid_t uid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    long total = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long real_uid = -1, threads = 1;
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "Uid:", 4) == 0)
                real_uid = strtol(line + 4, NULL, 10);
            else if (strncmp(line, "Threads:", 8) == 0)
                threads = strtol(line + 8, NULL, 10);
        }
        fclose(f);
        if (real_uid == (long)uid)
            total += threads;
    }
    closedir(d);
    return total;
}

/* ======================================================================
 * The child: one test, isolated
 * ====================================================================== */

/* Where a fatal fault happened, classified by the child's signal handler
 * into a page shared with the parent (the child dies right after). */
enum { CRASH_NONE, CRASH_OTHER, CRASH_NULL, CRASH_STACK, CRASH_MEMORY };
typedef struct {
    volatile sig_atomic_t kind;
    volatile uintptr_t addr;
} crash_note;
static crash_note *crash; /* MAP_SHARED, set up once in main */

/* What the child needs to report: set in the parent just before fork. */
static struct {
    int fd;            /* write end of the report pipe, -1 outside a test */
    char nonce[33];
    uintptr_t stack_top;
    size_t stack_size;
} child = {-1, "", 0, 0};

/* Limits for one test, computed in the parent. */
typedef struct {
    rlim_t cpu_seconds, nproc;
    int drop_to_nobody;
} limits;

enum { REC_PASSED, REC_FAILED, REC_SKIPPED, REC_TAMPERED };

/* The record: one line of numbers, three length-prefixed texts, and the
 * nonce again at the end so a truncated record never parses.
 *   GR1 <nonce> <pid> <verdict> <asserts> <failed> <line>\n
 *   <len> <file>\n<len> <text>\n<len> <hint>\nEND <nonce>\n            */
static void send_record(int verdict, unsigned asserts, unsigned failed, const char *file,
                        unsigned line, const char *text, const char *hint)
{
    char rec[REC_MAX];
    size_t fl = file ? strnlen(file, 300) : 0, tl = text ? strnlen(text, 1500) : 0;
    size_t hl = hint ? strnlen(hint, 1000) : 0;
    int n = snprintf(rec, sizeof rec, "GR1 %s %ld %d %u %u %u\n%zu %.*s\n%zu %.*s\n%zu %.*s\nEND %s\n",
                     child.nonce, (long)getpid(), verdict, asserts, failed, line, fl, (int)fl,
                     file ? file : "", tl, (int)tl, text ? text : "", hl, (int)hl,
                     hint ? hint : "", child.nonce);
    /* One write: pipe writes up to PIPE_BUF bytes are never interleaved
     * with what other processes write to the same pipe. */
    if (n <= 0 || n >= (int)sizeof rec || write(child.fd, rec, (size_t)n) != n)
        _exit(EXIT_NO_CHANNEL);
}

void gr_skip(const char *fmt, ...)
{
    char reason[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    if (child.fd < 0) {
        fprintf(stderr, "skipped: %s\n", reason);
        _exit(0);
    }
    send_record(REC_SKIPPED, 0, 0, "", 0, reason, "");
    _exit(0);
}

/* The test function, called through a wrapper that first makes one
 * passing "canary" assertion: if the count of assertions is 0 at the end,
 * student code cleared CUnit's results (CU_clear_previous_results, or a
 * registry cleaned up and made again) and may have hidden failures. */
static void (*test_function)(void);

static void run_with_canary(void)
{
    CU_assertImplementation(CU_TRUE, 0, "grader canary", "grader", "", CU_FALSE);
    test_function();
}

/* Whether CUnit still holds exactly the registry, suite and test made
 * here, with the canary counted. */
static int cunit_intact(CU_pTestRegistry registry, CU_pSuite suite, CU_pTest test)
{
    return CU_registry_initialized() && CU_get_registry() == registry &&
           registry->uiNumberOfSuites == 1 && registry->pSuite == suite &&
           suite->uiNumberOfTests == 1 && suite->pTest == test &&
           CU_get_run_summary()->nAsserts >= 1 && CU_get_run_summary()->nTestsRun == 1;
}

/* Run the test under CUnit, then report. */
static void run_in_cunit(const gr_test *t)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        send_record(REC_TAMPERED, 0, 0, "", 0, "grader: CUnit could not start", "");
        return;
    }
    CU_pTestRegistry registry = CU_get_registry();
    CU_pSuite suite = CU_add_suite("nnlab", NULL, NULL);
    CU_pTest test = suite ? CU_add_test(suite, t->name, run_with_canary) : NULL;
    if (!test) {
        send_record(REC_TAMPERED, 0, 0, "", 0, "grader: CUnit could not register the test", "");
        return;
    }
    test_function = t->run;
    CU_ErrorCode rc = CU_run_test(suite, test);
    fflush(stdout);
    fflush(stderr);
    if (rc != CUE_SUCCESS || !cunit_intact(registry, suite, test)) {
        send_record(REC_TAMPERED, 0, 0, "", 0,
                    "the test changed CUnit's state (did the code call CU_cleanup_registry, "
                    "CU_initialize_registry or CU_clear_previous_results?)", "");
        return;
    }
    const CU_RunSummary *s = CU_get_run_summary();
    const CU_FailureRecord *f = CU_get_failure_list();
    unsigned failed = s->nAssertsFailed + (f && !s->nAssertsFailed);
    send_record(failed || s->nTestsFailed ? REC_FAILED : REC_PASSED, s->nAsserts - 1, failed,
                f ? f->strFileName : "", f ? f->uiLineNumber : 0, f ? f->strCondition : "",
                gr_hint_text());
}

/* Whether 64 MB of address space can still be mapped (called from the
 * fault handler: mmap and munmap are plain system calls). */
static int address_space_left(void)
{
    size_t size = (size_t)64 << 20;
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    munmap(p, size);
    return 1;
}

/* SIGSEGV/SIGBUS: note what kind of fault it was, then die of the same
 * signal. Runs on an alternate stack, so a stack overflow is named too. */
static void on_fault(int sig, siginfo_t *si, void *context)
{
    (void)context;
    if (crash && si->si_code > 0) { /* a real fault, not kill() */
        uintptr_t a = (uintptr_t)si->si_addr, top = child.stack_top;
        crash->addr = a;
        if (a < 65536)
            crash->kind = address_space_left() ? CRASH_NULL : CRASH_MEMORY;
        else if (a < top && top - a < child.stack_size + ((size_t)1 << 20))
            crash->kind = CRASH_STACK;
        else
            crash->kind = CRASH_OTHER;
    }
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

static void install_fault_handler(void)
{
    static char altstack[64 << 10];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaltstack(&ss, NULL) != 0)
        return;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* The VmData of this process in bytes (private writable mappings: what
 * RLIMIT_DATA counts), or 0 when /proc cannot tell. */
static rlim_t data_in_use(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmData:", 7) == 0)
            kb = strtoull(line + 7, NULL, 10);
    if (f)
        fclose(f);
    return (rlim_t)kb * 1024;
}

/* Lower a limit (never above the hard limit we were given). */
static void set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && hard > rl.rlim_max)
        hard = rl.rlim_max;
    rl.rlim_cur = soft < hard ? soft : hard;
    rl.rlim_max = hard;
    setrlimit(resource, &rl);
}

static void apply_limits(const limits *lim)
{
    /* CPU: SIGXCPU at the soft limit, SIGKILL a second later. */
    set_limit(RLIMIT_CPU, lim->cpu_seconds, lim->cpu_seconds + 1);
    rlim_t mem = (rlim_t)MEM_LIMIT_MB << 20, data;
    if (!__asan_init && !&gr_unlimited_address_space)
        set_limit(RLIMIT_AS, mem, mem);
    else if ((data = data_in_use()) > 0) {
        /* AddressSanitizer's shadow memory reserves terabytes, so no
         * RLIMIT_AS: bound what the test adds to what is mapped already. */
        set_limit(RLIMIT_DATA, data + mem, data + mem);
    }
    set_limit(RLIMIT_FSIZE, (rlim_t)FILE_LIMIT_MB << 20, (rlim_t)FILE_LIMIT_MB << 20);
    set_limit(RLIMIT_CORE, 0, 0);
    if (lim->nproc)
        set_limit(RLIMIT_NPROC, lim->nproc, lim->nproc);
    /* A finite stack, so the fault handler can tell an overflow. */
    struct rlimit st;
    if (getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur == RLIM_INFINITY)
        set_limit(RLIMIT_STACK, (rlim_t)64 << 20, st.rlim_max);
    child.stack_size = getrlimit(RLIMIT_STACK, &st) == 0 ? (size_t)st.rlim_cur : (size_t)8 << 20;
}

/* As root, become nobody: RLIMIT_NPROC then binds (root ignores it), and
 * the test can no longer signal the grader or write the grader's files. */
static void drop_privileges(const limits *lim)
{
    if (!lim->drop_to_nobody)
        return;
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
        fprintf(stderr, "grader: note: cannot switch to user nobody (%s); the process "
                        "limit does not apply\n", strerror(errno));
    else if (access(".", R_OK | X_OK) != 0)
        fprintf(stderr, "grader: note: tests run as user nobody, who cannot read the current "
                        "folder: files there (data sets) will not open\n");
}

/* Report fd to REPORT_FD or above; stdin from /dev/null; stdout and
 * stderr into the output pipe; every other inherited descriptor closed. */
static void wire_descriptors(int out_w, int rep_w)
{
    int fd = fcntl(rep_w, F_DUPFD_CLOEXEC, REPORT_FD);
    if (fd >= 0)
        close(rep_w);
    else
        fd = rep_w; /* a low RLIMIT_NOFILE: keep it where it is */
    child.fd = fd;
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0 && null != 0) {
        dup2(null, 0);
        close(null);
    } else if (null < 0)
        close(0);
    dup2(out_w, 1);
    dup2(out_w, 2);
    if (out_w > 2)
        close(out_w);
    if (fd > 3)
        close_range(3, (unsigned)fd - 1, 0);
    close_range((unsigned)fd + 1, ~0U, 0);
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines printed before a crash get out */
}

static void reset_signals(void)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
}

static _Noreturn void child_main(const gr_test *t, int out_w, int rep_w, const limits *lim,
                                 pid_t parent)
{
    int here;
    child.stack_top = (uintptr_t)&here;
    setpgid(0, 0);
    reset_signals();
    wire_descriptors(out_w, rep_w);
    apply_limits(lim);
    drop_privileges(lim);
    /* Die with the grader (set after the uid change, which clears it). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    if (!__asan_init)
        install_fault_handler();
    run_in_cunit(t);
    _exit(0);
}

/* ======================================================================
 * The parent: watch, collect, clean up, decide
 * ====================================================================== */

/* What came back from the child's two pipes. */
typedef struct {
    int out_fd, rep_fd;          /* read ends, -1 once at end of file */
    char head[OUT_HEAD], tail[OUT_TAIL];
    size_t head_len, total;      /* total: every byte of output read */
    char rep[4 * REC_MAX];       /* report bytes not yet parsed */
    size_t rep_len;
    const char *nonce;
    pid_t pid;
    int have_record;
    struct {
        int verdict;
        unsigned asserts, failed, line;
        char file[301], text[1501], hint[1001];
    } rec;
} channel;

/* Keep the first OUT_HEAD bytes and a ring of the last OUT_TAIL. */
static void keep_output(channel *c, const char *s, size_t n)
{
    size_t take = n < OUT_HEAD - c->head_len ? n : OUT_HEAD - c->head_len;
    memcpy(c->head + c->head_len, s, take);
    c->head_len += take;
    /* Byte i is byte (total + i − head_len) of the part past the head. */
    for (size_t i = take; i < n; i++)
        c->tail[(c->total + i - c->head_len) % OUT_TAIL] = s[i];
    c->total += n;
}

/* The kept output as one string: head, a gap note, tail in order. */
static char *output_text(const channel *c, size_t *len)
{
    size_t in_tail = c->total - c->head_len, shown = in_tail < OUT_TAIL ? in_tail : OUT_TAIL;
    gr_buf b = {0};
    buf_add(&b, c->head, c->head_len);
    if (in_tail > shown)
        buf_printf(&b, "\n[... %zu bytes not kept ...]\n", in_tail - shown);
    for (size_t i = in_tail - shown; i < in_tail; i++)
        buf_add(&b, &c->tail[i % OUT_TAIL], 1);
    if (b.oom)
        buf_free(&b);
    *len = b.len;
    return b.p;
}

/* Read one length-prefixed text "<len> <bytes>\n" at *p. */
static int read_field(const char **p, const char *end, char *out, size_t cap)
{
    char *after;
    unsigned long n = strtoul(*p, &after, 10);
    if (after == *p || *after != ' ' || n >= cap || (size_t)(end - after) < n + 2 ||
        after[1 + n] != '\n')
        return -1;
    memcpy(out, after + 1, n);
    out[n] = '\0';
    *p = after + n + 2;
    return 0;
}

/* Look for the record with this test's nonce and pid among whatever else
 * was written to the report pipe (student code can write there too). */
static void parse_record(channel *c)
{
    char key[40], tmp[REC_MAX + 1];
    snprintf(key, sizeof key, "GR1 %s ", c->nonce);
    const char *at = memmem(c->rep, c->rep_len, key, strlen(key));
    if (!at)
        return;
    size_t n = (size_t)(c->rep + c->rep_len - at);
    n = n < REC_MAX ? n : REC_MAX;
    memcpy(tmp, at, n);
    tmp[n] = '\0';
    const char *p = tmp + strlen(key), *end = tmp + n;
    long pid;
    int used = 0;
    if (sscanf(p, "%ld %d %u %u %u\n%n", &pid, &c->rec.verdict, &c->rec.asserts, &c->rec.failed,
               &c->rec.line, &used) != 5 || used == 0 || pid != (long)c->pid)
        return;
    p += used;
    if (read_field(&p, end, c->rec.file, sizeof c->rec.file) ||
        read_field(&p, end, c->rec.text, sizeof c->rec.text) ||
        read_field(&p, end, c->rec.hint, sizeof c->rec.hint))
        return;
    snprintf(key, sizeof key, "END %s\n", c->nonce);
    c->have_record = (size_t)(end - p) >= strlen(key) && memcmp(p, key, strlen(key)) == 0;
}

static void keep_report(channel *c, const char *s, size_t n)
{
    if (c->have_record)
        return; /* anything after our record is noise */
    while (n > 0) {
        size_t room = sizeof c->rep - c->rep_len, take = n < room ? n : room;
        memcpy(c->rep + c->rep_len, s, take);
        c->rep_len += take;
        s += take;
        n -= take;
        if (c->rep_len == sizeof c->rep) {
            /* Full of noise: look for the record, then keep only the last
             * REC_MAX bytes, which hold the start of any record not yet
             * complete (a record is one write of at most REC_MAX bytes). */
            parse_record(c);
            if (c->have_record)
                return;
            memmove(c->rep, c->rep + c->rep_len - REC_MAX, REC_MAX);
            c->rep_len = REC_MAX;
        }
    }
}

/* Read what is ready on the pipes, waiting at most timeout_ms. */
static void pump(channel *c, int timeout_ms)
{
    struct pollfd p[2];
    int n = 0;
    if (c->out_fd >= 0)
        p[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
    if (c->rep_fd >= 0)
        p[n++] = (struct pollfd){.fd = c->rep_fd, .events = POLLIN};
    if (n == 0) {
        sleep_ms(timeout_ms);
        return;
    }
    if (poll(p, (nfds_t)n, timeout_ms) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char buf[65536];
        ssize_t got = read(p[i].fd, buf, sizeof buf);
        if (got > 0 && p[i].fd == c->out_fd)
            keep_output(c, buf, (size_t)got);
        else if (got > 0)
            keep_report(c, buf, (size_t)got);
        else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(p[i].fd);
            *(p[i].fd == c->out_fd ? &c->out_fd : &c->rep_fd) = -1;
        }
    }
}

/* Has the child exited? (It is left a zombie, so its pid, and the id of
 * its process group, cannot be reused before we kill the group.) */
static int child_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

typedef enum { END_EXITED, END_TIMEOUT, END_FLOOD } watch_end;

static watch_end watch(channel *c, double limit)
{
    double deadline = now() + limit;
    for (;;) {
        if (c->total > OUT_KILL)
            return END_FLOOD;
        if (child_exited(c->pid))
            return END_EXITED;
        double left = deadline - now();
        if (left <= 0)
            return END_TIMEOUT;
        /* Short naps once the pipes are closed: the child is about to exit. */
        int slice = c->out_fd < 0 && c->rep_fd < 0 ? 2 : 50;
        pump(c, left * 1000 < slice ? (int)(left * 1000) + 1 : slice);
    }
}

/* After the kill every writer is gone: read what is left, to end of file
 * (bounded, in case a process we could not kill still holds a pipe). */
static void drain(channel *c)
{
    double stop = now() + 2.0;
    while ((c->out_fd >= 0 || c->rep_fd >= 0) && now() < stop)
        pump(c, 100);
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->rep_fd >= 0)
        close(c->rep_fd);
    if (!c->have_record)
        parse_record(c);
}

/* SIGKILL every direct child of ours; returns how many there were. With
 * PR_SET_CHILD_SUBREAPER, a test's orphans (daemons that left its process
 * group) become our children, so repeating this until none is left ends
 * every process the test started. */
static int kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t me = getpid();
    int found = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (n <= 0)
            continue;
        stat[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and ')' */
        char *rp = strrchr(stat, ')');
        char state;
        long ppid;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == (long)me) {
            kill((pid_t)strtol(e->d_name, NULL, 10), SIGKILL);
            found++;
        }
    }
    closedir(d);
    return found;
}

/* Kill the test's process group and every other descendant; reap them. */
static void kill_everything(pid_t pid, int *status, struct rusage *ru)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case the test left its group */
    while (wait4(pid, status, 0, ru) < 0 && errno == EINTR)
        ;
    for (int round = 0; round < 3000; round++) {
        kill(-pid, SIGKILL); /* members forked while we looked */
        int left = kill_children();
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (left == 0)
            return;
        sleep_ms(1);
    }
}

/* ------------------------------------------------------------ verdicts */

static const char *signal_text(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (segmentation fault)";
    case SIGABRT: return "SIGABRT (abort: a failed assert() or abort())";
    case SIGFPE: return "SIGFPE (arithmetic error: an integer division by zero?)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGTRAP: return "SIGTRAP (trap)";
    case SIGKILL: return "SIGKILL (killed)";
    case SIGTERM: return "SIGTERM (terminated)";
    case SIGPIPE: return "SIGPIPE (broken pipe)";
    case SIGSYS: return "SIGSYS (bad system call)";
    default: return NULL;
    }
}

/* The detail line of a fault the child's handler classified. */
static char *crash_detail(void)
{
    char msg[300];
    if (!crash || crash->kind == CRASH_NONE || crash->kind == CRASH_OTHER)
        return NULL;
    if (crash->kind == CRASH_STACK)
        snprintf(msg, sizeof msg, "the stack overflowed: a recursion that never ends, or a "
                                  "very large local array?");
    else if (crash->kind == CRASH_MEMORY)
        snprintf(msg, sizeof msg, "a NULL pointer was used after the memory ran out: malloc() "
                                  "returns NULL past the %d MB limit", MEM_LIMIT_MB);
    else
        snprintf(msg, sizeof msg, "a NULL pointer was used (address 0x%lx); note that malloc() "
                                  "returns NULL past the %d MB memory limit",
                 (unsigned long)crash->addr, MEM_LIMIT_MB);
    return dup_text(msg, strlen(msg));
}

/* The kind of error in an AddressSanitizer line: "heap-buffer-overflow"
 * from "heap-buffer-overflow on address 0x...", at most 60 characters. */
static int asan_kind_length(const char *what)
{
    int n = (int)strcspn(what, "\n(");
    const char *cut = strstr(what, " on ");
    if (cut && cut - what < n)
        n = (int)(cut - what);
    return n < 60 ? n : 60;
}

/* AddressSanitizer or UBSan stopped the test (they exit with status 1
 * after their report): name what they found. */
static int sanitizer_verdict(gr_result *r)
{
    static const char asan_key[] = "ERROR: AddressSanitizer: ", ubsan_key[] = "runtime error: ";
    const char *out = r->output ? r->output : "";
    const char *asan = memmem(out, r->output_len, asan_key, sizeof asan_key - 1);
    const char *ubsan = memmem(out, r->output_len, ubsan_key, sizeof ubsan_key - 1);
    if (!asan && !ubsan)
        return 0;
    if (asan) {
        const char *what = asan + sizeof asan_key - 1;
        size_t len = strcspn(what, "\n");
        if (memmem(what, len, "out of memory", 13) || memmem(what, len, "allocation size", 15) ||
            memmem(what, len, "allocation-size-too-big", 23))
            set_status(r, GR_MEMORY, "exceeded memory (%d MB)", MEM_LIMIT_MB);
        else
            set_status(r, GR_CRASHED, "crashed: AddressSanitizer: %.*s", asan_kind_length(what),
                       what);
    } else
        set_status(r, GR_CRASHED, "crashed: undefined behaviour (UBSan)");
    const char *line = asan ? asan : ubsan;
    while (line > out && line[-1] != '\n')
        line--;
    r->message = dup_text(line, strcspn(line, "\n"));
    return 1;
}

static void killed_verdict(gr_result *r, int sig, const struct rusage *ru, rlim_t cpu_limit)
{
    double cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
                 1e-6 * (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec);
    const char *name = signal_text(sig);
    if (sig == SIGXCPU || (sig == SIGKILL && cpu >= (double)cpu_limit - 0.5))
        set_status(r, GR_CPU, "exceeded CPU time (%lu s)", (unsigned long)cpu_limit);
    else if (sig == SIGXFSZ)
        set_status(r, GR_FILESIZE, "exceeded the file size limit (%d MB)", FILE_LIMIT_MB);
    else if (crash && crash->kind == CRASH_MEMORY)
        set_status(r, GR_MEMORY, "exceeded memory (%d MB)", MEM_LIMIT_MB);
    else if (sig == SIGKILL && ru->ru_maxrss > (long)MEM_LIMIT_MB * 1024 / 2)
        set_status(r, GR_MEMORY, "exceeded memory (killed by the system, SIGKILL)");
    else if (name)
        set_status(r, GR_CRASHED, "crashed: %s", name);
    else
        set_status(r, GR_CRASHED, "crashed: signal %d", sig);
    if (sig == SIGSEGV || sig == SIGBUS)
        r->message = crash_detail();
}

static void record_verdict(gr_result *r, const channel *c)
{
    int v = c->rec.verdict;
    if (v == REC_PASSED)
        set_status(r, GR_PASSED, "passed");
    else if (v == REC_SKIPPED)
        set_status(r, GR_SKIPPED, "skipped: %s", c->rec.text);
    else if (v == REC_TAMPERED)
        set_status(r, GR_TAMPERED, "failed: %s", c->rec.text);
    else if (c->rec.failed > 1)
        set_status(r, GR_FAILED, "failed (%u of %u checks)", c->rec.failed, c->rec.asserts);
    else
        set_status(r, GR_FAILED, "failed");
    if (v == REC_FAILED) {
        char msg[2000];
        snprintf(msg, sizeof msg, "%s:%u: %s", c->rec.file, c->rec.line, c->rec.text);
        r->message = dup_text(msg, strlen(msg));
        r->hint = c->rec.hint[0] ? dup_text(c->rec.hint, strlen(c->rec.hint)) : NULL;
    }
}

/* Decide what happened. Only a well-formed record with this test's nonce
 * and pid says passed or failed; everything else is how the child died. */
static void decide(gr_result *r, const channel *c, watch_end end, int status,
                   const struct rusage *ru, rlim_t cpu_limit)
{
    if (end == END_FLOOD)
        set_status(r, GR_OUTPUT, "output limit: printed more than %d MB", OUT_KILL >> 20);
    else if (c->have_record)
        record_verdict(r, c);
    else if (end == END_TIMEOUT)
        set_status(r, GR_TIMEOUT, "timed out after %g s", r->limit);
    else if (WIFSIGNALED(status))
        killed_verdict(r, WTERMSIG(status), ru, cpu_limit);
    else if (WEXITSTATUS(status) != 0 && sanitizer_verdict(r))
        return;
    else if (WEXITSTATUS(status) == EXIT_NO_CHANNEL)
        set_status(r, GR_TAMPERED, "failed: the test closed the grader's report channel");
    else
        set_status(r, GR_EXITED, "exited with status %d before finishing (exit() called?)",
                   WEXITSTATUS(status));
}

/* ------------------------------------------------------------ one test */

static volatile sig_atomic_t running_pgid; /* for the SIGINT handler */

static limits limits_for(const gr_result *r)
{
    limits lim = {.cpu_seconds = (rlim_t)ceil(r->limit) + 1, .drop_to_nobody = geteuid() == 0};
    long tasks = count_tasks(lim.drop_to_nobody ? NOBODY : getuid());
    /* CUDA's runtime and compute-sanitizer start threads of their own. */
    rlim_t extra = &gr_unlimited_address_space ? 8 * NPROC_EXTRA : NPROC_EXTRA;
    if (tasks >= 0)
        lim.nproc = (rlim_t)tasks + extra;
    else if (lim.drop_to_nobody)
        lim.nproc = 2 * NPROC_EXTRA;
    return lim;
}

/* Fork the child with its two pipes; returns its pid, or -1. */
static pid_t start_child(const gr_result *r, channel *c, const limits *lim)
{
    int out[2], rep[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(rep, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    make_nonce(child.nonce);
    if (crash)
        crash->kind = CRASH_NONE;
    fflush(NULL); /* or the child would print our buffered output again */
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(out[0]);
        close(rep[0]);
        child_main(r->test, out[1], rep[1], lim, parent);
    }
    close(out[1]);
    close(rep[1]);
    if (pid < 0) {
        close(out[0]);
        close(rep[0]);
        return -1;
    }
    setpgid(pid, pid); /* also done by the child: whichever runs first */
    running_pgid = pid;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(rep[0], F_SETFL, O_NONBLOCK);
    c->out_fd = out[0];
    c->rep_fd = rep[0];
    c->nonce = child.nonce;
    c->pid = pid;
    return pid;
}

static void run_test(gr_result *r, const gr_sources *src)
{
    if (!r->test->run) {
        set_status(r, GR_FAILED, "failed: the test table gives no test function");
        return;
    }
    if (src_untouched(src, r->test->functions)) {
        set_status(r, GR_NOT_ATTEMPTED, "not attempted");
        gr_buf msg = {0};
        buf_puts(&msg, "still the untouched stub: ");
        for (const char *p = r->test->functions; *p; p++) {
            if (*p == ',')
                buf_puts(&msg, ", ");
            else if (*p != ' ')
                buf_add(&msg, p, 1);
        }
        r->message = msg.p;
        return;
    }
    /* Static, not malloc'ed: the child inherits our heap, and if a test
     * calls exit() under LeakSanitizer a block only our stack pointed to
     * would be reported as the student's leak. */
    static channel chan;
    channel *c = &chan;
    memset(c, 0, sizeof *c);
    limits lim = limits_for(r);
    if (start_child(r, c, &lim) < 0) {
        set_status(r, GR_FAILED, "not run: the grader could not start it (%s)", strerror(errno));
        return;
    }
    watch_end end = watch(c, r->limit);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    kill_everything(c->pid, &status, &ru);
    running_pgid = 0;
    drain(c);
    r->output = output_text(c, &r->output_len);
    decide(r, c, end, status, &ru, lim.cpu_seconds);
}

/* ======================================================================
 * The run
 * ====================================================================== */

/* Ctrl-C or a kill of the grader: take the running test down with us (it
 * is in its own process group, so the terminal's signal missed it). */
static void on_stop(int sig)
{
    if (running_pgid > 0)
        kill(-running_pgid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void setup_parent(void)
{
    /* One BLAS thread: results do not depend on the machine, and a test's
     * CPU time is its own. The variable reaches anything the tests start. */
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    nn_blas_set_threads(1);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);  /* a closed stdout must not stop the reports */
    signal(SIGCHLD, SIG_DFL);  /* SIG_IGN inherited would make wait fail */
    const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        signal(stops[i], on_stop);
    void *page = mmap(NULL, sizeof(crash_note), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    crash = page == MAP_FAILED ? NULL : page;
}

/* Create DIR and DIR/data (for the tests' CSV logs; given to nobody when
 * the tests run as nobody), export GR_OUT and return DIR as an absolute
 * path (to free), or NULL. */
static char *prepare_out_dir(const char *out)
{
    char data[4200];
    snprintf(data, sizeof data, "%s/data", out);
    if (make_dirs(out) != 0 || make_dirs(data) != 0) {
        fprintf(stderr, "tests: cannot create %s: %s\n", data, strerror(errno));
        return NULL;
    }
    if (geteuid() == 0 && chown(data, NOBODY, NOBODY) != 0)
        fprintf(stderr, "tests: note: cannot give %s to nobody: %s\n", data, strerror(errno));
    char *abs = realpath(out, NULL);
    if (!abs)
        abs = dup_text(out, strlen(out));
    if (abs)
        setenv("GR_OUT", abs, 1);
    return abs;
}

/* With fd 0, 1 or 2 closed, a pipe could get that number and the child's
 * redirections would clobber it: fill the holes with /dev/null. */
static void keep_standard_fds_open(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return;
}

static void print_buf(gr_buf *b)
{
    if (b->p)
        fputs(b->p, stdout);
    fflush(stdout);
    buf_free(b);
}

static int print_and_write(gr_run *run)
{
    gr_buf b = {0};
    int width = text_name_width(run);
    text_heading(&b, run, width);
    for (int i = 0; i < run->n; i++)
        text_row(&b, &run->r[i], width);
    text_closing(&b, run);
    print_buf(&b);
    return write_reports(run);
}

/* --compile-error: no test runs. "compiles" fails, worth every point of
 * the lab; the other tests are listed as not run, worth nothing more. */
static int compile_error_report(gr_run *run, const char *log_path)
{
    char log[COMPILE_LOG_MAX + 1];
    FILE *f = fopen(log_path, "rb");
    size_t n = f ? fread(log, 1, COMPILE_LOG_MAX, f) : 0;
    int more = f && fgetc(f) != EOF;
    if (f)
        fclose(f);
    log[n] = '\0';
    int total = 0;
    for (int i = 0; i < run->n; i++) {
        total += run->r[i].points;
        set_status(&run->r[i], GR_NOT_RUN, "not run: the code does not compile");
    }
    gr_result *c = --run->r; /* the spare slot before the first test */
    run->n++;
    *c = (gr_result){.name = "compiles", .points = total};
    set_status(c, GR_COMPILE, "failed: the code does not compile");
    gr_buf msg = {0};
    if (n == 0)
        buf_printf(&msg, "(no compiler messages in %s)", log_path);
    buf_add(&msg, log, strlen(log));
    if (more)
        buf_printf(&msg, "\n[... the log goes on: %s]", log_path);
    c->message = msg.p;
    return print_and_write(run) != 0 ? 3 : 1;
}

static int run_all(gr_run *run, const options *o)
{
    gr_sources *src = src_load(o->student, o->stub, o->n_student);
    double start = now();
    int width = text_name_width(run);
    gr_buf b = {0};
    for (int i = 0; i < run->n; i++)
        set_status(&run->r[i], GR_PENDING, "not run: the grader was stopped before this test ended");
    text_heading(&b, run, width);
    print_buf(&b);
    int write_failed = write_reports(run) != 0;
    for (int i = 0; i < run->n; i++) {
        gr_result *r = &run->r[i];
        run_test(r, src);
        text_row(&b, r, width);
        print_buf(&b);
        run->seconds = now() - start;
        write_failed |= write_reports(run) != 0;
    }
    text_closing(&b, run);
    print_buf(&b);
    src_free(src);
    gr_totals t = run_totals(run);
    return write_failed ? 3 : t.failed ? 1 : 0;
}

/* Grade into out_dir: the --compile-error report, or every test. */
static int grade(gr_run *run, const options *o, const char *out_dir)
{
    run->out_dir = out_dir;
    if (!run->lab) { /* default: the folder's name, build/grade/lab01 -> lab01 */
        const char *slash = strrchr(out_dir, '/');
        run->lab = slash && slash[1] ? slash + 1 : out_dir;
    }
    if (o->compile_log)
        return compile_error_report(run, o->compile_log);
    setup_parent();
    return run_all(run, o);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    gr_run run = {.lab = o.lab};
    gr_result *base = NULL;
    if (collect_tests(&run, &o, &base) != 0) {
        free(base);
        return 2;
    }
    if (o.list) {
        list_tests(&run);
    } else {
        keep_standard_fds_open();
        char *out_dir = prepare_out_dir(o.out);
        rc = out_dir ? grade(&run, &o, out_dir) : 3;
        free(out_dir);
    }
    free_run(&run, base);
    return rc;
}
