/* Corpus replay for a libFuzzer target without libFuzzer: runs
 * LLVMFuzzerTestOneInput once over each file named on the command line, each
 * in its own child process so that a crash or a failed invariant (abort)
 * counts against that file only, and prints "N passed, M failed" for
 * tests/run-all.sh.  Exit status is 0 only when every file passed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read a whole file into a buffer of exactly its size (so a sanitizer build
 * sees reads past the end); returns NULL on error. */
static uint8_t *
replay_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *data;

    if (f == NULL) {
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    data = malloc(*size ? *size : 1);
    if (data == NULL || fread(data, 1, *size, f) != *size) {
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return data;
}

/* Returns 0 when the target returned normally for this file. */
static int
replay_one(const char *path)
{
    pid_t pid;
    int status;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "replay: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        size_t size = 0;
        uint8_t *data = replay_read(path, &size);
        if (data == NULL) {
            fprintf(stderr, "replay: cannot read %s\n", path);
            _exit(2);
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "replay: FAIL %s (signal %d)\n", path, WTERMSIG(status));
    } else {
        fprintf(stderr, "replay: FAIL %s (exit %d)\n", path,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return -1;
}

int
main(int argc, char **argv)
{
    int passed = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (replay_one(argv[i]) == 0) {
            passed++;
        } else {
            failed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
