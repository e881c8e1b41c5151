/*
 * files: the file-system calls on the container's in-memory file tree.
 *
 *   files NAME       NAME is the container: /etc/motd must read
 *                    "welcome to NAME\n"; exit 0 when every check passes
 *
 * Works under /tmp/files-test (removed again at the end), reads
 * /etc/motd and /share/data.txt from the container's archive.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

/* Removes what an earlier, interrupted run may have left behind. */
static void clean(void)
{
    static const char *files[] = {"/tmp/files-test/a.txt", "/tmp/files-test/sub/one",
                                  "/tmp/files-test/sub/uno", "/tmp/files-test/sub/two"};
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(P(files[i]));
    rmdir(P("/tmp/files-test/sub"));
    rmdir(P("/tmp/files-test/rel"));
    rmdir(P("/tmp/files-test"));
}

static void make_file(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK("create a file", fd >= 0);
    CHECK_EQ("write a small file", (long)strlen(text), write(fd, text, strlen(text)));
    CHECK_EQ("close", 0, close(fd));
}

static void read_write_seek(void)
{
    const char *a = P("/tmp/files-test/a.txt");
    char buf[64];
    struct stat st;

    int fd = open(a, O_CREAT | O_EXCL | O_RDWR, 0644);
    CHECK("open O_CREAT|O_EXCL a new file", fd >= 0);
    CHECK_EQ("write 13 bytes", 13, write(fd, "hello, world\n", 13));
    CHECK_EQ("lseek SEEK_CUR after write", 13, lseek(fd, 0, SEEK_CUR));
    CHECK_EQ("lseek SEEK_SET 0", 0, lseek(fd, 0, SEEK_SET));
    CHECK_EQ("read 5", 5, read(fd, buf, 5));
    CHECK("read returns the written bytes", memcmp(buf, "hello", 5) == 0);
    CHECK_EQ("lseek SEEK_CUR +2", 7, lseek(fd, 2, SEEK_CUR));
    CHECK_EQ("read 5 more", 5, read(fd, buf, 5));
    CHECK("read at offset 7", memcmp(buf, "world", 5) == 0);
    CHECK_EQ("lseek SEEK_END -6", 7, lseek(fd, -6, SEEK_END));
    CHECK_EQ("read at end-6 stops at the end", 6, read(fd, buf, sizeof buf));
    CHECK_EQ("read at end of file", 0, read(fd, buf, sizeof buf));
    ok("write, lseek SET/CUR/END, read");

    CHECK_EQ("pwrite 1 byte at 7", 1, pwrite(fd, "W", 1, 7));
    CHECK_EQ("pwrite leaves the offset", 13, lseek(fd, 0, SEEK_CUR));
    CHECK_EQ("pread 5 at 7", 5, pread(fd, buf, 5, 7));
    CHECK("pread sees the pwrite", memcmp(buf, "World", 5) == 0);
    CHECK_EQ("pread leaves the offset", 13, lseek(fd, 0, SEEK_CUR));
    ok("pread/pwrite do not move the offset");

    struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
    CHECK_EQ("writev 2+3 bytes", 5, writev(fd, out, 2));
    char x[2], y[3];
    struct iovec in[2] = {{x, 2}, {y, 3}};
    CHECK_EQ("lseek back for readv", 13, lseek(fd, 13, SEEK_SET));
    CHECK_EQ("readv 2+3 bytes", 5, readv(fd, in, 2));
    CHECK("readv fills both buffers", memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);
    ok("readv/writev");

    CHECK_EQ("fstat", 0, fstat(fd, &st));
    CHECK("fstat: a regular file", S_ISREG(st.st_mode));
    CHECK_EQ("fstat size", 18, st.st_size);
    CHECK_EQ("stat", 0, stat(a, &st));
    CHECK_EQ("stat size", 18, st.st_size);

    /* Writing past the end leaves a hole that reads as zeros. */
    CHECK_EQ("pwrite past the end", 1, pwrite(fd, "!", 1, 30));
    CHECK_EQ("pread the hole", 13, pread(fd, buf, 13, 18));
    static const char zeros[12];
    CHECK("the hole reads as zeros", memcmp(buf, zeros, 12) == 0 && buf[12] == '!');
    CHECK_EQ("fstat after the hole", 0, fstat(fd, &st));
    CHECK_EQ("size after the hole", 31, st.st_size);
    CHECK_EQ("close", 0, close(fd));
    ok("fstat/stat sizes, a hole reads as zeros");

    fd = open(a, O_WRONLY | O_APPEND);
    CHECK("open O_APPEND", fd >= 0);
    CHECK_EQ("lseek to 0", 0, lseek(fd, 0, SEEK_SET));
    CHECK_EQ("append 3 bytes", 3, write(fd, "END", 3));
    CHECK_EQ("O_APPEND wrote at the end", 34, lseek(fd, 0, SEEK_CUR));
    CHECK_EQ("close", 0, close(fd));
    fd = open(a, O_RDONLY);
    CHECK("reopen", fd >= 0);
    CHECK_EQ("pread the appended bytes", 3, pread(fd, buf, 3, 31));
    CHECK("appended bytes are at the end", memcmp(buf, "END", 3) == 0);
    CHECK_EQ("close", 0, close(fd));
    ok("O_APPEND writes at the end");

    CHECK_ERR("O_CREAT|O_EXCL on an existing file", open(a, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    fd = open(a, O_WRONLY | O_TRUNC);
    CHECK("open O_TRUNC", fd >= 0);
    CHECK_EQ("fstat", 0, fstat(fd, &st));
    CHECK_EQ("O_TRUNC size", 0, st.st_size);
    CHECK_EQ("close", 0, close(fd));
    CHECK_EQ("unlink", 0, unlink(a));
    ok("O_EXCL gives EEXIST, O_TRUNC empties");
}

static void directories(void)
{
    char sub[512]; /* a copy: P()'s result is overwritten by later calls */
    struct stat st;

    snprintf(sub, sizeof sub, "%s", P("/tmp/files-test/sub"));

    CHECK_EQ("mkdir sub", 0, mkdir(sub, 0755));
    CHECK_ERR("mkdir an existing directory", mkdir(sub, 0755), EEXIST);
    CHECK_EQ("stat a directory", 0, stat(sub, &st));
    CHECK("stat: a directory", S_ISDIR(st.st_mode));
    make_file(P("/tmp/files-test/sub/one"), "1\n");
    make_file(P("/tmp/files-test/sub/two"), "22\n");

    DIR *d = opendir(sub);
    CHECK("opendir", d != NULL);
    int dot = 0, dotdot = 0, one = 0, two = 0, other = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0) dot++;
        else if (strcmp(e->d_name, "..") == 0) dotdot++;
        else if (strcmp(e->d_name, "one") == 0) one++;
        else if (strcmp(e->d_name, "two") == 0) two++;
        else other++;
    }
    CHECK_EQ("closedir", 0, closedir(d));
    CHECK("readdir lists . and .. once", dot == 1 && dotdot == 1);
    CHECK("readdir lists one and two once", one == 1 && two == 1);
    CHECK_EQ("readdir lists nothing else", 0, other);
    ok("mkdir, opendir/readdir");

    CHECK_EQ("rename one -> uno", 0, rename(P("/tmp/files-test/sub/one"), P("/tmp/files-test/sub/uno")));
    CHECK_ERR("stat the old name", stat(P("/tmp/files-test/sub/one"), &st), ENOENT);
    CHECK_EQ("stat the new name", 0, stat(P("/tmp/files-test/sub/uno"), &st));
    CHECK_EQ("renamed file keeps its size", 2, st.st_size);
    ok("rename");

    CHECK_ERR("rmdir a non-empty directory", rmdir(sub), ENOTEMPTY);
    CHECK_EQ("unlink uno", 0, unlink(P("/tmp/files-test/sub/uno")));
    CHECK_ERR("open an unlinked file", open(P("/tmp/files-test/sub/uno"), O_RDONLY), ENOENT);
    CHECK_EQ("unlink two", 0, unlink(P("/tmp/files-test/sub/two")));
    CHECK_EQ("rmdir the empty directory", 0, rmdir(sub));
    CHECK_ERR("stat the removed directory", stat(sub, &st), ENOENT);
    ok("unlink, rmdir (ENOTEMPTY, then empty)");
}

/* /share/data.txt: 160 lines of 64 bytes, "line NNNN " and 53 letters. */
static void data_line(int k, char line[64])
{
    snprintf(line, 64, "line %04d ", k);
    for (int j = 10; j < 63; j++)
        line[j] = 'a' + (k + j) % 26;
    line[63] = '\n';
}

static void archive_files(const char *name)
{
    char want[64], buf[128];

    snprintf(want, sizeof want, "welcome to %s\n", name);
    int fd = open(P("/etc/motd"), O_RDONLY);
    CHECK("open /etc/motd", fd >= 0);
    long n = read(fd, buf, sizeof buf - 1);
    CHECK_EQ("/etc/motd size", (long)strlen(want), n);
    buf[n] = 0;
    CHECK_STR("/etc/motd contents", want, buf);
    CHECK_EQ("close", 0, close(fd));

    fd = open(P("/share/data.txt"), O_RDONLY);
    CHECK("open /share/data.txt", fd >= 0);
    struct stat st;
    CHECK_EQ("fstat", 0, fstat(fd, &st));
    CHECK_EQ("/share/data.txt size", 10240, st.st_size);
    for (int k = 0; k < 160; k++) {
        char line[64];
        data_line(k, line);
        CHECK_EQ("read a line of /share/data.txt", 64, read(fd, buf, 64));
        if (memcmp(buf, line, 64) != 0)
            fail("/share/data.txt contents (line number)", "the pattern", k, 0);
    }
    CHECK_EQ("read at end of /share/data.txt", 0, read(fd, buf, 64));
    CHECK_EQ("close", 0, close(fd));
    ok("files from the archive: /etc/motd, /share/data.txt");
}

static void working_directory(void)
{
    char cwd[512], want[512];
    struct stat st;

    CHECK_EQ("chdir /tmp", 0, chdir(P("/tmp")));
    CHECK("getcwd", getcwd(cwd, sizeof cwd) != NULL);
    CHECK_STR("getcwd after chdir /tmp", P("/tmp"), cwd);
    CHECK_EQ("chdir to a relative path", 0, chdir("files-test"));
    CHECK("getcwd", getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s", P("/tmp/files-test"));
    CHECK_STR("getcwd after chdir files-test", want, cwd);
    CHECK_EQ("mkdir a relative path", 0, mkdir("rel", 0755));
    CHECK_EQ("stat it by its absolute path", 0, stat(P("/tmp/files-test/rel"), &st));
    CHECK_EQ("rmdir a relative path", 0, rmdir("./rel"));
    CHECK_EQ("chdir ..", 0, chdir(".."));
    CHECK("getcwd", getcwd(cwd, sizeof cwd) != NULL);
    CHECK_STR("getcwd after chdir ..", P("/tmp"), cwd);
    CHECK_ERR("chdir to a file", chdir(P("/etc/motd")), ENOTDIR);
    CHECK_ERR("chdir to a missing directory", chdir("no-such-dir"), ENOENT);
    CHECK("getcwd into a too small buffer: ERANGE", getcwd(cwd, 2) == NULL && errno == ERANGE);
    ok("getcwd/chdir with relative paths");
}

int main(int argc, char **argv)
{
    START("files");
    if (argc != 2)
        fail("usage: files NAME", "1 argument", argc - 1, 0);
    clean();
    CHECK_EQ("mkdir /tmp/files-test", 0, mkdir(P("/tmp/files-test"), 0755));
    read_write_seek();
    directories();
    archive_files(argv[1]);
    working_directory();
    CHECK_EQ("rmdir /tmp/files-test", 0, rmdir(P("/tmp/files-test")));
    return 0;
}
