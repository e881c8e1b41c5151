/*
 * exitcode: exits with the status given as its argument, so the test run
 * can check that exit codes reach the root server.
 *
 *   exitcode 7       -> exit 7
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "FAIL exitcode: usage: exitcode STATUS (expected 1 argument, got %d, errno 0)\n", argc - 1);
        return 100;
    }
    int code = atoi(argv[1]);
    printf("ok exitcode: exiting with %d\n", code);
    fflush(stdout);
    exit(code);
}
