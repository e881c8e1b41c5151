/*
 * check.h: the few helpers every Bulkhead Linux test program shares.
 *
 * A program calls START("name") first. Each check that fails prints
 *     FAIL <program>: <what> (expected X, got Y, errno E)
 * to stderr and exits with status 1; each group of checks that passed
 * prints "ok <program>: <what>" on stdout.
 *
 * P("/etc/motd") returns the path to open. Inside a container that is the
 * path itself; for the host check (see ../README.md) the environment
 * variable BULKHEAD_ROOT names a directory laid out like the container's
 * archive, and P() puts it in front of absolute paths. Its result lives in
 * one of 4 static buffers: use it at once, or copy it.
 */
#ifndef BULKHEAD_CHECK_H
#define BULKHEAD_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "?";

static inline void START(const char *name)
{
    prog = name;
    setvbuf(stdout, NULL, _IOLBF, 0); /* one write per line: progress shows at once */
}

static inline void fail(const char *what, const char *expected, long got, int err)
{
    fflush(stdout);
    fprintf(stderr, "FAIL %s: %s (expected %s, got %ld, errno %d)\n", prog, what, expected, got, err);
    exit(1);
}

static inline void ok(const char *what)
{
    printf("ok %s: %s\n", prog, what);
}

/* True when running as the host check rather than inside Bulkhead. */
static inline int host_check(void)
{
    return getenv("BULKHEAD_ROOT") != NULL;
}

#include <sys/utsname.h>

/* True inside a Bulkhead container (its personality's uname release ends
 * in "-bulkhead"). Programs that would harm a real kernel (the fuzzer) or
 * eat a real machine's memory (hog) run only there. */
static inline int in_bulkhead(void)
{
    struct utsname u;
    return uname(&u) == 0 && strstr(u.release, "bulkhead") != NULL;
}

static inline const char *P(const char *path)
{
    static char buf[4][512];
    static int next;
    const char *root = getenv("BULKHEAD_ROOT");
    if (!root || path[0] != '/')
        return path;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s%s", root, path);
    return b;
}

/* CHECK(what, cond): cond must be true. */
#define CHECK(what, cond)                                                      \
    do {                                                                       \
        errno = 0;                                                             \
        long got_ = (long)(cond);                                              \
        if (!got_)                                                             \
            fail(what, "true", got_, errno);                                   \
    } while (0)

/* CHECK_EQ(what, expected, got): two integers must be equal. */
#define CHECK_EQ(what, expected, got)                                          \
    do {                                                                       \
        errno = 0;                                                             \
        long got_ = (long)(got);                                               \
        int err_ = errno;                                                      \
        long exp_ = (long)(expected);                                          \
        if (got_ != exp_) {                                                    \
            char e_[32];                                                       \
            snprintf(e_, sizeof e_, "%ld", exp_);                              \
            fail(what, e_, got_, err_);                                        \
        }                                                                      \
    } while (0)

/* CHECK_ERR(what, call, ERRNO): call must return -1 and set errno to ERRNO. */
#define CHECK_ERR(what, call, err)                                             \
    do {                                                                       \
        errno = 0;                                                             \
        long got_ = (long)(call);                                              \
        int err_ = errno;                                                      \
        if (got_ != -1 || err_ != (err))                                       \
            fail(what, "-1 with errno " #err, got_, err_);                     \
    } while (0)

/* CHECK_STR(what, expected, got): two strings must be equal. */
#define CHECK_STR(what, expected, got)                                         \
    do {                                                                       \
        const char *exp_ = (expected), *got_ = (got);                          \
        if (!got_ || strcmp(exp_, got_) != 0) {                                \
            fflush(stdout);                                                    \
            fprintf(stderr, "FAIL %s: %s (expected \"%s\", got \"%s\", errno %d)\n", \
                    prog, what, exp_, got_ ? got_ : "(null)", errno);          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#endif
