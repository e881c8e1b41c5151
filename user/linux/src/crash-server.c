/*
 * crash-server: asks the container's syscall server to crash itself.
 *
 * 0x4b7e57 is a test-only syscall number: in test builds the Bulkhead
 * syscall server treats it as "crash now". The test manifest decides what
 * must happen next (the app is stopped, the other containers keep
 * running). If the call returns, the crash did not happen: exit 2.
 *
 *   crash-server     -> never returns from the syscall (expected), else exit 2
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define SYS_TEST_CRASH_SERVER 0x4b7e57

int main(void)
{
    printf("crash-server: asking the syscall server to crash\n");
    fflush(stdout);
    long r = syscall(SYS_TEST_CRASH_SERVER, 0, 0, 0, 0, 0, 0);
    if (r == -1)
        r = -errno; /* show the raw value the syscall returned, e.g. -38 (ENOSYS) */
    fprintf(stderr, "FAIL crash-server: still running (returned %ld)\n", r);
    return 2;
}
