/*
 * isolation: one container must not see another container's files or
 * processes. Run in several containers, in this order:
 *
 *   isolation write-own NAME       writes /tmp/NAME (3000 known bytes)
 *   isolation expect-absent PATH   PATH must not exist (ENOENT): run it in
 *                                  another container for a file written there
 *   isolation check-own NAME       /tmp/NAME is still there, intact: run it in
 *                                  the container that wrote it, later
 *
 * Every mode also checks that kill(pid, 0) finds this program itself and
 * not pid 4000: pids are per container, and no container runs that many
 * programs, so pid 4000 is not in this container (on the host it might be,
 * so the host check skips that one).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define SIZE 3000

static char content_byte(const char *name, int i)
{
    return (char)(name[i % strlen(name)] + i % 7);
}

static const char *tmp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/%s", name);
    return P(path);
}

static void write_own(const char *name)
{
    char buf[SIZE];
    for (int i = 0; i < SIZE; i++)
        buf[i] = content_byte(name, i);
    int fd = open(tmp_path(name), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CHECK("create the file", fd >= 0);
    CHECK_EQ("write it", SIZE, write(fd, buf, SIZE));
    CHECK_EQ("close", 0, close(fd));
    ok("wrote our own file");
}

static void check_own(const char *name)
{
    char buf[SIZE + 1];
    int fd = open(tmp_path(name), O_RDONLY);
    CHECK("open our own file, written by an earlier program", fd >= 0);
    CHECK_EQ("it has its size", SIZE, read(fd, buf, sizeof buf));
    for (int i = 0; i < SIZE; i++)
        if (buf[i] != content_byte(name, i))
            fail("its contents are intact (offset)", "the pattern", i, 0);
    CHECK_EQ("close", 0, close(fd));
    ok("our own file is intact");
}

static void expect_absent(const char *path)
{
    struct stat st;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    CHECK_ERR("stat another container's file", stat(P(path), &st), ENOENT);
    CHECK_ERR("open another container's file", open(P(path), O_RDONLY), ENOENT);
    /* Not listed either (its directory, /tmp, exists in every container). */
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(base - path), path);
    DIR *d = opendir(P(dir[0] ? dir : "."));
    CHECK("opendir its directory", d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, base) == 0)
            fail("another container's file is listed by readdir", "absent", 1, 0);
    closedir(d);
    ok("another container's file is not there");
}

int main(int argc, char **argv)
{
    START("isolation");
    if (argc != 3)
        fail("usage: isolation write-own|check-own NAME | expect-absent PATH", "2 arguments", argc - 1, 0);

    if (strcmp(argv[1], "write-own") == 0)
        write_own(argv[2]);
    else if (strcmp(argv[1], "check-own") == 0)
        check_own(argv[2]);
    else if (strcmp(argv[1], "expect-absent") == 0)
        expect_absent(argv[2]);
    else
        fail("unknown mode", "write-own, check-own or expect-absent", 0, 0);

    CHECK_EQ("kill(getpid(), 0) finds ourselves", 0, kill(getpid(), 0));
    if (!host_check())
        CHECK_ERR("kill(4000, 0): not a pid in this container", kill(4000, 0), ESRCH);
    CHECK_ERR("kill(5000000, 0): beyond any pid", kill(5000000, 0), ESRCH);
    ok("kill(pid, 0) sees only this container's pids");
    return 0;
}
