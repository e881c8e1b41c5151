/*
 * crash-server: asks the container's syscall server to break.
 *
 * 0x4b7e57 and 0x4b7e58 are test-only syscall numbers: in test runs the
 * Bulkhead syscall server treats the first as "crash now" and the second
 * as "stop answering" (it spins forever). The test manifest decides what
 * must happen next: the app is stopped, the supervisor restarts the
 * server, the other containers keep running. If the call returns, the
 * server did not break: exit 2.
 *
 *   crash-server        -> the server crashes (the call never returns)
 *   crash-server hang   -> the server stops answering (the call never returns)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SYS_TEST_CRASH_SERVER 0x4b7e57
#define SYS_TEST_HANG_SERVER 0x4b7e58

int main(int argc, char **argv)
{
    int hang = argc > 1 && strcmp(argv[1], "hang") == 0;
    printf("crash-server: asking the syscall server to %s\n", hang ? "hang" : "crash");
    fflush(stdout);
    long r = syscall(hang ? SYS_TEST_HANG_SERVER : SYS_TEST_CRASH_SERVER, 0, 0, 0, 0, 0, 0);
    if (r == -1)
        r = -errno; /* show the raw value the syscall returned, e.g. -38 (ENOSYS) */
    fprintf(stderr, "FAIL crash-server: still running (returned %ld)\n", r);
    return 2;
}
