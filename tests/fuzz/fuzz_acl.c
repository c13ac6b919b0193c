/* libFuzzer target for the ACL rule parser (node/acl.c).
 *
 * The input is a rule line as an aclfile holds it after "user <name>".
 * Parsing must not crash; when the rules are accepted, the description
 * ACL LIST prints for the user must itself be accepted and describe the
 * same user (the text is a fixed point), since ACL SAVE writes it and ACL
 * LOAD reads it back.  Built by "make fuzz" with clang; the corpus
 * (tests/fuzz/corpus/fuzz_acl) is replayed under "make check". */
#include "core/acl.h"
#include "core/alloc.h"
#include "core/command.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_acl: invariant failed: %s (%s:%d)\n",       \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    command_setup();
    if (size > 4096) {
        size = 4096; /* rule lines are short; length adds nothing */
    }
    char *first = acl_describe_rules((const char *)data, size);
    if (first == NULL) {
        return 0;
    }
    /* "fuzz on ... " -> the rules after the name */
    FUZZ_CHECK(strncmp(first, "fuzz ", 5) == 0);
    char *second = acl_describe_rules(first + 5, strlen(first) - 5);
    if (second == NULL) {
        fprintf(stderr, "fuzz_acl: description refused: %s\n", first);
    }
    FUZZ_CHECK(second != NULL);
    if (strcmp(first, second) != 0) {
        fprintf(stderr, "fuzz_acl: description changed:\n  %s\n  %s\n", first, second);
    }
    FUZZ_CHECK(strcmp(first, second) == 0);
    mem_free(first);
    mem_free(second);
    return 0;
}
