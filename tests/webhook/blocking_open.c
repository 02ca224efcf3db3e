/*
 * Test only, never linked into a binary: an LD_PRELOAD shim for tests/webhook/e2e_livez.sh.
 * An open(2) of exactly the path in $K5_TEST_BLOCKING_OPEN loses O_NONBLOCK, so a FIFO put
 * there blocks the opener until a writer comes, as the webhook's reload did before
 * fe_read_file opened its files with O_NONBLOCK. That is a reload thread blocked in the
 * kernel (the same as a hung network mount) without a test hook in the webhook itself.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef int (*open_fn)(const char *, int, ...);

static int flags_for(const char *path, int flags)
{
    const char *blocking = getenv("K5_TEST_BLOCKING_OPEN");
    if (blocking && path && strcmp(path, blocking) == 0)
        flags &= ~O_NONBLOCK;
    return flags;
}

static int call(const char *name, const char *path, int flags, mode_t mode)
{
    open_fn real = (open_fn)dlsym(RTLD_NEXT, name);
    return real(path, flags_for(path, flags), mode);
}

static mode_t mode_of(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return call("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return call("open64", path, flags, mode);
}
