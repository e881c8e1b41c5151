/*
 * hog: uses up its container's memory quota, on purpose.
 *
 *   hog   -> maps and touches 1 MiB blocks until mmap fails (it must fail
 *            with ENOMEM, not crash anything), writes a file until the
 *            file tree is full (ENOSPC), then gives everything back and
 *            checks that memory and files work again; exit 0
 *
 * The container's quota is the only thing that runs out: the other
 * containers, and this container's syscall server, keep their memory.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define BLOCK (1 << 20)
#define MAX_BLOCKS 4096

static void *blocks[MAX_BLOCKS];

int main(void)
{
    START("hog");
    if (!in_bulkhead()) {
        printf("hog: runs only inside a Bulkhead container; skipped\n");
        return 0;
    }
    int n = 0, mmap_errno = 0;
    for (; n < MAX_BLOCKS; n++) {
        void *b = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED) {
            mmap_errno = errno;
            break;
        }
        memset(b, 0x5a, BLOCK);
        blocks[n] = b;
    }
    CHECK("mmap ran out before 4 GiB", n < MAX_BLOCKS);
    CHECK_EQ("the failing mmap's errno", ENOMEM, mmap_errno);
    printf("hog: %d MiB mapped before the quota ran out (ENOMEM)\n", n);
    for (int i = 0; i < n; i++)
        CHECK_EQ("munmap", 0, munmap(blocks[i], BLOCK));
    ok("memory quota exhausted with ENOMEM, then given back");

    void *again = malloc(BLOCK);
    CHECK("malloc after giving back", again != NULL);
    memset(again, 1, BLOCK);
    free(again);
    ok("memory works again");

    int fd = open(P("/tmp/hog"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK("open /tmp/hog", fd >= 0);
    static char chunk[16384];
    long written = 0;
    ssize_t w;
    while ((w = write(fd, chunk, sizeof chunk)) > 0 && written < (64L << 20))
        written += w;
    int write_errno = errno;
    CHECK("the file tree filled up before 64 MiB", written < (64L << 20));
    CHECK_EQ("the failing write's errno", ENOSPC, write_errno);
    printf("hog: %ld KiB written before the file tree was full (ENOSPC)\n", written >> 10);
    close(fd);
    CHECK_EQ("unlink /tmp/hog", 0, unlink(P("/tmp/hog")));
    fd = open(P("/tmp/after"), O_CREAT | O_WRONLY, 0644);
    CHECK("a new file after unlinking", fd >= 0);
    CHECK_EQ("write to it", 5, write(fd, "after", 5));
    close(fd);
    ok("file tree filled with ENOSPC, then given back");
    return 0;
}
