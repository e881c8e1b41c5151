/*
 * badptr: an address that is not this program's (another container's
 * memory, or the kernel's) must be refused with EFAULT wherever a syscall
 * takes a pointer; it must never be read or written.
 *
 *   badptr 0xADDRESS -> exit 0 when every use of ADDRESS gave EFAULT
 *
 * e.g.  badptr 0xffff800000000000   (a kernel address)
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
    START("badptr");
    if (argc != 2)
        fail("usage: badptr 0xADDRESS", "1 argument", argc - 1, 0);
    void *addr = (void *)strtoul(argv[1], NULL, 16);
    printf("badptr: using address %p\n", addr);

    CHECK_ERR("write from the address", write(1, addr, 16), EFAULT);
    int fd = open(P("/etc/motd"), O_RDONLY);
    CHECK("open /etc/motd", fd >= 0);
    CHECK_ERR("read into the address", read(fd, addr, 16), EFAULT);
    CHECK_ERR("pread into the address", pread(fd, addr, 16, 0), EFAULT);
    CHECK_ERR("fstat into the address", syscall(SYS_fstat, fd, addr), EFAULT);
    CHECK_ERR("open with the address as path", open(addr, O_RDONLY), EFAULT);
    CHECK_EQ("close", 0, close(fd));
    ok("the address gives EFAULT for write, read, pread, fstat, open");
    return 0;
}
