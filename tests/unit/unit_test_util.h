/*
 * Helpers shared by the engine's unit tests (header-only, static): one copy of loading text
 * into a document set and of walking a fixture tree, instead of one per test file.
 */
#ifndef KUBE5XX_UNIT_TEST_UTIL_H
#define KUBE5XX_UNIT_TEST_UTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

typedef struct loaded {
    k5_docset *set;
    k5_status st;
    k5_error err;
} loaded;

/*
 * Loads a copy of `len` bytes of `text` as file `name` into a new set whose default namespace
 * is `ns` (NULL: none). The set owns the copy; the caller frees l.set, also when l.st is an
 * error.
 */
static inline loaded unit_load(const char *name, const char *ns, const char *text, size_t len,
                               k5_format fmt)
{
    loaded l;
    memset(&l, 0, sizeof l);
    assert_int_equal(k5_docset_new(&l.set, ns), K5_OK);
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    l.st = k5_docset_load(l.set, name, buf, len, fmt, &l.err);
    return l;
}

/* Reads a whole file, NUL-terminated; *len gets its length (0 on failure). NULL when it cannot
 * be read. The caller frees it. */
static inline char *unit_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!buf || failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/*
 * Calls fn(path, ud) for every regular file under dir, recursively, in directory order,
 * skipping names that start with '.' and never following a symbolic link. False when dir
 * itself cannot be opened.
 */
static inline bool unit_each_file(const char *dir, void (*fn)(const char *path, void *ud),
                                  void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (w < 0 || (size_t)w >= sizeof path || lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            (void)unit_each_file(path, fn, ud);
        else if (S_ISREG(sb.st_mode))
            fn(path, ud);
    }
    closedir(d);
    return true;
}

/* True when path ends in suffix. */
static inline bool unit_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0;
}

#endif
