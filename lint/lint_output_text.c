/*
 * kube5xx CLI: the text format, for people and for editors that jump to
 * `path:line:col:` (the shape gcc and ShellCheck's gcc format use):
 *
 *   deploy/web.yaml:27:21: error: message [rule-id] (Service shop/web, from shop/templates/service.yaml)
 *   3 files, 12 objects: 1 error, 4 warnings, 0 infos, 0 suppressed
 *
 * One finding is always one line: control characters in the input (a YAML
 * "\n" or "\e" escape in a name ends up in messages) are shown escaped, so a
 * manifest can neither forge extra lines nor send terminal escape sequences.
 */
#include <errno.h>

#include "lint_output_internal.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[1;33m"
#define C_CYAN "\033[1;36m"

static const char *sev_color(k5_severity s)
{
    switch (s) {
    case K5_SEV_ERROR:
        return C_RED;
    case K5_SEV_WARNING:
        return C_YELLOW;
    default:
        return C_CYAN;
    }
}

/* True for code points that must not reach a terminal raw: C0, DEL, C1 and the
 * bidirectional overrides that can make a line read differently than it is. */
static bool needs_escape(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * How many bytes of s[0, n) from the start are printable ASCII (0x20-0x7E). Eight at a time:
 * a byte at a time this scan was 11% of a text lint of the JSON List. In each word a byte
 * below 0x20 or equal to 0x7F is flagged by a borrow test and one of 0x80 or more by its top
 * bit; a borrow only runs towards higher bytes, so the lowest flag is a real stop.
 */
static size_t printable_run(const char *s, size_t n)
{
    size_t j = 0;
    for (; n - j >= 8; j += 8) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        uint64_t del = w ^ 0x7F7F7F7F7F7F7F7FULL;
        uint64_t stop = ((w - 0x2020202020202020ULL) & ~w) | w |
                        ((del - 0x0101010101010101ULL) & ~del);
        stop &= 0x8080808080808080ULL;
        if (stop) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return j + (unsigned)__builtin_ctzll(stop) / 8u;
#else
            break;
#endif
        }
    }
    while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7F)
        j++;
    return j;
}

static void put_textn(FILE *fp, const char *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) {
            /* A run of printable ASCII in one write: a byte at a time cost more than the
             * rules on inputs with many findings. */
            size_t j = i + printable_run(s + i, n - i);
            fwrite(s + i, 1, j - i, fp);
            i = j;
            continue;
        }
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp, NULL);
        if (!needs_escape(cp))
            lint_put_cp(fp, cp);
        else if (cp == '\n')
            fputs("\\n", fp);
        else if (cp == '\r')
            fputs("\\r", fp);
        else if (cp == '\t')
            fputs("\\t", fp);
        else if (cp < 0x80)
            fprintf(fp, "\\x%02X", (unsigned)cp);
        else
            fprintf(fp, "\\u%04X", (unsigned)cp);
    }
}

static void put_text(FILE *fp, const char *s)
{
    put_textn(fp, s, lint_strlen0(s));
}

static void put_str(FILE *fp, k5_str s)
{
    put_textn(fp, s.p, s.n);
}

/* ":" and the number, without printf: two of them per finding, on runs with 100,000s. */
static void put_colon_number(FILE *fp, uint32_t v)
{
    char b[12];
    size_t k = sizeof b;
    do {
        b[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    b[--k] = ':';
    fwrite(b + k, 1, sizeof b - k, fp);
}

static void put_location(const lint_output *o, const char *file, uint32_t line, uint32_t col)
{
    if (o->color)
        fputs(C_BOLD, o->fp);
    put_text(o->fp, file ? file : LINT_STDIN_NAME);
    if (line > 0) {
        put_colon_number(o->fp, line);
        if (col > 0)
            put_colon_number(o->fp, col);
    }
    fputc(':', o->fp);
    if (o->color)
        fputs(C_RESET, o->fp);
    fputc(' ', o->fp);
}

static void put_severity(const lint_output *o, k5_severity s)
{
    if (o->color)
        fprintf(o->fp, "%s%s%s: ", sev_color(s), lint_severity_name(s), C_RESET);
    else {
        fputs(lint_severity_name(s), o->fp);
        fputs(": ", o->fp);
    }
}

static void put_finding(const lint_output *o, const k5_finding *f)
{
    FILE *fp = o->fp;
    put_location(o, f->file, f->line, f->column);
    put_severity(o, f->severity);
    put_text(fp, f->message);
    fputs(o->color ? " " C_DIM "[" : " [", fp);
    put_text(fp, f->rule ? f->rule->id : "?");
    fputs(o->color ? "]" C_RESET : "]", fp);
    if (f->object) {
        fputs(" (", fp);
        put_str(fp, f->object->kind);
        fputc(' ', fp);
        put_str(fp, f->object->namespace_);
        fputc('/', fp);
        put_str(fp, f->object->name);
        if (f->source) {
            fputs(", from ", fp);
            put_text(fp, f->source);
        }
        fputc(')', fp);
    } else if (f->source) {
        fputs(" (from ", fp);
        put_text(fp, f->source);
        fputc(')', fp);
    }
    if (f->suppressed) {
        fputs(o->color ? " " C_DIM "[suppressed" : " [suppressed", fp);
        if (f->suppress_reason) {
            fputs(": ", fp);
            put_text(fp, f->suppress_reason);
        }
        fputs(o->color ? "]" C_RESET : "]", fp);
    }
    fputc('\n', fp);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void lint_output_text_head(const lint_output *o)
{
    FILE *fp = o->fp;
    errno = 0;
    for (size_t i = 0; i < o->nerrors; i++) {
        const lint_load_error *e = &o->errors[i];
        put_location(o, e->file, e->line, e->column);
        put_severity(o, K5_SEV_ERROR);
        put_text(fp, e->message);
        fputc('\n', fp);
    }
}

void lint_output_text_findings(const lint_output *o, const k5_finding *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!f[i].suppressed || o->show_suppressed)
            put_finding(o, &f[i]);
}

int lint_output_text_tail(const lint_output *o, k5_summary s)
{
    FILE *fp = o->fp;
    if (o->color)
        fputs(C_BOLD, fp);
    /* kube5xx audit reads objects from a cluster, one "file" each: no file count to give. */
    if (o->cluster)
        fputs("cluster, ", fp);
    else
        fprintf(fp, "%zu %s, ", s.files, plural(s.files, "file", "files"));
    fprintf(fp, "%zu %s: %zu %s, %zu %s, %zu %s, %zu suppressed", s.objects,
            plural(s.objects, "object", "objects"),
            s.errors, plural(s.errors, "error", "errors"), s.warnings,
            plural(s.warnings, "warning", "warnings"), s.infos, plural(s.infos, "info", "infos"),
            s.suppressed);
    if (o->nerrors > 0)
        fprintf(fp, ", %zu %s", o->nerrors, plural(o->nerrors, "load error", "load errors"));
    if (o->color)
        fputs(C_RESET, fp);
    fputc('\n', fp);
    return lint_output_finish(fp);
}

int lint_output_text(const lint_output *o)
{
    lint_output_text_head(o);
    size_t n = o->report ? k5_report_count(o->report) : 0;
    for (size_t i = 0; i < n; i++) {
        const k5_finding *f = k5_report_at(o->report, i);
        if (f)
            lint_output_text_findings(o, f, 1);
    }
    k5_summary s = {0};
    if (o->report)
        s = k5_report_summary(o->report);
    return lint_output_text_tail(o, s);
}

static int text_open(lint_stream *s)
{
    lint_output_text_head(s->o);
    return ferror(s->o->fp) ? -1 : 0;
}

static int text_findings(lint_stream *s, const k5_finding *f, size_t n)
{
    lint_output_text_findings(s->o, f, n);
    return ferror(s->o->fp) ? -1 : 0;
}

static int text_close(lint_stream *s, k5_summary sum)
{
    return lint_output_text_tail(s->o, sum);
}

const lint_stream_ops lint_text_ops = {"text",        lint_output_text, text_open,
                                       text_findings, text_close,       NULL};
