/*
 * copy: copies a file in 4 KiB chunks, then compares the two copies.
 *
 *   copy SRC DST     -> exit 0 when DST has the same bytes as SRC
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define CHUNK 4096

int main(int argc, char **argv)
{
    static char a[CHUNK], b[CHUNK];
    struct stat sa, sb;

    START("copy");
    if (argc != 3)
        fail("usage: copy SRC DST", "2 arguments", argc - 1, 0);
    int in = open(P(argv[1]), O_RDONLY);
    CHECK("open SRC", in >= 0);
    int out = open(P(argv[2]), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK("create DST", out >= 0);

    long total = 0, n;
    while ((n = read(in, a, CHUNK)) > 0) {
        for (long done = 0; done < n;) {
            long w = write(out, a + done, n - done);
            CHECK("write DST", w > 0);
            done += w;
        }
        total += n;
    }
    CHECK_EQ("read SRC to its end", 0, n);
    CHECK_EQ("close DST", 0, close(out));
    CHECK_EQ("fstat SRC", 0, fstat(in, &sa));
    CHECK_EQ("bytes copied", sa.st_size, total);

    out = open(P(argv[2]), O_RDONLY);
    CHECK("reopen DST", out >= 0);
    CHECK_EQ("fstat DST", 0, fstat(out, &sb));
    CHECK_EQ("DST size", sa.st_size, sb.st_size);
    CHECK_EQ("rewind SRC", 0, lseek(in, 0, SEEK_SET));
    for (long off = 0; off < total; off += CHUNK) {
        long want = total - off < CHUNK ? total - off : CHUNK;
        CHECK_EQ("read SRC again", want, read(in, a, CHUNK));
        CHECK_EQ("read DST", want, read(out, b, CHUNK));
        if (memcmp(a, b, want) != 0)
            fail("DST has the bytes of SRC (chunk at offset)", "equal", off, 0);
    }
    CHECK_EQ("close SRC", 0, close(in));
    CHECK_EQ("close DST", 0, close(out));
    printf("ok copy: %ld bytes from %s to %s, compared\n", total, argv[1], argv[2]);
    return 0;
}
