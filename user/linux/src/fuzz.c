/*
 * fuzz: random Linux system calls against the container's syscall server.
 *
 *   fuzz COUNT SEED   -> COUNT calls from a xorshift generator seeded with
 *                        SEED (the same seed makes the same calls); prints
 *                        how the calls ended, grouped by errno; exit 0
 *
 * Numbers are drawn from 0..335 (most of Linux's table, known or not to
 * the personality), a few huge ones, and now and then the personality's
 * favourite calls. Arguments are adversarial: NULL, small numbers, kernel
 * addresses, non-canonical and unaligned pointers, huge lengths, and
 * pointers into a scratch area fenced by unmapped pages (so a call may
 * scribble on the scratch area but never on the fuzzer itself).
 * Descriptors 0..2 are closed while it runs, the console kept on a
 * descriptor no call can reach, so nothing random reaches the console.
 *
 * A few calls would end or wreck the fuzzer rather than test the server,
 * and are left out or tamed: exit and exit_group, real signals to itself,
 * brk/munmap/mprotect/mremap and MAP_FIXED mappings (which could unmap
 * the fuzzer's own code), a new FS base (its thread-local storage, where
 * errno lives: only ARCH_GET_FS is made), sleeps longer than a
 * microsecond, and the test-only "break the server" numbers. What the test checks is that the server never crashes: the
 * container's next program must still run.
 */
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define SCRATCH (64 << 10)
#define PAGE 4096

static uint64_t state;
static char *scratch;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint64_t pick(const uint64_t *v, int n) { return v[next() % n]; }

/* A pointer-or-number argument. */
static uint64_t argument(void)
{
    static const uint64_t odd[] = {
        0, 1, 2, 3, 0xfff, 0x1000, 0x400000, 0x7fffffffffff, 0x800000000000,
        0xffff800000000000, 0xffffffff80200000, 0xffffffffffffffff, 0x7fffffffffffffff,
        0x80000000, 0xffffffff, 0x100000000000, 0xdeadbeefcafe,
    };
    switch (next() % 6) {
    case 0: return pick(odd, sizeof odd / sizeof odd[0]);
    case 1: return next() % 4096;                                        /* small number, fd, flag */
    case 2: return (uint64_t)(scratch + next() % SCRATCH);                /* inside the scratch area */
    case 3: return (uint64_t)(scratch + SCRATCH - next() % 64);           /* running into the fence */
    case 4: return next() >> (next() % 64);                               /* any size */
    default: return next();
    }
}

/* Calls left out: they end the fuzzer or could unmap its own memory. */
static int left_out(uint64_t nr)
{
    switch (nr) {
    case 10: case 11: case 12: case 25:     /* mprotect, munmap, brk, mremap */
    case 60: case 231:                      /* exit, exit_group */
    case 62: case 200: case 234:            /* kill, tkill, tgkill */
    case 0x4b7e57: case 0x4b7e58:           /* test-only: break the server */
        return 1;
    }
    return 0;
}

/* The console, kept on one descriptor the calls cannot reach, for the
 * final report; descriptors 0..2 are closed so random writes and dups
 * cannot put garbage on the console. */
#define CONSOLE_FD 200

/* Tames the arguments of calls that would block for long, or reach the
 * console descriptor. */
static void tame(uint64_t nr, uint64_t *a)
{
    static const struct timespec short_nap = {0, 1000};
    if (a[0] == CONSOLE_FD)
        a[0]++;
    switch (nr) {
    case 9: a[3] &= ~(uint64_t)(MAP_FIXED | 0x100000); break; /* mmap: no MAP_FIXED(_NOREPLACE) */
    case 158: a[0] = 0x1003; a[1] = (uint64_t)(scratch + next() % SCRATCH); break; /* arch_prctl: GET_FS only */
    case 35: a[0] = (uint64_t)&short_nap; break;                 /* nanosleep */
    case 230: a[0] = 0; a[1] = 0; a[2] = (uint64_t)&short_nap; break; /* clock_nanosleep */
    case 7: a[2] = 0; break;                                      /* poll: no timeout */
    case 33: case 292: if (a[1] == CONSOLE_FD) a[1]++; break;     /* dup2, dup3 */
    }
}

int main(int argc, char **argv)
{
    START("fuzz");
    if (!in_bulkhead()) {
        printf("fuzz: runs only inside a Bulkhead container; skipped\n");
        return 0;
    }
    long count = argc > 1 ? atol(argv[1]) : 10000;
    state = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    if (state == 0)
        state = 1;
    /* The scratch area with an unmapped page on either side. */
    char *fenced = mmap(NULL, SCRATCH + 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("map the scratch area", fenced != MAP_FAILED);
    CHECK_EQ("fence below", 0, munmap(fenced, PAGE));
    CHECK_EQ("fence above", 0, munmap(fenced + PAGE + SCRATCH, PAGE));
    scratch = fenced + PAGE;
    fflush(stdout);
    CHECK_EQ("keep the console", CONSOLE_FD, dup2(1, CONSOLE_FD));
    close(0);
    close(1);
    close(2);

    static long by_errno[4096];
    long succeeded = 0, made = 0;
    while (made < count) {
        static const uint64_t favourites[] = {0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 18, 19, 20, 21, 72, 79, 80,
                                              82, 83, 84, 87, 89, 217, 257, 262, 263, 318, 999, 100000};
        uint64_t nr = next() % 4 == 0 ? pick(favourites, sizeof favourites / sizeof favourites[0])
                                      : next() % 336;
        if (left_out(nr))
            continue;
        uint64_t a[6];
        for (int i = 0; i < 6; i++)
            a[i] = argument();
        tame(nr, a);
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        made++;
        if (r == -1 && errno > 0 && errno < 4096)
            by_errno[errno]++;
        else
            succeeded++;
    }
    CHECK_EQ("get the console back", 1, dup2(CONSOLE_FD, 1));
    CHECK_EQ("and for errors", 2, dup2(CONSOLE_FD, 2));
    printf("fuzz: %ld calls, seed %s: %ld succeeded;", made, argc > 2 ? argv[2] : "1", succeeded);
    for (int e = 1; e < 4096; e++)
        if (by_errno[e])
            printf(" %s=%ld", strerror(e), by_errno[e]);
    printf("\n");
    ok("the syscall server answered every call");
    return 0;
}
