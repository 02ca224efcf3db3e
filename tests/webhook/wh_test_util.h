/*
 * Helpers shared by the webhook's unit tests (header-only, static).
 */
#ifndef KUBE5XX_WH_TEST_UTIL_H
#define KUBE5XX_WH_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* Reads a whole file; NULL when it cannot be read. The caller frees it. */
static inline char *wh_test_read(const char *path, size_t *len)
{
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline char *wh_test_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", WH_FIXTURES, name);
    char *b = wh_test_read(path, len);
    if (!b)
        fail_msg("cannot read fixture %s", path);
    return b;
}

/*
 * Makes a fresh directory /tmp/wh-<tag>-XXXXXX and writes its name into dir
 * (size bytes). Returns 0, or -1 when it cannot: a cmocka setup's result.
 */
static inline int wh_test_mkdtemp(char *dir, size_t size, const char *tag)
{
    snprintf(dir, size, "/tmp/wh-%s-XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and everything in it. Returns 0, or -1 on failure: a cmocka teardown's result. */
static inline int wh_test_rmtree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline int wh_test_dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

#endif
