/*
 * bench: cost per system call, measured with RDTSC.
 *
 *   bench N [MODE [OPS [PREFIX]]]
 *                    -> for each operation, 5 rounds of N iterations; prints
 *                       "bench: container.<operation>.<MODE> <ticks> <unit> (...)",
 *                       the median of the 5 rounds per iteration, in the
 *                       benchmark protocol `make bench` collects; exit 0.
 *                       OPS (comma-separated, or "all") picks operations;
 *                       PREFIX replaces "container." in the names (the
 *                       scaling benchmark runs "200 ipc getpid scaling.n100.").
 *
 * Under QEMU's TCG (`make bench` runs it with -icount) the TSC counts
 * executed instructions, so the figures are path lengths, repeatable to
 * the tick; the unit printed is "instructions" there and "cycles"
 * elsewhere (the hypervisor's CPUID signature tells which), or the
 * environment's BENCH_UNIT when it is set.
 *
 * Inside Bulkhead the kernel also answers STATS (0x4b57a7, see
 * bulkhead_abi::container::SyscallStats); then each operation gets more
 * lines, per operation over the same rounds:
 *   container.<op>.<MODE>.cr3_writes     CR3 writes (system-wide: make bench
 *   container.<op>.<MODE>.tlb_flushes    runs the containers one at a time)
 *   container.<op>.<MODE>.page_faults    faults on SCI's restricted tables
 *   container.<op>.<MODE>.pages_mapped   pages those faults mapped
 *   container.<op>.<MODE>.surface_pages  kernel pages the syscall code could
 *                                        reach while it ran (see the docs)
 */
#include <cpuid.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 5

static long iterations;
static const char *mode = "ipc";
static char metric_mode[32]; /* the mode in figure names: sci-sticky -> sci_sticky */
static const char *unit = "cycles";
static const char *ops = "all";
static const char *prefix = "container.";
static int null_fd, data_fd;

static void op_getpid(void) { getpid(); } /* musl's getpid: one inline syscall */
static void op_write64(void) { static const char b[64]; write(null_fd, b, sizeof b); }
static void op_pwrite64(void) { static const char b[64]; pwrite(null_fd, b, sizeof b, 0); }
static void op_pread4k(void) { static char b[4096]; pread(data_fd, b, sizeof b, 0); }
static void op_open_close(void) { close(open(P("/etc/motd"), O_RDONLY)); }
static void op_mmap_munmap(void)
{
    void *m = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m, 64 << 10);
}

#define SYS_BULKHEAD_STATS 0x4b57a7
struct stats { /* bulkhead_abi::container::SyscallStats */
    unsigned long mode, syscalls, page_faults, pages_mapped, cr3_writes, flushing_cr3_writes,
        traps, surface_sum, surface_pages;
};

static int read_stats(struct stats *s)
{
    return syscall(SYS_BULKHEAD_STATS, s, 0, 0, 0, 0, 0) == 0;
}

static void metric(const char *op, const char *what, double value, const char *unit)
{
    printf("bench: %s%s.%s.%s %.2f %s\n", prefix, op, metric_mode, what, value, unit);
}

/* The per-operation counters between two STATS readings over n operations. */
static void metrics(const char *op, const struct stats *a, const struct stats *b, double n)
{
    unsigned long calls = b->syscalls - a->syscalls;
    metric(op, "cr3_writes", (b->cr3_writes - a->cr3_writes) / n, "writes/op");
    metric(op, "tlb_flushes", (b->flushing_cr3_writes - a->flushing_cr3_writes) / n, "flushes/op");
    metric(op, "page_faults", (b->page_faults - a->page_faults) / n, "faults/op");
    metric(op, "pages_mapped", (b->pages_mapped - a->pages_mapped) / n, "pages/op");
    /* SCI: the average of what was mapped while each syscall ran; else what
     * is reachable at all. */
    double surface = b->surface_sum != a->surface_sum && calls
        ? (double)(b->surface_sum - a->surface_sum) / calls
        : (double)b->surface_pages;
    metric(op, "surface_pages", surface, "pages");
}

/* A small file copy, end to end: open both, 4 KiB reads and writes until
 * the end (10 KiB: 3 reads, 3 writes and the final empty read), close both. */
static void op_copy10k(void)
{
    static char buf[4096];
    int in = open(P("/share/data.txt"), O_RDONLY);
    int out = open(P("/tmp/bench-copy"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    long n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        write(out, buf, n);
    close(in);
    close(out);
}

static int by_value(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

/* Whether OPS names operation `name`. */
static int selected(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(ops, "all") == 0)
        return 1;
    for (const char *p = ops; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

static void measure(const char *name, void (*op)(void))
{
    unsigned long per[ROUNDS];
    if (!selected(name))
        return;
    struct stats before, after;
    op(); /* warm up */
    int have_stats = read_stats(&before);
    for (int r = 0; r < ROUNDS; r++) {
        unsigned long start = __builtin_ia32_rdtsc();
        for (long i = 0; i < iterations; i++)
            op();
        per[r] = (__builtin_ia32_rdtsc() - start) / iterations;
    }
    have_stats = have_stats && read_stats(&after);
    qsort(per, ROUNDS, sizeof per[0], by_value);
    printf("bench: %s%s.%s %lu %s (median of %d rounds of %ld, a Linux program in a %s container)\n",
           prefix, name, metric_mode, per[ROUNDS / 2], unit, ROUNDS, iterations, mode);
    if (have_stats)
        metrics(name, &before, &after, (double)ROUNDS * iterations);
}

/* "instructions" under QEMU's TCG (whose TSC counts instructions with
 * -icount), else "cycles". */
static const char *counter_unit(void)
{
    unsigned int eax, sig[3];
    if (!__get_cpuid(1, &eax, &sig[0], &sig[1], &sig[2]) || !(sig[1] & (1u << 31)))
        return "cycles"; /* no hypervisor */
    __cpuid(0x40000000, eax, sig[0], sig[1], sig[2]);
    return memcmp(sig, "TCGTCGTCGTCG", 12) == 0 ? "instructions" : "cycles";
}

int main(int argc, char **argv)
{
    START("bench");
    iterations = argc > 1 ? atol(argv[1]) : 1000;
    if (argc > 2)
        mode = argv[2];
    else if (getenv("BULKHEAD_MODE"))
        mode = getenv("BULKHEAD_MODE"); /* set by every Bulkhead launcher */
    if (argc > 3)
        ops = argv[3];
    if (argc > 4)
        prefix = argv[4];
    snprintf(metric_mode, sizeof metric_mode, "%s", mode);
    for (char *c = metric_mode; *c; c++)
        if (*c == '-')
            *c = '_';
    /* Only the runner knows whether -icount is on: the root server's
     * console (make run, no -icount) says "cycles" through BENCH_UNIT. */
    unit = getenv("BENCH_UNIT") ? getenv("BENCH_UNIT") : counter_unit();
    CHECK("N > 0", iterations > 0);

    /* No /dev/null in this tree: write 64 bytes at offset 0 of a file instead. */
    null_fd = open(P("/dev/null"), O_WRONLY);
    int have_null = null_fd >= 0;
    if (!have_null)
        null_fd = open(P("/tmp/bench-null"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK("open /dev/null (or /tmp/bench-null)", null_fd >= 0);
    data_fd = open(P("/share/data.txt"), O_RDONLY);
    CHECK("open /share/data.txt", data_fd >= 0);

    measure("getpid", op_getpid);
    if (have_null)
        measure("write64", op_write64);
    else
        measure("pwrite64_file", op_pwrite64);
    measure("read4k", op_pread4k);
    measure("open_close", op_open_close);
    measure("mmap_munmap64k", op_mmap_munmap);
    measure("copy10k", op_copy10k);
    unlink(P("/tmp/bench-copy"));
    close(null_fd);
    close(data_fd);
    if (!have_null)
        unlink(P("/tmp/bench-null"));
    return 0;
}
