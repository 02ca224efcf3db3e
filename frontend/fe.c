/*
 * kube5xx front-end layer: capped file reading, UTF-8, JSON escaping (fe.h).
 */
#include "fe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---------------------------------------------------------------- files */

fe_status fe_read_fd(int fd, size_t max, char **out, size_t *len, int *errnum)
{
    size_t cap = 64 * 1024, n = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > max) {
            *len = (size_t)st.st_size;
            return FE_ELIMIT;
        }
        /* One more byte: a file that grew is still seen to end. procfs files say 0. */
        if ((size_t)st.st_size >= cap)
            cap = (size_t)st.st_size + 1;
    }
    if (cap > max + 1)
        cap = max + 1;
    char *buf = malloc(cap + 1);
    if (!buf)
        return FE_ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) { /* read one byte past the limit: over it */
                free(buf);
                *len = max + 1;
                return FE_ELIMIT;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                return FE_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (errnum)
                *errnum = errno;
            free(buf);
            return FE_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return FE_OK;
}

static const char *file_type(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
                         : "a device or special file";
}

fe_status fe_read_file(const char *path, size_t max, unsigned flags, char **out, size_t *len,
                       char *why, size_t whysz)
{
    char dummy[1];
    if (!whysz) {
        why = dummy;
        whysz = sizeof dummy;
    }
    /* O_NONBLOCK: opening a FIFO for reading blocks until a writer comes (the webhook reads
     * its files on the thread that handles signals and reloads). */
    bool regular = (flags & FE_READ_REGULAR) != 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular ? O_NONBLOCK : 0));
    if (fd < 0) {
        int e = errno;
        snprintf(why, whysz, "%s", strerror(e));
        return e == ENOENT ? FE_ENOENT : FE_EIO;
    }
    struct stat sb;
    if (regular && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        snprintf(why, whysz, "not a regular file (%s)", file_type(sb.st_mode));
        close(fd);
        return FE_ENOTREG;
    }
    int e = 0;
    size_t n = 0;
    char *buf = NULL;
    fe_status st = fe_read_fd(fd, max, &buf, &n, &e);
    close(fd);
    if (st == FE_EIO)
        snprintf(why, whysz, "%s", strerror(e));
    else if (st == FE_ELIMIT)
        snprintf(why, whysz, "larger than %zu bytes", max);
    else if (st == FE_ENOMEM)
        snprintf(why, whysz, "out of memory");
    if (st != FE_OK)
        return st;
    *out = buf;
    *len = n;
    return FE_OK;
}

/* ---------------------------------------------------------------- UTF-8 */

size_t fe_utf8_next(const char *s, size_t n, uint32_t *cp, bool *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t v;
    if (bad)
        *bad = false;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    /* The second byte's range is narrower after E0, ED, F0 and F4: that is what excludes
     * overlong forms, surrogates and values past U+10FFFF. */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0Fu;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07u;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        if (bad)
            *bad = true;
        *cp = FE_REPLACEMENT_CHAR;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || u[i] < lo || u[i] > hi) {
            if (bad)
                *bad = true;
            *cp = FE_REPLACEMENT_CHAR;
            return i;
        }
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (u[i] & 0x3Fu);
    }
    *cp = v;
    return need + 1;
}

size_t fe_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool fe_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) { /* ASCII runs, the common case */
            i++;
            continue;
        }
        uint32_t cp;
        bool bad;
        i += fe_utf8_next(s + i, n - i, &cp, &bad);
        if (bad)
            return false;
    }
    return true;
}

size_t fe_utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            chars++;
    return chars;
}

char *fe_utf8_clean(const char *s, size_t n)
{
    /* A bad byte (1 byte) becomes U+FFFD (3 bytes): at most 3x the input. */
    if (n > (SIZE_MAX - 1) / 3) {
        errno = ENOMEM;
        return NULL;
    }
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp, NULL);
        if (cp == 0)
            cp = FE_REPLACEMENT_CHAR;
        o += fe_utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    return out;
}

/* ---------------------------------------------------------------- JSON */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FE_ONES 0x0101010101010101ull
/* Flags (in its high bit) each byte of v below b (b <= 128); the lowest flag is exact. */
static inline uint64_t fe_bytes_below(uint64_t v, unsigned b)
{
    return (v - FE_ONES * b) & ~v & (FE_ONES << 7);
}
#endif

char *fe_json_escape(char *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
#if defined(__SSE2__)
        /* Sixteen bytes at a time, up to the first that needs an escape (a control byte, a
         * quote or a backslash), which the code below then handles. */
        while (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
            __m128i ctl =
                _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
            __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
            __m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, b)));
            if (m) {
                unsigned k = (unsigned)__builtin_ctz(m);
                memcpy(p, u + i, k);
                p += k;
                i += k;
                break;
            }
            _mm_storeu_si128((__m128i *)(void *)p, v);
            p += 16;
            i += 16;
        }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Eight bytes that need no escape (no control byte, quote or backslash) at a time. */
        while (n - i >= 8) {
            uint64_t v;
            memcpy(&v, u + i, 8);
            if (fe_bytes_below(v, 0x20) | fe_bytes_below(v ^ (FE_ONES * '"'), 1) |
                fe_bytes_below(v ^ (FE_ONES * '\\'), 1))
                break;
            memcpy(p, u + i, 8);
            p += 8;
            i += 8;
        }
        if (i == n)
            break;
#endif
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    return p;
}

void fe_usage_error(FILE *to, const char *prog, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(to, "%s: %s%s", prog, cmd ? cmd : "", cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(to, fmt, ap);
    va_end(ap);
    fprintf(to, "\nTry '%s%s%s --help'.\n", prog, cmd ? " " : "", cmd ? cmd : "");
}
