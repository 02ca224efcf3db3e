/*
 * kube5xx-webhook: shared helpers (status names, clocks, bounded text).
 */
#include "wh_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *wh_status_str(wh_status st)
{
    switch (st) {
    case WH_OK: return "ok";
    case WH_ENOMEM: return "out of memory";
    case WH_EINVAL: return "invalid argument";
    case WH_EIO: return "input/output error";
    case WH_ETLS: return "unusable certificate or key";
    case WH_EPARSE: return "parse error";
    case WH_EENGINE: return "rule engine error";
    case WH_ETIMEOUT: return "deadline exceeded";
    case WH_EEXIST: return "file exists";
    case WH_ELIMIT: return "limit exceeded";
    case WH_ESERVER: return "server error";
    }
    return "unknown status";
}

int64_t wh_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wh_wall_s(void)
{
    return (int64_t)time(NULL);
}

void wh_buf_init(wh_buf *b, char *storage, size_t cap)
{
    b->p = storage;
    b->len = 0;
    b->cap = cap;
    b->trunc = false;
    if (cap > 0)
        storage[0] = '\0';
}

void wh_buf_putn(wh_buf *b, const char *s, size_t n)
{
    if (b->cap == 0) {
        b->trunc = b->trunc || n > 0;
        return;
    }
    size_t room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        b->trunc = true;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void wh_buf_puts(wh_buf *b, const char *s)
{
    wh_buf_putn(b, s, strlen(s));
}

void wh_buf_printf(wh_buf *b, const char *fmt, ...)
{
    if (b->cap == 0) {
        b->trunc = true;
        return;
    }
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->p[b->len] = '\0';
        b->trunc = true;
        return;
    }
    if ((size_t)n >= room) {
        b->len = b->cap - 1;
        b->trunc = true;
    } else {
        b->len += (size_t)n;
    }
}

void wh_buf_json_str(wh_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        if (esc) {
            wh_buf_putn(b, s + start, i - start);
            wh_buf_puts(b, esc);
            start = i + 1;
        }
    }
    wh_buf_putn(b, s + start, n - start);
}

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

size_t wh_utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            chars++;
    return chars;
}

#define CLEAN_MAX_CHARS 1024u

size_t wh_clean_line(wh_buf *b, const char *s, size_t n, size_t max_chars)
{
    /*
     * Fast path, the common case: short printable ASCII with no space to trim
     * or collapse is copied as is.
     */
    if (n <= max_chars && n <= b->cap - 1 - b->len && (n == 0 || (s[0] != ' ' && s[n - 1] != ' '))) {
        size_t i = 0;
        for (; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c >= 0x7f || (c == ' ' && s[i + 1] == ' '))
                break;
        }
        if (i == n) {
            wh_buf_putn(b, s, n);
            return n;
        }
    }
    /* Each kept character takes at most 4 bytes; keep one more to know we cut. */
    char tmp[(CLEAN_MAX_CHARS + 1) * 4];
    size_t ends[CLEAN_MAX_CHARS + 2]; /* byte length of tmp after k characters */
    if (max_chars > CLEAN_MAX_CHARS)
        max_chars = CLEAN_MAX_CHARS;
    if (max_chars < 4)
        max_chars = 4;
    size_t len = 0, chars = 0, i = 0;
    bool space = true; /* drops leading spaces and collapses runs */
    ends[0] = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (i < n && chars <= max_chars) {
        uint32_t cp;
        size_t k = utf8_decode(u + i, n - i, &cp);
        const char *out;
        size_t outn;
        if (k == 0) {
            out = "\xef\xbf\xbd"; /* U+FFFD */
            outn = 3;
            k = 1;
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
                   cp == 0x2029 || cp == ' ') {
            i += k;
            if (!space) {
                space = true;
                tmp[len++] = ' ';
                chars++;
                ends[chars] = len;
            }
            continue;
        } else {
            out = s + i;
            outn = k;
        }
        i += k;
        space = false;
        memcpy(tmp + len, out, outn);
        len += outn;
        chars++;
        ends[chars] = len;
    }
    bool cut = chars > max_chars;
    if (cut) {
        /* Room for "...", and no dangling space before it. */
        size_t keep = max_chars - 3;
        len = ends[keep];
        while (len > 0 && tmp[len - 1] == ' ') {
            len--;
            keep--;
        }
        memcpy(tmp + len, "...", 3);
        len += 3;
        chars = keep + 3;
    } else {
        while (len > 0 && tmp[len - 1] == ' ') {
            len--;
            chars--;
        }
    }
    /* Whatever room is left in b, cut on a character boundary, never inside one. */
    size_t room = b->cap > b->len ? b->cap - 1 - b->len : 0;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)tmp[len] & 0xc0) == 0x80)
            len--;
        chars = wh_utf8_chars(tmp, len);
        b->trunc = true;
    }
    wh_buf_putn(b, tmp, len);
    return chars;
}

bool wh_duration_parse(const char *s, int64_t *ns_out)
{
    /* The engine's parser (Go's time.ParseDuration grammar): one copy for both front-ends.
     * The webhook's settings are never negative. */
    int64_t ns;
    if (!s || !k5_duration_parse(s, strlen(s), &ns) || ns < 0)
        return false;
    *ns_out = ns;
    return true;
}

wh_file_sig wh_file_sig_of(const char *path)
{
    wh_file_sig s;
    memset(&s, 0, sizeof s);
    struct stat st;
    if (stat(path, &st) != 0)
        return s;
    s.dev = (uint64_t)st.st_dev;
    s.ino = (uint64_t)st.st_ino;
    s.size = (int64_t)st.st_size;
    s.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    s.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    s.ok = true;
    return s;
}

bool wh_file_sig_eq(const wh_file_sig *a, const wh_file_sig *b)
{
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

wh_status wh_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                       size_t errsz)
{
    /*
     * O_NONBLOCK: opening a FIFO for reading blocks until a writer comes, and
     * the caller is the thread that handles signals and reloads. Only regular
     * files are read (a FIFO, directory or device at a config or certificate
     * path is an operator's mistake or an attack, never data).
     */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return WH_EIO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file (%s)", path,
                 S_ISDIR(sb.st_mode)    ? "a directory"
                 : S_ISFIFO(sb.st_mode) ? "a FIFO"
                 : S_ISSOCK(sb.st_mode) ? "a socket"
                                        : "a device or special file");
        close(fd);
        return WH_EIO;
    }
    /* One byte past max is room enough to tell "exactly max" from "larger". */
    size_t cap = max + 1 < 4096 ? max + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    wh_status st = WH_OK;
    if (!buf) {
        st = WH_ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
                st = WH_ELIMIT;
                goto out;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                st = WH_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errsz, "%s: %s", path, strerror(errno));
            st = WH_EIO;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
        st = WH_ELIMIT;
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return st;
}

bool wh_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t k;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            k = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if ((size_t)(e - p) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += k + 1;
    }
    return true;
}

/* True when the text may hold a NUL: a raw 0 byte, or a backslash before "u0000". */
static bool may_hold_nul(const char *s, size_t n)
{
    if (memchr(s, '\0', n))
        return true;
    const char *e = s + n;
    for (const char *p = s; (p = memchr(p, '\\', (size_t)(e - p))) != NULL; p++)
        if (e - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
            return true;
    return false;
}

bool wh_json_member_has_nul(const char *json, size_t len, const char *key, const char *prefix)
{
    /*
     * Nearly every body holds no NUL at all: vectorised searches settle that
     * at a fraction of the cost of the member walk below (it runs per review).
     */
    if (!may_hold_nul(json, len))
        return false;
    size_t klen = strlen(key), plen = strlen(prefix);
    const char *end = json + len;
    for (const char *p = json; p + klen + 2 <= end; p++) {
        if (p[0] != '"' || memcmp(p + 1, key, klen) != 0 || p[klen + 1] != '"')
            continue;
        const char *q = p + klen + 2;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= end || *q != ':')
            continue;
        q++;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= end || *q != '"')
            continue;
        q++;
        /* Walk the raw value, matching it against prefix; after an escape, any match counts. */
        size_t m = 0;
        bool unknown = false, mismatch = false;
        while (q < end && *q != '"') {
            if (*q == '\0' || (*q == '\\' && q + 5 < end && memcmp(q + 1, "u0000", 5) == 0)) {
                if (!mismatch && (unknown || m == plen))
                    return true;
                break;
            }
            if (*q == '\\') {
                unknown = true;
                q += (q + 1 < end && q[1] == 'u') ? 6 : 2;
                continue;
            }
            if (!unknown) {
                if (m < plen && *q == prefix[m])
                    m++;
                else
                    mismatch = true;
            }
            q++;
        }
    }
    return false;
}

bool wh_json_values_exceed(const char *s, size_t n, size_t max)
{
    /* The count grows by at most one a byte: a text shorter than max cannot pass it. */
    if (n < max)
        return false;
    size_t count = 1;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == ',' || c == '[' || c == '{') {
            if (++count > max)
                return true;
        }
    }
    return false;
}
