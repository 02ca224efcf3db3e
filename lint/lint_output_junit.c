/*
 * kube5xx CLI: JUnit XML, for CI systems that show test reports (GitLab,
 * Jenkins, Azure Pipelines).
 *
 * One testsuite. For every object, one testcase per rule that produced a
 * finding on it (classname "Kind/namespace/name", name the rule id), and one
 * passing testcase named "kube5xx" for an object without findings, so the
 * report shows what was checked. A testcase fails when one of its findings is
 * at or above --fail-on, so the report agrees with the exit status; findings
 * below it pass and carry their text in <system-out>. Several findings of one
 * rule on one object (two containers) share a testcase: JUnit allows one
 * <failure> per testcase, so the failure's body lists them all. With
 * --show-suppressed, a rule whose findings were all suppressed is a
 * <skipped> testcase. Each load error is a testcase with an <error>.
 *
 * Every write is stdio's *_unlocked variant: one thread at a time writes a stream here
 * (k5_run_each calls the sink under its lock, which also orders the threads' writes), and
 * taking the stream's lock per call was a tenth of the format's time on large inputs.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "lint_output_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * The testcases are rendered into a buffer and written to the stream a block at a time: writing
 * them piece by piece through stdio (a call per attribute, word and reference) was about a fifth
 * of the format's time on large inputs.
 */
typedef struct xout {
    FILE *fp;
    char *buf;
    size_t len, cap;
} xout;

#define XOUT_CAP (1u << 16)

static void xo_flush(xout *x)
{
    if (x->len)
        fwrite_unlocked(x->buf, 1, x->len, x->fp);
    x->len = 0;
}

static void xo_write(xout *x, const char *s, size_t n)
{
    if (n > x->cap - x->len) {
        xo_flush(x);
        if (n > x->cap) {
            fwrite_unlocked(s, 1, n, x->fp);
            return;
        }
    }
    memcpy(x->buf + x->len, s, n);
    x->len += n;
}

/* Inline so that the length of a literal is known at compile time. */
static inline void xo_puts(xout *x, const char *s)
{
    xo_write(x, s, strlen(s));
}

static inline void xo_putc(xout *x, char c)
{
    if (x->len == x->cap)
        xo_flush(x);
    x->buf[x->len++] = c;
}

static void xo_put_cp(xout *x, uint32_t cp)
{
    char buf[4];
    xo_write(x, buf, fe_utf8_encode(cp, buf));
}

/* A writer over fp with a buffer of XOUT_CAP bytes, or of a few when there is no memory. */
static void xo_init(xout *x, FILE *fp, char *small, size_t small_cap)
{
    x->fp = fp;
    x->len = 0;
    x->buf = malloc(XOUT_CAP);
    x->cap = XOUT_CAP;
    if (!x->buf) {
        x->buf = small;
        x->cap = small_cap;
    }
}

static void xo_done(xout *x, char *small)
{
    xo_flush(x);
    if (x->buf != small)
        free(x->buf);
    x->buf = NULL;
}

/*
 * Writes s escaped for XML 1.0, repaired to valid UTF-8. In attributes,
 * newlines and tabs become character references so that attribute-value
 * normalisation does not turn them into spaces. C0 controls other than tab,
 * CR and LF cannot appear in XML 1.0 at all, not even as references: they are
 * written as a visible "\xNN".
 */
/* A byte written as it is: printable ASCII that needs no reference (not & < >), in
 * attributes not " ' either, in text also LF and tab (plain[attr][byte]). Rows of 16 from
 * 0x00; the bytes from 0x80 are 0 (plain C11: no range designators). */
static const bool plain[2][256] = {
    {
        /* text */
        /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
        /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x20 */ 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
        /* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    },
    {
        /* attributes */
        /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x20 */ 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
        /* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        /* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    }};

/* The length of the run of plain bytes at the start of s[0..n). */
static size_t plain_run(const char *s, size_t n, bool attr)
{
    const unsigned char *u = (const unsigned char *)s;
    const bool *t = plain[attr];
    size_t i = 0;
#if defined(__SSE2__)
    /* Sixteen bytes at a time: a byte below 0x20 or from 0x7F (signed: below 0x20, or 0x7F),
     * not LF or tab in text, or & < >, or in attributes " '. */
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        __m128i odd = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
        __m128i ref = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('&')),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                                _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));
        if (attr) {
            ref = _mm_or_si128(ref, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))));
        } else {
            __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
            odd = _mm_andnot_si128(ws, odd);
        }
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(odd, ref));
        if (m)
            return i + (unsigned)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && t[u[i]])
        i++;
    return i;
}

static void put_xmln(xout *x, const char *s, size_t n, bool attr)
{
    if (!s)
        return;
    for (size_t i = 0; i < n;) {
        size_t run = plain_run(s + i, n - i, attr);
        if (run > 0) {
            xo_write(x, s + i, run);
            i += run;
            continue;
        }
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp, NULL);
        switch (cp) {
        case '&':
            xo_puts(x, "&amp;");
            break;
        case '<':
            xo_puts(x, "&lt;");
            break;
        case '>':
            xo_puts(x, "&gt;");
            break;
        case '"':
            xo_puts(x, attr ? "&quot;" : "\"");
            break;
        case '\'':
            xo_puts(x, attr ? "&apos;" : "'");
            break;
        case '\n':
            xo_puts(x, attr ? "&#10;" : "\n");
            break;
        case '\t':
            xo_puts(x, attr ? "&#9;" : "\t");
            break;
        case '\r':
            xo_puts(x, "&#13;");
            break;
        case 0xFFFE:
        case 0xFFFF:
            xo_put_cp(x, FE_REPLACEMENT_CHAR);
            break;
        default:
            if (cp < 0x20) {
                static const char hex[] = "0123456789ABCDEF";
                char b[4] = {'\\', 'x', hex[cp >> 4], hex[cp & 15]};
                xo_write(x, b, sizeof b);
            } else {
                xo_put_cp(x, cp);
            }
        }
    }
}

/* "%lu" without printf: a line and column per finding. */
static void put_ulong(xout *x, unsigned long v)
{
    char buf[24], *e = buf + sizeof buf, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    xo_write(x, p, (size_t)(e - p));
}

static void put_xml(xout *x, const char *s, bool attr)
{
    put_xmln(x, s, lint_strlen0(s), attr);
}

static void put_xml_str(xout *x, k5_str s, bool attr)
{
    put_xmln(x, s.p, s.p ? s.n : 0, attr);
}

static void put_xml_object_id(xout *x, const k5_object *obj)
{
    if (!obj)
        return;
    put_xml_str(x, obj->kind, true);
    xo_putc(x, '/');
    put_xml_str(x, obj->namespace_, true);
    xo_putc(x, '/');
    put_xml_str(x, obj->name, true);
}

/* "file:line:col: severity: message [rule] (Kind ns/name, from source)", as in the text format. */
static void put_finding_line(xout *x, const k5_finding *f)
{
    put_xml(x, f->file ? f->file : LINT_STDIN_NAME, false);
    if (f->line > 0) {
        xo_putc(x, ':');
        put_ulong(x, (unsigned long)f->line);
        if (f->column > 0) {
            xo_putc(x, ':');
            put_ulong(x, (unsigned long)f->column);
        }
    }
    xo_puts(x, ": ");
    xo_puts(x, lint_severity_name(f->severity));
    xo_puts(x, ": ");
    put_xml(x, f->message, false);
    xo_puts(x, " [");
    put_xml(x, f->rule ? f->rule->id : "", false);
    xo_putc(x, ']');
    if (f->object) {
        xo_puts(x, " (");
        put_xml_str(x, f->object->kind, false);
        xo_putc(x, ' ');
        put_xml_str(x, f->object->namespace_, false);
        xo_putc(x, '/');
        put_xml_str(x, f->object->name, false);
        if (f->source) {
            xo_puts(x, ", from ");
            put_xml(x, f->source, false);
        }
        xo_putc(x, ')');
    }
    if (f->suppressed) {
        xo_puts(x, " [suppressed");
        if (f->suppress_reason) {
            xo_puts(x, ": ");
            put_xml(x, f->suppress_reason, false);
        }
        xo_putc(x, ']');
    }
    xo_putc(x, '\n');
}

/* A finding, keyed for grouping by object then rule. */
typedef struct entry {
    size_t object; /* object index, or the object count for findings without one */
    size_t rule;
    size_t order; /* in the report */
    const k5_finding *f;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->object != y->object)
        return x->object < y->object ? -1 : 1;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef enum verdict { V_NONE, V_PASS, V_FAIL, V_SKIP } verdict;

typedef struct counts {
    size_t tests, failures, skipped;
} counts;

/* What a group of findings (one object, one rule) becomes. */
static verdict judge(const lint_output *o, const entry *g, size_t n)
{
    bool visible = false, fail = false;
    for (size_t i = 0; i < n; i++) {
        const k5_finding *f = g[i].f;
        if (f->suppressed)
            continue;
        visible = true;
        if (f->severity >= o->fail_on)
            fail = true;
    }
    if (fail)
        return V_FAIL;
    if (visible)
        return V_PASS;
    return o->show_suppressed ? V_SKIP : V_NONE;
}

static bool shown(const lint_output *o, const k5_finding *f)
{
    return !f->suppressed || o->show_suppressed;
}

static void put_group(const lint_output *o, xout *x, const entry *g, size_t n, verdict v)
{
    const k5_finding *first = g[0].f;
    /* The first finding that is not suppressed names the testcase's location. */
    for (size_t i = 0; i < n; i++) {
        if (!g[i].f->suppressed) {
            first = g[i].f;
            break;
        }
    }

    xo_puts(x, "    <testcase classname=\"");
    put_xml_object_id(x, first->object);
    xo_puts(x, "\" name=\"");
    put_xml(x, first->rule ? first->rule->id : "", true);
    xo_puts(x, "\" file=\"");
    put_xml(x, first->file ? first->file : LINT_STDIN_NAME, true);
    xo_putc(x, '"');
    if (first->line > 0) {
        xo_puts(x, " line=\"");
        put_ulong(x, (unsigned long)first->line);
        xo_putc(x, '"');
    }
    xo_puts(x, ">\n");

    switch (v) {
    case V_FAIL:
        xo_puts(x, "      <failure message=\"");
        put_xml(x, first->message, true);
        xo_puts(x, "\" type=\"");
        xo_puts(x, lint_severity_name(first->severity));
        xo_puts(x, "\">");
        for (size_t i = 0; i < n; i++)
            if (shown(o, g[i].f))
                put_finding_line(x, g[i].f);
        xo_puts(x, "</failure>\n");
        break;
    case V_PASS:
        xo_puts(x, "      <system-out>");
        for (size_t i = 0; i < n; i++)
            if (shown(o, g[i].f))
                put_finding_line(x, g[i].f);
        xo_puts(x, "</system-out>\n");
        break;
    case V_SKIP:
        xo_puts(x, "      <skipped message=\"suppressed");
        if (first->suppress_reason) {
            xo_puts(x, ": ");
            put_xml(x, first->suppress_reason, true);
        }
        xo_puts(x, "\"/>\n");
        break;
    case V_NONE:
        break;
    }
    xo_puts(x, "    </testcase>\n");
}

static void put_clean_object(xout *x, const k5_docset *set, const k5_object *obj)
{
    xo_puts(x, "    <testcase classname=\"");
    put_xml_object_id(x, obj);
    xo_puts(x, "\" name=\"kube5xx\" file=\"");
    const char *file = set ? k5_docset_file_name(set, obj->file) : NULL;
    put_xml(x, file ? file : LINT_STDIN_NAME, true);
    xo_putc(x, '"');
    k5_position pos = set ? k5_docset_position(set, obj->file, obj->root) : (k5_position){0, 0};
    if (pos.line > 0) {
        xo_puts(x, " line=\"");
        put_ulong(x, (unsigned long)pos.line);
        xo_putc(x, '"');
    }
    xo_puts(x, "/>\n");
}

/*
 * The spool of compact records. To a pipe or a device the counts that open the document are
 * known only at the end, so the testcases wait in an unlinked temporary file. Rendered, they
 * were ~500 bytes per finding (3.4x the input on a minified JSON List: the message twice, the
 * classname, file and rule three times, the markup); what a testcase needs that is not still
 * in the docset at close is the finding's line, column, severity, flags, message and
 * suppression reason, so that is what the spool keeps, and close renders the testcases from
 * it with the same put_group. A message is kept as the bytes that differ from the last message
 * of the same rule (the rules' messages differ in a few names and numbers): its common prefix
 * and suffix lengths, then the middle. Clean objects are not spooled at all: an object without
 * a record is one. The records, in the order the testcases are written:
 *
 *   tag          1 byte: TAG_PASS, TAG_FAIL or TAG_SKIP (a group of findings of one rule on one
 *                object, compact), TAG_RAW (a testcase spooled as its rendered text) or
 *                TAG_RAW_NONE (the same, of findings with no object of the set)
 *   before       varint, added to the previous record's: every object below it has all its
 *                testcases written before this record; the object of every tag but TAG_RAW_NONE
 *   compact:     varint rule index, varint count, then per finding: 1 byte of flags (severity,
 *                suppressed, from a Helm source, has a reason), varint line, varint column,
 *                varint prefix, varint suffix, varint middle length, the middle's bytes, and
 *                with a reason its varint length and bytes
 *   raw:         varint length, the bytes
 *
 * Varints are little-endian base 128. A group is compact when its object is the set's, its
 * rule the registry's, and each finding's file and source are its object's (always, in a lint);
 * anything else is spooled rendered, so every input gives the bytes it gave before.
 */
enum { TAG_PASS = 1, TAG_FAIL = 2, TAG_SKIP = 3, TAG_RAW = 4, TAG_RAW_NONE = 5 };
enum { FL_SEV = 3, FL_SUPPRESSED = 4, FL_SOURCE = 8, FL_REASON = 16 };

/* The last message of one rule, written or read. */
typedef struct msgbuf {
    char *p;
    size_t n, cap;
} msgbuf;

typedef struct spool {
    FILE *fp;
    xout w;         /* records on their way to fp */
    char small[64]; /* w's buffer when no bigger one can be had */
    size_t before;  /* the last record's `before` */
    size_t walked;  /* objects walked so far: the `before` of a TAG_RAW_NONE record */
    msgbuf *last;   /* per rule of the registry */
    size_t nrules;
    bool oom;
} spool;

static bool msg_set(msgbuf *m, const char *s, size_t n)
{
    if (n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < n + 1)
            cap *= 2;
        char *p = realloc(m->p, cap);
        if (!p)
            return false;
        m->p = p;
        m->cap = cap;
    }
    if (n)
        memcpy(m->p, s, n);
    m->p[n] = '\0';
    m->n = n;
    return true;
}

#define VARINT_MAX ((sizeof(size_t) * CHAR_BIT + 6) / 7)

/* Inline, into the buffer's room (the smallest buffer holds a varint): several per finding. */
static inline void sp_varint(xout *x, size_t v)
{
    if (x->cap - x->len < VARINT_MAX)
        xo_flush(x);
    char *b = x->buf + x->len;
    size_t k = 0;
    while (v >= 0x80) {
        b[k++] = (char)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    b[k++] = (char)v;
    x->len += k;
}

static void sp_record(spool *sp, int tag, size_t before)
{
    xo_putc(&sp->w, (char)tag);
    sp_varint(&sp->w, before - sp->before);
    sp->before = before;
}

/* The bytes a[0..n) and b[0..n) have in common at their start; eight at a time where the
 * byte order lets the first difference be found from the lowest set bit. */
static size_t common_prefix(const char *a, const char *b, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + (size_t)__builtin_ctzll(x ^ y) / 8;
    }
#endif
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The bytes the n before a_end and the n before b_end have in common at their end. */
static size_t common_suffix(const char *a_end, const char *b_end, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a_end - i - 8, 8);
        memcpy(&y, b_end - i - 8, 8);
        if (x != y)
            return i + (size_t)__builtin_clzll(x ^ y) / 8;
    }
#endif
    while (i < n && a_end[-1 - (ptrdiff_t)i] == b_end[-1 - (ptrdiff_t)i])
        i++;
    return i;
}

/* The message of rule r: its difference from the rule's last one, which it then becomes. */
static void sp_message(spool *sp, size_t r, const char *s)
{
    if (!s)
        s = ""; /* written as "", as put_xml writes NULL */
    size_t n = strlen(s);
    msgbuf *m = &sp->last[r];
    size_t most = n < m->n ? n : m->n;
    size_t pre = m->n ? common_prefix(m->p, s, most) : 0;
    size_t suf = m->n ? common_suffix(m->p + m->n, s + n, most - pre) : 0;
    sp_varint(&sp->w, pre);
    sp_varint(&sp->w, suf);
    sp_varint(&sp->w, n - pre - suf);
    xo_write(&sp->w, s + pre, n - pre - suf);
    if (!msg_set(m, s, n))
        sp->oom = true;
}

/* The testcase as its text: a group that does not fit the compact record. */
static void sp_raw(const lint_output *o, spool *sp, const entry *g, size_t n, verdict v,
                   size_t obj)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        sp->oom = true;
        return;
    }
    char small[256];
    xout x;
    xo_init(&x, m, small, sizeof small);
    put_group(o, &x, g, n, v);
    xo_done(&x, small);
    if (fclose(m) != 0 || !buf) {
        free(buf);
        sp->oom = true;
        return;
    }
    if (obj < nobjects)
        sp_record(sp, TAG_RAW, obj);
    else
        sp_record(sp, TAG_RAW_NONE, sp->walked);
    sp_varint(&sp->w, len);
    xo_write(&sp->w, buf, len);
    free(buf);
}

/* Whether f's file and Helm source are those its object gives (what the renderer will use). */
static bool of_object(const lint_output *o, const k5_finding *f)
{
    const k5_object *obj = f->object;
    const char *file = k5_docset_file_name(o->set, obj->file);
    if (f->file != file && (!f->file || !file || strcmp(f->file, file) != 0))
        return false;
    if (!f->source || !obj->source.p)
        return !f->source && !obj->source.p;
    return strlen(f->source) == obj->source.n &&
           memcmp(f->source, obj->source.p, obj->source.n) == 0;
}

/* A group of findings (one object, one rule) as a record: the findings its testcase shows
 * (a skipped one shows only its first finding's reason). */
static void sp_group(const lint_output *o, spool *sp, const entry *g, size_t n, verdict v,
                     size_t obj)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    size_t r = g[0].rule, keep = 0;
    bool compact = obj < nobjects && r < sp->nrules;
    for (size_t i = 0; compact && i < n; i++) {
        const k5_finding *f = g[i].f;
        if (v == V_SKIP ? i > 0 : !shown(o, f))
            continue;
        keep++;
        compact = (unsigned)f->severity <= FL_SEV && of_object(o, f);
    }
    if (!compact) {
        sp_raw(o, sp, g, n, v, obj);
        return;
    }
    sp_record(sp, v == V_FAIL ? TAG_FAIL : v == V_PASS ? TAG_PASS : TAG_SKIP, obj);
    sp_varint(&sp->w, r);
    sp_varint(&sp->w, keep);
    for (size_t i = 0; i < n; i++) {
        const k5_finding *f = g[i].f;
        if (v == V_SKIP ? i > 0 : !shown(o, f))
            continue;
        xo_putc(&sp->w,
                (char)((unsigned)f->severity | (f->suppressed ? FL_SUPPRESSED : 0) |
                       (f->source ? FL_SOURCE : 0) | (f->suppress_reason ? FL_REASON : 0)));
        sp_varint(&sp->w, f->line);
        sp_varint(&sp->w, f->column);
        sp_message(sp, r, f->message);
        if (f->suppress_reason) {
            size_t k = strlen(f->suppress_reason);
            sp_varint(&sp->w, k);
            xo_write(&sp->w, f->suppress_reason, k);
        }
    }
}

/*
 * Walks the testcases of objects [from, to) in order (the object count stands for findings
 * whose object is unknown), given the sorted entries of those objects' findings, counting
 * them into *c and writing them to x, or as records to sp (clean objects: nothing), unless
 * both are NULL.
 */
static void walk(const lint_output *o, const entry *es, size_t n, size_t from, size_t to, xout *x,
                 spool *sp, counts *c)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    size_t e = 0;
    for (size_t obj = from; obj < to; obj++) {
        bool any = false;
        while (e < n && es[e].object == obj) {
            size_t end = e;
            while (end < n && es[end].object == obj && es[end].rule == es[e].rule)
                end++;
            verdict v = judge(o, es + e, end - e);
            if (v != V_NONE) {
                any = true;
                c->tests++;
                c->failures += v == V_FAIL;
                c->skipped += v == V_SKIP;
                if (x)
                    put_group(o, x, es + e, end - e, v);
                else if (sp)
                    sp_group(o, sp, es + e, end - e, v, obj);
            }
            e = end;
        }
        if (!any && obj < nobjects) {
            c->tests++;
            if (x)
                put_clean_object(x, o->set, k5_docset_object(o->set, obj));
        }
    }
}

/* Entries for findings f[0..n), numbered from `order`, sorted; NULL when out of memory. */
static entry *entries(const lint_output *o, const k5_finding *const *f, size_t n, size_t order)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    entry *es = calloc(n ? n : 1, sizeof *es);
    if (!es)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t obj = f[i]->object ? f[i]->object->index : nobjects;
        if (obj > nobjects || (obj < nobjects && k5_docset_object(o->set, obj) != f[i]->object))
            obj = nobjects;
        es[i].object = obj;
        es[i].rule = f[i]->rule ? k5_rule_index(f[i]->rule) : SIZE_MAX;
        es[i].order = order + i;
        es[i].f = f[i];
    }
    if (n > 1)
        qsort(es, n, sizeof *es, entry_cmp);
    return es;
}

/* Digits of v in decimal. */
static size_t ndigits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/*
 * The counts of the <testsuites> and <testsuite> elements are written in a field of fixed
 * width, padded with spaces before the '>' (white space a start tag allows), so that a stream
 * written straight to a file can write its head first, without the counts, and fill them in
 * when it ends (see junit_open); every writer pads the same way, so the bytes do not depend on
 * where the report goes. The width holds the digits of a bound every count stays under, known
 * before the first finding: a testcase is a load error, a clean object or one (object, rule)
 * group, where the object is one of the set's or "none" and the rule one of the registry's or
 * none (entries' keys).
 */
static size_t count_width(const lint_output *o)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    size_t groups = nobjects + 1, rules = k5_rule_count() + 1, bound = SIZE_MAX;
    if (groups <= SIZE_MAX / rules && groups * rules <= SIZE_MAX - o->nerrors)
        bound = groups * rules + o->nerrors;
    return ndigits(bound);
}

/* The widest counts field: four attributes of 20 digits (SIZE_MAX) each. */
#define COUNTS_MAX (sizeof " tests=\"\" failures=\"\" errors=\"\" skipped=\"\"" - 1 + 4 * 20)

/*
 * The document's first lines, through the <testsuite> start tag, into buf (of at least
 * HEAD_MAX bytes); c NULL leaves the counts out (spaces in their place). Returns the length,
 * the same with or without counts.
 */
#define HEAD_MAX (256 + 2 * COUNTS_MAX)

static size_t head_text(char *buf, const lint_output *o, const counts *c, size_t width)
{
    size_t field = sizeof " tests=\"\" failures=\"\" errors=\"\" skipped=\"\"" - 1 + 4 * width;
    char counts_buf[COUNTS_MAX + 1];
    size_t n = 0;
    if (c) {
        int k = snprintf(counts_buf, sizeof counts_buf,
                         " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"",
                         c->tests + o->nerrors, c->failures, o->nerrors, c->skipped);
        n = k > 0 ? (size_t)k : 0;
    }
    if (n > field)
        n = field; /* cannot happen: every count is under the bound */
    memset(counts_buf + n, ' ', field - n);
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    static const char suites[] = "<testsuites name=\"kube5xx\"";
    static const char suite[] = ">\n  <testsuite name=\"kube5xx\"";
    size_t len = 0;
    memcpy(buf + len, decl, sizeof decl - 1);
    len += sizeof decl - 1;
    memcpy(buf + len, suites, sizeof suites - 1);
    len += sizeof suites - 1;
    memcpy(buf + len, counts_buf, field);
    len += field;
    memcpy(buf + len, suite, sizeof suite - 1);
    len += sizeof suite - 1;
    memcpy(buf + len, counts_buf, field);
    len += field;
    buf[len++] = '>';
    buf[len++] = '\n';
    return len;
}

/* The properties and the load errors' testcases: what follows the head, before the objects'
 * testcases. */
static void put_head_rest(const lint_output *o)
{
    FILE *fp = o->fp;
    fputs_unlocked(
        "    <properties>\n      <property name=\"kube5xx.version\" value=\"" KUBE5XX_VERSION
        "\"/>\n",
        fp);
    fprintf(fp, "      <property name=\"kube5xx.fail-on\" value=\"%s\"/>\n    </properties>\n",
            lint_severity_name(o->fail_on));

    char small[256];
    xout x;
    xo_init(&x, fp, small, sizeof small);
    for (size_t i = 0; i < o->nerrors; i++) {
        const lint_load_error *e = &o->errors[i];
        xo_puts(&x, "    <testcase classname=\"");
        put_xml(&x, e->file ? e->file : LINT_STDIN_NAME, true);
        xo_puts(&x, "\" name=\"load\" file=\"");
        put_xml(&x, e->file ? e->file : LINT_STDIN_NAME, true);
        xo_putc(&x, '"');
        if (e->line > 0) {
            xo_puts(&x, " line=\"");
            put_ulong(&x, (unsigned long)e->line);
            xo_putc(&x, '"');
        }
        xo_puts(&x, ">\n      <error message=\"");
        put_xml(&x, e->message, true);
        xo_puts(&x, "\" type=\"load-error\">");
        put_xml(&x, e->file ? e->file : LINT_STDIN_NAME, false);
        if (e->line > 0) {
            xo_putc(&x, ':');
            put_ulong(&x, (unsigned long)e->line);
            if (e->column > 0) {
                xo_putc(&x, ':');
                put_ulong(&x, (unsigned long)e->column);
            }
        }
        xo_puts(&x, ": error: ");
        put_xml(&x, e->message, false);
        xo_puts(&x, "\n</error>\n    </testcase>\n");
    }
    xo_done(&x, small);
}

/* The head with its counts, then the rest of what comes before the objects' testcases. */
static void put_head(const lint_output *o, counts c)
{
    char head[HEAD_MAX];
    fwrite_unlocked(head, 1, head_text(head, o, &c, count_width(o)), o->fp);
    put_head_rest(o);
}

static const char JUNIT_FOOT[] = "  </testsuite>\n</testsuites>\n";

/* A whole report: the testcases walked twice, once to count them for the testsuite element
 * that comes first, once to write them. */
int lint_output_junit(const lint_output *o)
{
    size_t n = o->report ? k5_report_count(o->report) : 0;
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    const k5_finding **fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        fs[i] = k5_report_at(o->report, i);
    entry *es = entries(o, fs, n, 0);
    free(fs);
    if (!es) {
        errno = ENOMEM;
        return -1;
    }
    counts c = {0};
    walk(o, es, n, 0, nobjects + 1, NULL, NULL, &c);
    errno = 0;
    put_head(o, c);
    counts again = {0};
    char small[256];
    xout x;
    xo_init(&x, o->fp, small, sizeof small);
    walk(o, es, n, 0, nobjects + 1, &x, NULL, &again);
    xo_done(&x, small);
    free(es);
    fputs_unlocked(JUNIT_FOOT, o->fp);
    return lint_output_finish(o->fp);
}

/*
 * Streaming. The testsuite element carries the counts and comes before every testcase, and
 * the output must stay the whole-report writer's byte for byte. Two ways:
 * - straight: when the report goes to a regular file that is not in append mode (what CI
 *   does: `-o report.xml`, `> report.xml`), the head is written first with spaces where the
 *   counts go (head_text), the testcases follow as the batches come (counted meanwhile), and
 *   close writes the head again over the first, with its counts (pwrite at the head's offset;
 *   in append mode Linux's pwrite would append instead, so that takes the other way);
 * - spooled: to a pipe, a terminal or anything else that cannot be written back, the
 *   testcases go as compact records (above) to an unlinked temporary file as the batches come,
 *   and close writes the head, then renders them after it. The file (~11% of the testcases'
 *   text on a minified JSON List) is in $TMPDIR, else /tmp, or in memory when no temporary
 *   file can be made.
 * Memory holds one batch's entries either way, and the last message of each rule.
 */
typedef struct junit_stream {
    spool sp;  /* sp.fp NULL when straight */
    char *mem; /* open_memstream's buffer, when the spool is in memory */
    size_t memlen;
    char *spool_buf;              /* the file spool's stdio buffer */
    char spool_dir[PATH_MAX + 8]; /* where the file spool is, for an error message */
    off_t head_at;                /* straight: where the head starts in the output file */
    xout x;                       /* testcases on their way to the output */
    char small[256];              /* x's buffer when no bigger one can be had */
    counts c;
    size_t next;  /* the first object not walked yet */
    size_t order; /* findings seen so far */
    const k5_finding **batch;
    size_t batch_cap;
} junit_stream;

/* Where fp's next byte goes, when fp is a regular file that can be written back; else -1. */
static off_t rewritable_at(FILE *fp)
{
    int fd = fileno(fp);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_APPEND) || (fl & O_ACCMODE) == O_RDONLY)
        return -1;
    return ftello(fp);
}

static FILE *spool_file(char *dir_out, size_t dir_size)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(dir_out, dir_size, "%s", dir);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/kube5xx-junit-XXXXXX", dir) >= (int)sizeof path)
        return NULL;
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    unlink(path);
    FILE *fp = fdopen(fd, "w+");
    if (!fp)
        close(fd);
    return fp;
}

#define SPOOL_BUF (1u << 20)

/* Names the spool in o's error detail, when it was the spool that failed. */
static void spool_failed(const junit_stream *js, const lint_output *o)
{
    if (!o->failed_at || !o->failed_at_size)
        return;
    if (js->mem)
        snprintf(o->failed_at, o->failed_at_size, "JUnit's testcases held in memory");
    else
        snprintf(o->failed_at, o->failed_at_size, "JUnit's temporary file in %s", js->spool_dir);
}

static int junit_open(lint_stream *s)
{
    junit_stream *js = calloc(1, sizeof *js);
    if (!js) {
        errno = ENOMEM;
        return -1;
    }
    s->state = js;
    const lint_output *o = s->o;
    js->head_at = rewritable_at(o->fp);
    if (js->head_at >= 0) {
        char head[HEAD_MAX];
        fwrite_unlocked(head, 1, head_text(head, o, NULL, count_width(o)), o->fp);
        put_head_rest(o);
        xo_init(&js->x, o->fp, js->small, sizeof js->small);
        return ferror(o->fp) ? -1 : 0;
    }
    js->sp.nrules = k5_rule_count();
    js->sp.last = calloc(js->sp.nrules ? js->sp.nrules : 1, sizeof *js->sp.last);
    if (!js->sp.last) {
        errno = ENOMEM;
        return -1;
    }
    js->sp.fp = spool_file(js->spool_dir, sizeof js->spool_dir);
    /* A 1 MiB buffer: the default (a page) made a write system call per 4 KiB. */
    if (js->sp.fp && (js->spool_buf = malloc(SPOOL_BUF)) != NULL)
        setvbuf(js->sp.fp, js->spool_buf, _IOFBF, SPOOL_BUF);
    if (!js->sp.fp)
        js->sp.fp = open_memstream(&js->mem, &js->memlen);
    if (!js->sp.fp) {
        errno = ENOMEM;
        return -1;
    }
    xo_init(&js->sp.w, js->sp.fp, js->sp.small, sizeof js->sp.small);
    return 0;
}

/*
 * A batch holds the findings of consecutive objects, after those of every earlier batch
 * (k5_run_each): the objects before its first one that were not walked yet have no findings,
 * and the batch's own are walked through its last object with findings.
 */
static int junit_findings(lint_stream *s, const k5_finding *f, size_t n)
{
    junit_stream *js = s->state;
    const lint_output *o = s->o;
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    if (n > js->batch_cap) {
        const k5_finding **b = realloc(js->batch, n * sizeof *b);
        if (!b) {
            errno = ENOMEM;
            return -1;
        }
        js->batch = b;
        js->batch_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        js->batch[i] = &f[i];
    entry *es = entries(o, js->batch, n, js->order);
    if (!es) {
        errno = ENOMEM;
        return -1;
    }
    js->order += n;
    xout *x = js->sp.fp ? NULL : &js->x;
    spool *sp = js->sp.fp ? &js->sp : NULL;
    /* Entries sort by object; an unknown object (the object count) sorts last. In a lint
     * every finding's object is one of the set's, so there are none of those. */
    size_t known = n;
    while (known > 0 && es[known - 1].object >= nobjects)
        known--;
    if (known > 0) {
        size_t upto = es[known - 1].object + 1;
        if (upto > js->next) {
            walk(o, es, known, js->next, upto, x, sp, &js->c);
            js->next = upto;
        }
    }
    js->sp.walked = js->next;
    if (known < n)
        walk(o, es + known, n - known, nobjects, nobjects + 1, x, sp, &js->c);
    free(es);
    if (js->sp.oom) {
        errno = ENOMEM;
        return -1;
    }
    if (x) {
        xo_flush(x);
        return ferror(o->fp) ? -1 : 0;
    }
    xo_flush(&js->sp.w);
    if (ferror(js->sp.fp)) {
        if (!errno)
            errno = EIO;
        spool_failed(js, o);
        return -1;
    }
    return 0;
}

/* The foot, then the head again over the one written without counts. */
static int close_straight(junit_stream *js, const lint_output *o)
{
    fputs_unlocked(JUNIT_FOOT, o->fp);
    if (lint_output_finish(o->fp) != 0)
        return -1;
    char head[HEAD_MAX];
    size_t len = head_text(head, o, &js->c, count_width(o)), done = 0;
    while (done < len) {
        ssize_t k = pwrite(fileno(o->fp), head + done, len - done, js->head_at + (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!errno)
                errno = EIO;
            return -1;
        }
        done += (size_t)k;
    }
    errno = 0;
    return 0;
}

/* The spool read back: its file through a buffer, or its memory at once. */
typedef struct reader {
    int fd; /* -1: all of it is in [p, end) */
    char *buf;
    size_t cap;
    const unsigned char *p, *end;
    bool failed; /* a read failed (errno set) or the records are not what was written */
} reader;

/* Refills r; false at the end or on failure. */
static bool rd_fill(reader *r)
{
    if (r->fd < 0 || r->failed)
        return false;
    ssize_t k;
    do
        k = read(r->fd, r->buf, r->cap);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        r->failed = true;
    if (k <= 0)
        return false;
    r->p = (const unsigned char *)r->buf;
    r->end = r->p + k;
    return true;
}

/* The next byte, or -1 at the end (or on failure). */
static inline int rd_byte(reader *r)
{
    if (r->p == r->end && !rd_fill(r))
        return -1;
    return *r->p++;
}

/* A byte that must be there (inside a record). */
static unsigned rd_need(reader *r)
{
    int c = rd_byte(r);
    if (c < 0) {
        r->failed = true;
        return 0;
    }
    return (unsigned)c;
}

static inline size_t rd_varint(reader *r)
{
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++; /* one byte: most of them */
    size_t v = 0;
    for (unsigned shift = 0; !r->failed; shift += 7) {
        unsigned c = rd_need(r);
        /* More bits than a size_t holds: not a varint this file wrote. */
        if (shift >= sizeof v * CHAR_BIT ||
            (shift > sizeof v * CHAR_BIT - 7 && (c & 0x7F) >> (sizeof v * CHAR_BIT - shift))) {
            r->failed = true;
            break;
        }
        v |= (size_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            break;
    }
    return r->failed ? 0 : v;
}

/* n bytes to `to`, or to x when `to` is NULL. */
static void rd_bytes(reader *r, char *to, xout *x, size_t n)
{
    while (n > 0 && !r->failed) {
        if (r->p == r->end && !rd_fill(r)) {
            r->failed = true;
            break;
        }
        size_t k = (size_t)(r->end - r->p);
        if (k > n)
            k = n;
        if (to) {
            memcpy(to, r->p, k);
            to += k;
        } else {
            xo_write(x, (const char *)r->p, k);
        }
        r->p += k;
        n -= k;
    }
}

/* What close needs to turn a group's record back into the findings put_group renders. */
typedef struct group_buf {
    k5_finding *fs;
    entry *es;
    size_t *offs; /* message and reason offsets into text, two per finding */
    size_t cap;
    char *text;
    size_t len, text_cap;
} group_buf;

/* Room for n more bytes of text; NULL when out of memory. */
static char *gb_room(group_buf *b, size_t n)
{
    if (n > b->text_cap - b->len) {
        if (n > SIZE_MAX / 2 - b->len)
            return NULL;
        size_t cap = b->text_cap ? b->text_cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t)
            return NULL;
        b->text = t;
        b->text_cap = cap;
    }
    return b->text + b->len;
}

/* Decodes a compact group of object `at` and renders its testcase. Returns false when out of
 * memory (errno ENOMEM) or when the reader failed. */
static bool render_group(const lint_output *o, reader *r, spool *sp, group_buf *b, xout *x,
                         verdict v, size_t at)
{
    size_t rule = rd_varint(r), n = rd_varint(r);
    if (r->failed || rule >= sp->nrules || n == 0)
        return r->failed = true, false;
    if (n > b->cap) {
        if (n > SIZE_MAX / (2 * sizeof *b->offs))
            return errno = ENOMEM, false;
        k5_finding *fs = realloc(b->fs, n * sizeof *fs);
        if (fs)
            b->fs = fs;
        entry *es = realloc(b->es, n * sizeof *es);
        if (es)
            b->es = es;
        size_t *offs = realloc(b->offs, 2 * n * sizeof *offs);
        if (offs)
            b->offs = offs;
        if (!fs || !es || !offs)
            return errno = ENOMEM, false;
        b->cap = n;
    }
    const k5_object *obj = k5_docset_object(o->set, at);
    const char *file = k5_docset_file_name(o->set, obj->file);
    const k5_rule *rp = k5_rule_at(rule);
    msgbuf *last = &sp->last[rule];
    b->len = 0;
    /* The object's Helm source, NUL-terminated (findings carry it as a C string). */
    size_t source_at = SIZE_MAX;
    for (size_t i = 0; i < n && !r->failed; i++) {
        unsigned flags = rd_need(r);
        size_t line = rd_varint(r), column = rd_varint(r);
        size_t pre = rd_varint(r), suf = rd_varint(r), mid = rd_varint(r);
        if (r->failed || flags >= 2 * FL_REASON || line > UINT32_MAX || column > UINT32_MAX ||
            pre > last->n || suf > last->n - pre || mid > SIZE_MAX / 2 - last->n)
            return r->failed = true, false;
        if ((flags & FL_SOURCE) && (!obj->source.p || memchr(obj->source.p, 0, obj->source.n)))
            return r->failed = true, false;
        size_t len = pre + mid + suf;
        char *m = gb_room(b, len + 1);
        if (!m)
            return errno = ENOMEM, false;
        if (pre)
            memcpy(m, last->p, pre);
        rd_bytes(r, m + pre, NULL, mid);
        if (suf)
            memcpy(m + pre + mid, last->p + last->n - suf, suf);
        m[len] = '\0';
        if (!msg_set(last, m, len))
            return errno = ENOMEM, false;
        b->offs[2 * i] = b->len;
        b->len += len + 1;
        b->offs[2 * i + 1] = SIZE_MAX;
        if (flags & FL_REASON) {
            size_t k = rd_varint(r);
            char *t = r->failed ? NULL : gb_room(b, k + 1);
            if (!t)
                return r->failed ? false : (errno = ENOMEM, false);
            rd_bytes(r, t, NULL, k);
            t[k] = '\0';
            b->offs[2 * i + 1] = b->len;
            b->len += k + 1;
        }
        if ((flags & FL_SOURCE) && source_at == SIZE_MAX) {
            char *t = gb_room(b, obj->source.n + 1);
            if (!t)
                return errno = ENOMEM, false;
            memcpy(t, obj->source.p, obj->source.n);
            t[obj->source.n] = '\0';
            source_at = b->len;
            b->len += obj->source.n + 1;
        }
        b->fs[i] = (k5_finding){.rule = rp,
                                .severity = (k5_severity)(flags & FL_SEV),
                                .file = file,
                                .line = (uint32_t)line,
                                .column = (uint32_t)column,
                                .object = obj,
                                .suppressed = (flags & FL_SUPPRESSED) != 0,
                                .source = (flags & FL_SOURCE) ? "" : NULL};
    }
    if (r->failed)
        return false;
    /* The text is where it stays now: point the findings into it. */
    for (size_t i = 0; i < n; i++) {
        b->fs[i].message = b->text + b->offs[2 * i];
        if (b->offs[2 * i + 1] != SIZE_MAX)
            b->fs[i].suppress_reason = b->text + b->offs[2 * i + 1];
        if (b->fs[i].source)
            b->fs[i].source = b->text + source_at;
        b->es[i] = (entry){at, rule, i, &b->fs[i]};
    }
    put_group(o, x, b->es, n, v);
    return true;
}

/*
 * The spooled records rendered to x: a record's testcase after the clean objects below its
 * `before`, and the clean objects left after the last. Returns 0, or -1 with errno set (out of
 * memory, a read failed, or EIO: the records are not what was written).
 */
static int render_spool(junit_stream *js, const lint_output *o, xout *x)
{
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    reader r = {.fd = -1};
    char small[1 << 16];
    if (js->mem) {
        r.p = (const unsigned char *)js->mem;
        r.end = r.p + js->memlen;
    } else {
        r.fd = fileno(js->sp.fp);
        if (lseek(r.fd, 0, SEEK_SET) != 0)
            return -1;
        r.buf = malloc(SPOOL_BUF);
        r.cap = SPOOL_BUF;
        if (!r.buf) {
            r.buf = small;
            r.cap = sizeof small;
        }
        r.p = r.end = (const unsigned char *)r.buf;
    }
    for (size_t i = 0; i < js->sp.nrules; i++)
        js->sp.last[i].n = 0;
    group_buf b = {0};
    size_t next = 0, before = 0;
    bool oom = false;
    int tag;
    errno = 0;
    while (!oom && (tag = rd_byte(&r)) >= 0) {
        size_t d = rd_varint(&r);
        if (r.failed || d > nobjects + 1 - before) {
            r.failed = true;
            break;
        }
        before += d;
        for (; next < before && next < nobjects; next++)
            put_clean_object(x, o->set, k5_docset_object(o->set, next));
        if (tag == TAG_RAW || tag == TAG_RAW_NONE) {
            rd_bytes(&r, NULL, x, rd_varint(&r));
        } else if (tag >= TAG_PASS && tag <= TAG_SKIP && before < nobjects) {
            verdict v = tag == TAG_PASS ? V_PASS : tag == TAG_FAIL ? V_FAIL : V_SKIP;
            if (!render_group(o, &r, &js->sp, &b, x, v, before))
                oom = !r.failed;
        } else {
            r.failed = true;
        }
        if (r.failed)
            break;
        if (tag != TAG_RAW_NONE && next <= before)
            next = before + 1;
    }
    free(b.fs);
    free(b.es);
    free(b.offs);
    free(b.text);
    if (r.buf != small)
        free(r.buf);
    if (oom)
        return -1;
    if (r.failed) {
        if (!errno)
            errno = EIO;
        spool_failed(js, o);
        return -1;
    }
    for (; next < nobjects; next++)
        put_clean_object(x, o->set, k5_docset_object(o->set, next));
    return 0;
}

static int junit_close(lint_stream *s, k5_summary sum)
{
    (void)sum;
    junit_stream *js = s->state;
    const lint_output *o = s->o;
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    if (!js->sp.fp) {
        walk(o, NULL, 0, js->next, nobjects, &js->x, NULL, &js->c);
        js->next = nobjects;
        xo_flush(&js->x);
        return close_straight(js, o);
    }
    /* The objects after the last with findings are clean: counted, and rendered from no
     * record. */
    walk(o, NULL, 0, js->next, nobjects, NULL, NULL, &js->c);
    js->next = nobjects;
    xo_flush(&js->sp.w);
    if (fflush(js->sp.fp) != 0 || ferror(js->sp.fp)) {
        if (!errno)
            errno = EIO;
        spool_failed(js, o);
        return -1;
    }
    errno = 0;
    put_head(o, js->c);
    xo_init(&js->x, o->fp, js->small, sizeof js->small);
    if (render_spool(js, o, &js->x) != 0) {
        /* What was rendered goes out, without the foot: never a whole-looking report. */
        int e = errno;
        xo_flush(&js->x);
        errno = e;
        return -1;
    }
    xo_flush(&js->x);
    fputs_unlocked(JUNIT_FOOT, o->fp);
    return lint_output_finish(o->fp);
}

static void junit_free(lint_stream *s)
{
    junit_stream *js = s->state;
    if (js) {
        if (js->x.buf && js->x.buf != js->small)
            free(js->x.buf);
        if (js->sp.w.buf && js->sp.w.buf != js->sp.small)
            free(js->sp.w.buf);
        if (js->sp.fp)
            fclose(js->sp.fp);
        for (size_t i = 0; js->sp.last && i < js->sp.nrules; i++)
            free(js->sp.last[i].p);
        free(js->sp.last);
        free(js->spool_buf);
        free(js->mem);
        free(js->batch);
    }
    free(js);
    s->state = NULL;
}

const lint_stream_ops lint_junit_ops = {"junit",        lint_output_junit, junit_open,
                                        junit_findings, junit_close,       junit_free};
