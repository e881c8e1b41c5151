/*
 * memory: the heap (malloc, which uses brk and mmap), direct mmap,
 * munmap, mprotect and brk.
 *
 *   memory           -> exit 0 when every check passes
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define SMALL_COUNT 10000
#define PAGE 4096

static unsigned char pattern(unsigned i, unsigned j)
{
    return (unsigned char)(i * 7 + j);
}

static void small_mallocs(void)
{
    static unsigned char *p[SMALL_COUNT];
    static unsigned size[SMALL_COUNT];

    for (unsigned i = 0; i < SMALL_COUNT; i++) {
        size[i] = 16 + (i * 37) % 241; /* 16..256 bytes */
        p[i] = malloc(size[i]);
        if (p[i] == NULL)
            fail("malloc a small block (block number)", "non-NULL", i, errno);
        for (unsigned j = 0; j < size[i]; j++)
            p[i][j] = pattern(i, j);
    }
    for (unsigned i = 0; i < SMALL_COUNT; i++)
        for (unsigned j = 0; j < size[i]; j++)
            if (p[i][j] != pattern(i, j))
                fail("small block keeps its contents (block number)", "the pattern", i, 0);
    /* Free every other block first, so the heap gets holes, then the rest. */
    for (unsigned i = 0; i < SMALL_COUNT; i += 2)
        free(p[i]);
    for (unsigned i = 1; i < SMALL_COUNT; i += 2)
        free(p[i]);
    ok("10000 small mallocs (16..256 bytes) filled, verified, freed");

    unsigned *z = calloc(1000, 64);
    CHECK("calloc", z != NULL);
    for (unsigned i = 0; i < 1000 * 64 / sizeof *z; i++)
        if (z[i] != 0)
            fail("calloc memory is zero (word number)", "0", i, 0);
    free(z);

    /* realloc keeps the contents while the block grows (up to 64 KiB). */
    unsigned char *r = malloc(16);
    CHECK("malloc 16", r != NULL);
    for (unsigned i = 0; i < 16; i++)
        r[i] = pattern(1, i);
    for (unsigned n = 32; n <= 65536; n *= 2) {
        r = realloc(r, n);
        CHECK("realloc", r != NULL);
        for (unsigned i = 0; i < n / 2; i++)
            if (r[i] != pattern(1, i))
                fail("realloc keeps the contents (new size)", "the pattern", n, 0);
        for (unsigned i = n / 2; i < n; i++)
            r[i] = pattern(1, i);
    }
    free(r);
    ok("calloc is zeroed, realloc keeps contents");
}

static void large_malloc(void)
{
    const size_t size = 8 << 20; /* 8 MiB: musl maps this with mmap */
    uint64_t *p = malloc(size);
    CHECK("malloc 8 MiB", p != NULL);
    for (size_t off = 0; off < size; off += PAGE)
        p[off / 8] = off ^ 0x5a5a5a5a;
    for (size_t off = 0; off < size; off += PAGE)
        if (p[off / 8] != (off ^ 0x5a5a5a5a))
            fail("8 MiB block keeps its contents (offset)", "the pattern", (long)off, 0);
    p[size / 8 - 1] = 42; /* the very last word */
    CHECK_EQ("last word of the 8 MiB block", 42, p[size / 8 - 1]);
    free(p);
    ok("8 MiB malloc: every page touched and verified");
}

static void direct_mmap(void)
{
    const size_t size = 64 << 10;
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap 64 KiB anonymous", m != MAP_FAILED);
    CHECK_EQ("mmap result is page aligned", 0, (uintptr_t)m % PAGE);
    for (size_t i = 0; i < size; i++)
        if (m[i] != 0)
            fail("fresh anonymous memory is zero (offset)", "0", (long)i, 0);
    for (size_t i = 0; i < size; i++)
        m[i] = pattern(3, i);
    for (size_t i = 0; i < size; i++)
        if (m[i] != pattern(3, i))
            fail("mmap'd memory keeps its contents (offset)", "the pattern", (long)i, 0);
    CHECK_EQ("mprotect to read-only", 0, mprotect(m, size, PROT_READ));
    CHECK_EQ("read-only memory is still readable", pattern(3, 100), m[100]);
    CHECK_EQ("munmap 64 KiB", 0, munmap(m, size));
    ok("mmap 64 KiB, mprotect read-only, munmap");

    CHECK("mmap of length 0 fails with EINVAL",
          mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    CHECK_ERR("munmap of an unaligned address", munmap(m + 1, PAGE), EINVAL);
    ok("mmap/munmap reject bad arguments with EINVAL");
}

/* musl's sbrk only supports sbrk(0), so brk is tested through the syscall. */
static void program_break(void)
{
    const long grow = 64 << 10;
    long cur = syscall(SYS_brk, 0);
    CHECK("brk(0) returns the current break", cur > 0);
    CHECK_EQ("sbrk(0) agrees with brk(0)", cur, (long)sbrk(0));
    CHECK_EQ("brk grows by 64 KiB", cur + grow, syscall(SYS_brk, cur + grow));
    unsigned char *b = (unsigned char *)cur;
    for (long i = 0; i < grow; i++)
        b[i] = pattern(5, i);
    for (long i = 0; i < grow; i++)
        if (b[i] != pattern(5, i))
            fail("memory above the old break keeps its contents (offset)", "the pattern", i, 0);
    CHECK_EQ("brk shrinks back", cur, syscall(SYS_brk, cur));
    CHECK_EQ("brk(0) after shrinking", cur, syscall(SYS_brk, 0));
    ok("brk grows, the new memory works, brk shrinks back");
}

int main(void)
{
    START("memory");
    small_mallocs();
    large_malloc();
    direct_mmap();
    program_break();
    return 0;
}
