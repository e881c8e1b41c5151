/*
 * misc: the small calls about the process, time, identity and randomness.
 *
 *   misc             -> exit 0 when every check passes
 */
#include <signal.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long ns_between(struct timespec a, struct timespec b)
{
    return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}

int main(void)
{
    START("misc");

    pid_t pid = getpid();
    CHECK("getpid > 0", pid > 0);
    CHECK_EQ("gettid == getpid (one thread)", pid, syscall(SYS_gettid));
    CHECK("getppid >= 0", getppid() >= 0);
    CHECK_EQ("kill(getpid(), 0)", 0, kill(pid, 0));
    CHECK_ERR("kill with signal 999", kill(pid, 999), EINVAL);
    printf("misc: pid %d, ppid %d\n", (int)pid, (int)getppid());
    ok("getpid, gettid, getppid, kill(pid, 0)");

    CHECK_EQ("getuid == geteuid", getuid(), geteuid());
    CHECK_EQ("getgid == getegid", getgid(), getegid());
    printf("misc: uid %d, gid %d\n", (int)getuid(), (int)getgid());
    ok("getuid/geteuid/getgid/getegid");

    struct utsname u;
    CHECK_EQ("uname", 0, uname(&u));
    CHECK("uname: sysname is set", u.sysname[0] != 0);
    CHECK_STR("uname: machine", "x86_64", u.machine);
    printf("misc: %s %s %s %s\n", u.sysname, u.nodename, u.release, u.machine);
    ok("uname");

    struct timespec t0, t1, real;
    CHECK_EQ("clock_gettime CLOCK_MONOTONIC", 0, clock_gettime(CLOCK_MONOTONIC, &t0));
    CHECK_EQ("clock_gettime CLOCK_REALTIME", 0, clock_gettime(CLOCK_REALTIME, &real));
    CHECK("CLOCK_REALTIME is valid", real.tv_sec >= 0 && real.tv_nsec >= 0 && real.tv_nsec < 1000000000L);
    struct timespec nap = {0, 20 * 1000 * 1000}; /* 20 ms */
    CHECK_EQ("nanosleep 20 ms", 0, nanosleep(&nap, NULL));
    CHECK_EQ("clock_gettime CLOCK_MONOTONIC", 0, clock_gettime(CLOCK_MONOTONIC, &t1));
    CHECK("CLOCK_MONOTONIC tv_nsec is valid", t1.tv_nsec >= 0 && t1.tv_nsec < 1000000000L);
    long slept = ns_between(t0, t1);
    CHECK("nanosleep 20 ms lets at least 20 ms pass", slept >= 20 * 1000 * 1000);
    printf("misc: nanosleep(20 ms) took %ld us\n", slept / 1000);
    struct timespec bad = {0, 1000000000L};
    CHECK_ERR("nanosleep with tv_nsec = 1e9", nanosleep(&bad, NULL), EINVAL);
    ok("clock_gettime, nanosleep");

    unsigned char r1[32], r2[32];
    CHECK_EQ("getrandom 32 bytes", 32, getrandom(r1, sizeof r1, 0));
    CHECK_EQ("getrandom 32 more", 32, getrandom(r2, sizeof r2, 0));
    CHECK("two getrandom results differ", memcmp(r1, r2, sizeof r1) != 0);
    ok("getrandom");
    return 0;
}
