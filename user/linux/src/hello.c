/*
 * hello: the smallest test. Prints its argv[0] and what uname reports.
 * Built twice: "hello" (static, fixed address) and "hello-pie"
 * (static PIE: it relocates itself at start, wherever it was loaded).
 *
 *   hello            -> exit 0
 */
#include <stdio.h>
#include <sys/utsname.h>

int main(int argc, char **argv)
{
    struct utsname u;

    printf("hello from %s\n", argc > 0 ? argv[0] : "(no argv[0])");
    if (uname(&u) != 0) {
        perror("FAIL hello: uname");
        return 1;
    }
    printf("hello: sysname %s, machine %s\n", u.sysname, u.machine);
    return 0;
}
