/*
 * errors: bad arguments get the right errno, and nothing else happens.
 *
 *   errors           -> exit 0 when every check passes
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"

#define BAD_FD 999
#define LOW_ADDR ((void *)1)                       /* never mapped */
#define KERNEL_ADDR ((void *)0xffff800000000000UL) /* the kernel's half */

int main(void)
{
    char buf[64];
    struct stat st;

    START("errors");
    CHECK_ERR("read on fd 999", read(BAD_FD, buf, 1), EBADF);
    CHECK_ERR("write on fd 999", write(BAD_FD, "x", 1), EBADF);
    CHECK_ERR("close on fd 999", close(BAD_FD), EBADF);
    CHECK_ERR("fstat on fd 999", fstat(BAD_FD, &st), EBADF);
    CHECK_ERR("lseek on fd 999", lseek(BAD_FD, 0, SEEK_SET), EBADF);
    CHECK_ERR("close on fd -1", close(-1), EBADF);
    ok("a bad fd gives EBADF");

    int fd = open(P("/etc/motd"), O_RDONLY);
    CHECK("open /etc/motd", fd >= 0);
    CHECK_ERR("write from address 1", write(1, LOW_ADDR, 10), EFAULT);
    CHECK_ERR("read into a kernel address", read(fd, KERNEL_ADDR, 10), EFAULT);
    CHECK_ERR("read into address 1", read(fd, LOW_ADDR, 10), EFAULT);
    CHECK_ERR("open with a bad path pointer", open(LOW_ADDR, O_RDONLY), EFAULT);
    CHECK_ERR("open with a kernel path pointer", open(KERNEL_ADDR, O_RDONLY), EFAULT);
    /* musl's stat copies through a buffer of its own: use the syscalls. */
    CHECK_ERR("stat into a bad buffer", syscall(SYS_stat, P("/etc/motd"), LOW_ADDR), EFAULT);
    CHECK_ERR("fstat into a kernel address", syscall(SYS_fstat, fd, KERNEL_ADDR), EFAULT);
    CHECK_EQ("the fd still works: pread", 8, pread(fd, buf, 8, 0));
    CHECK("the fd still works: contents", memcmp(buf, "welcome ", 8) == 0);
    ok("a bad pointer gives EFAULT");

    CHECK_ERR("open a missing file", open(P("/etc/no-such-file"), O_RDONLY), ENOENT);
    CHECK_ERR("open in a missing directory", open(P("/no-such-dir/x"), O_RDONLY), ENOENT);
    CHECK_ERR("open below a file", open(P("/etc/motd/x"), O_RDONLY), ENOTDIR);
    CHECK_ERR("open a directory for writing", open(P("/etc"), O_WRONLY), EISDIR);
    CHECK_ERR("mkdir in a missing directory", mkdir(P("/no-such-dir/x"), 0755), ENOENT);
    CHECK_ERR("unlink a missing file", unlink(P("/etc/no-such-file")), ENOENT);
    CHECK_ERR("rmdir a file", rmdir(P("/etc/motd")), ENOTDIR);
    CHECK_ERR("lseek with a bad whence", lseek(fd, 0, 42), EINVAL);
    CHECK_ERR("lseek to a negative offset", lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR("write on a read-only fd", write(fd, "x", 1), EBADF);
    ok("path and argument errors");

    CHECK_ERR("unknown syscall 999", syscall(999), ENOSYS);
    CHECK_ERR("unknown syscall 100000", syscall(100000, 1, 2, 3, 4, 5, 6), ENOSYS);
    ok("unknown syscalls give ENOSYS");

    if (host_check()) {
        printf("errors: host check: stdout may not be a terminal, skipping isatty(1)\n");
    } else {
        CHECK_EQ("isatty(1) (the console)", 1, isatty(1));
        struct termios t;
        CHECK_EQ("ioctl TCGETS on the console", 0, ioctl(1, TCGETS, &t));
    }
    CHECK("isatty on a regular file is 0, errno ENOTTY", isatty(fd) == 0 && errno == ENOTTY);
    CHECK_ERR("ioctl TIOCGWINSZ on a regular file", ioctl(fd, TIOCGWINSZ, buf), ENOTTY);
    CHECK_EQ("close", 0, close(fd));
    ok("isatty and terminal ioctls");
    return 0;
}
