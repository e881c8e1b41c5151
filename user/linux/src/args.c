/*
 * args: what the program receives on its stack: argc/argv, the
 * environment and the auxiliary vector.
 *
 *   args N ARG...    N is the number of arguments after argv[0] (N itself
 *                    included); an argument NAME=VALUE also checks that
 *                    getenv("NAME") is "VALUE".
 *
 * e.g.  args 4 one "two words" BULKHEAD_TEST=alpha
 * (if the quotes were not honoured, argc would be one more).
 */
#include <elf.h>
#include <sys/auxv.h>

#include "check.h"

extern char **environ;

int main(int argc, char **argv)
{
    START("args");
    CHECK("argc >= 2", argc >= 2);
    CHECK_EQ("argc - 1 (the number of arguments)", atoi(argv[1]), argc - 1);
    CHECK("argv[argc] is NULL", argv[argc] == NULL);
    for (int i = 0; i < argc; i++)
        printf("args: argv[%d] = \"%s\"\n", i, argv[i]);
    CHECK("argv[0] names the program", strstr(argv[0], "args") != NULL);
    ok("argc and argv");

    int env_checks = 0;
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[i]), argv[i]);
        CHECK_STR("getenv of a NAME=VALUE argument", eq + 1, getenv(name));
        env_checks++;
    }
    int envc = 0;
    while (environ[envc] != NULL)
        envc++;
    printf("args: %d environment variables, %d checked\n", envc, env_checks);
    ok("environment");

    CHECK_EQ("AT_PAGESZ", 4096, getauxval(AT_PAGESZ));
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK("AT_RANDOM is set", rnd != NULL);
    int nonzero = 0;
    for (int i = 0; i < 16; i++)
        nonzero |= rnd[i];
    CHECK("AT_RANDOM's 16 bytes are not all zero", nonzero);
    CHECK_EQ("AT_SECURE", 0, getauxval(AT_SECURE));
    CHECK("AT_ENTRY is set", getauxval(AT_ENTRY) != 0);

    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    CHECK("AT_PHDR is set", ph != NULL);
    CHECK_EQ("AT_PHENT", sizeof(Elf64_Phdr), getauxval(AT_PHENT));
    unsigned long phnum = getauxval(AT_PHNUM);
    CHECK("AT_PHNUM is set", phnum > 0);
    int loads = 0;
    for (unsigned long i = 0; i < phnum; i++)
        loads += ph[i].p_type == PT_LOAD;
    CHECK("AT_PHDR points at headers with a PT_LOAD", loads > 0);
    ok("auxv: AT_PAGESZ, AT_RANDOM, AT_SECURE, AT_ENTRY, AT_PHDR/PHENT/PHNUM");
    return 0;
}
