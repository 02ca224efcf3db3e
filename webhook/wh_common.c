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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

void wh_thread_background(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
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
    /* The shared escaper (frontend/fe.h), a chunk at a time through a bounded buffer. */
    char tmp[FE_JSON_ESCAPED_MAX(128)];
    for (size_t i = 0; i < n && !b->trunc; i += 128) {
        size_t k = n - i < 128 ? n - i : 128;
        char *end = fe_json_escape(tmp, s + i, k);
        wh_buf_putn(b, tmp, (size_t)(end - tmp));
    }
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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Eight bytes at a time while none is a control, DEL, non-ASCII or a double space. */
        const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;
        for (; n - i >= 8; i += 8) {
            uint64_t v, d = 0x7f7f7f7f7f7f7f7full, sp;
            memcpy(&v, s + i, 8);
            sp = v ^ (ones * ' ');
            sp = (sp - ones) & ~sp & highs;
            d ^= v;
            if (((v - ones * 0x20) & ~v & highs) | (v & highs) | ((d - ones) & ~d & highs) |
                (sp & (sp >> 8)) | (s[i + 7] == ' ' && s[i + 8] == ' '))
                break; /* the byte loop below decides */
        }
#endif
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
    while (i < n && chars <= max_chars) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f) { /* printable ASCII but the space: kept as it is */
            i++;
            space = false;
            tmp[len++] = (char)c;
            chars++;
            ends[chars] = len;
            continue;
        }
        uint32_t cp;
        bool bad;
        size_t k = fe_utf8_next(s + i, n - i, &cp, &bad);
        const char *out;
        size_t outn;
        if (bad) {
            out = "\xef\xbf\xbd"; /* U+FFFD */
            outn = 3;
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
        chars = fe_utf8_chars(tmp, len);
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
    char why[200];
    fe_status st = fe_read_file(path, max, FE_READ_REGULAR, out, len, why, sizeof why);
    if (st != FE_OK)
        snprintf(err, errsz, "%s: %s", path, why);
    switch (st) {
    case FE_OK: return WH_OK;
    case FE_ENOMEM: return WH_ENOMEM;
    case FE_ELIMIT: return WH_ELIMIT;
    case FE_EIO:
    case FE_ENOENT:
    case FE_ENOTREG: break;
    }
    return WH_EIO;
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
