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
#include <sys/sendfile.h>

#include "lint_output_internal.h"

/*
 * Writes s escaped for XML 1.0, repaired to valid UTF-8. In attributes,
 * newlines and tabs become character references so that attribute-value
 * normalisation does not turn them into spaces. C0 controls other than tab,
 * CR and LF cannot appear in XML 1.0 at all, not even as references: they are
 * written as a visible "\xNN".
 */
/* A byte written as it is in text and attributes: printable ASCII that needs no reference. */
static bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7F && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'';
}

static void put_xmln(FILE *fp, const char *s, size_t n, bool attr)
{
    if (!s)
        return;
    for (size_t i = 0; i < n;) {
        /* Runs of plain bytes in one write: a write per character was most of the format's
         * time on large inputs. */
        size_t run = i;
        while (run < n && plain((unsigned char)s[run]))
            run++;
        if (run > i) {
            /* Short runs (most: attribute values, words between quotes) byte by byte into
             * stdio's buffer, which costs less than a call of fwrite. */
            if (run - i < 16) {
                for (; i < run; i++)
                    putc_unlocked(s[i], fp);
            } else {
                fwrite_unlocked(s + i, 1, run - i, fp);
                i = run;
            }
            continue;
        }
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp, NULL);
        switch (cp) {
        case '&':
            fputs_unlocked("&amp;", fp);
            break;
        case '<':
            fputs_unlocked("&lt;", fp);
            break;
        case '>':
            fputs_unlocked("&gt;", fp);
            break;
        case '"':
            fputs_unlocked(attr ? "&quot;" : "\"", fp);
            break;
        case '\'':
            fputs_unlocked(attr ? "&apos;" : "'", fp);
            break;
        case '\n':
            fputs_unlocked(attr ? "&#10;" : "\n", fp);
            break;
        case '\t':
            fputs_unlocked(attr ? "&#9;" : "\t", fp);
            break;
        case '\r':
            fputs_unlocked("&#13;", fp);
            break;
        case 0xFFFE:
        case 0xFFFF:
            lint_put_cp(fp, FE_REPLACEMENT_CHAR);
            break;
        default:
            if (cp < 0x20)
                fprintf(fp, "\\x%02X", (unsigned)cp);
            else
                lint_put_cp(fp, cp);
        }
    }
}

/* "%lu" without printf: a line and column per finding. */
static void put_ulong(FILE *fp, unsigned long v)
{
    char buf[24], *e = buf + sizeof buf, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fwrite_unlocked(p, 1, (size_t)(e - p), fp);
}

static void put_xml(FILE *fp, const char *s, bool attr)
{
    put_xmln(fp, s, lint_strlen0(s), attr);
}

static void put_xml_str(FILE *fp, k5_str s, bool attr)
{
    put_xmln(fp, s.p, s.p ? s.n : 0, attr);
}

static void put_xml_object_id(FILE *fp, const k5_object *obj)
{
    if (!obj)
        return;
    put_xml_str(fp, obj->kind, true);
    fputc_unlocked('/', fp);
    put_xml_str(fp, obj->namespace_, true);
    fputc_unlocked('/', fp);
    put_xml_str(fp, obj->name, true);
}

/* "file:line:col: severity: message [rule] (Kind ns/name, from source)", as in the text format. */
static void put_finding_line(FILE *fp, const k5_finding *f)
{
    put_xml(fp, f->file ? f->file : LINT_STDIN_NAME, false);
    if (f->line > 0) {
        fputc_unlocked(':', fp);
        put_ulong(fp, (unsigned long)f->line);
        if (f->column > 0) {
            fputc_unlocked(':', fp);
            put_ulong(fp, (unsigned long)f->column);
        }
    }
    fputs_unlocked(": ", fp);
    fputs_unlocked(lint_severity_name(f->severity), fp);
    fputs_unlocked(": ", fp);
    put_xml(fp, f->message, false);
    fputs_unlocked(" [", fp);
    put_xml(fp, f->rule ? f->rule->id : "", false);
    fputc_unlocked(']', fp);
    if (f->object) {
        fputs_unlocked(" (", fp);
        put_xml_str(fp, f->object->kind, false);
        fputc_unlocked(' ', fp);
        put_xml_str(fp, f->object->namespace_, false);
        fputc_unlocked('/', fp);
        put_xml_str(fp, f->object->name, false);
        if (f->source) {
            fputs_unlocked(", from ", fp);
            put_xml(fp, f->source, false);
        }
        fputc_unlocked(')', fp);
    }
    if (f->suppressed) {
        fputs_unlocked(" [suppressed", fp);
        if (f->suppress_reason) {
            fputs_unlocked(": ", fp);
            put_xml(fp, f->suppress_reason, false);
        }
        fputc_unlocked(']', fp);
    }
    fputc_unlocked('\n', fp);
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

static void put_group(const lint_output *o, FILE *fp, const entry *g, size_t n, verdict v)
{
    const k5_finding *first = g[0].f;
    /* The first finding that is not suppressed names the testcase's location. */
    for (size_t i = 0; i < n; i++) {
        if (!g[i].f->suppressed) {
            first = g[i].f;
            break;
        }
    }

    fputs_unlocked("    <testcase classname=\"", fp);
    put_xml_object_id(fp, first->object);
    fputs_unlocked("\" name=\"", fp);
    put_xml(fp, first->rule ? first->rule->id : "", true);
    fputs_unlocked("\" file=\"", fp);
    put_xml(fp, first->file ? first->file : LINT_STDIN_NAME, true);
    fputc_unlocked('"', fp);
    if (first->line > 0) {
        fputs_unlocked(" line=\"", fp);
        put_ulong(fp, (unsigned long)first->line);
        fputc_unlocked('"', fp);
    }
    fputs_unlocked(">\n", fp);

    switch (v) {
    case V_FAIL:
        fputs_unlocked("      <failure message=\"", fp);
        put_xml(fp, first->message, true);
        fputs_unlocked("\" type=\"", fp);
        fputs_unlocked(lint_severity_name(first->severity), fp);
        fputs_unlocked("\">", fp);
        for (size_t i = 0; i < n; i++)
            if (shown(o, g[i].f))
                put_finding_line(fp, g[i].f);
        fputs_unlocked("</failure>\n", fp);
        break;
    case V_PASS:
        fputs_unlocked("      <system-out>", fp);
        for (size_t i = 0; i < n; i++)
            if (shown(o, g[i].f))
                put_finding_line(fp, g[i].f);
        fputs_unlocked("</system-out>\n", fp);
        break;
    case V_SKIP:
        fputs_unlocked("      <skipped message=\"suppressed", fp);
        if (first->suppress_reason) {
            fputs_unlocked(": ", fp);
            put_xml(fp, first->suppress_reason, true);
        }
        fputs_unlocked("\"/>\n", fp);
        break;
    case V_NONE:
        break;
    }
    fputs_unlocked("    </testcase>\n", fp);
}

static void put_clean_object(FILE *fp, const k5_docset *set, const k5_object *obj)
{
    fputs_unlocked("    <testcase classname=\"", fp);
    put_xml_object_id(fp, obj);
    fputs_unlocked("\" name=\"kube5xx\" file=\"", fp);
    const char *file = set ? k5_docset_file_name(set, obj->file) : NULL;
    put_xml(fp, file ? file : LINT_STDIN_NAME, true);
    fputc_unlocked('"', fp);
    k5_position pos = set ? k5_docset_position(set, obj->file, obj->root) : (k5_position){0, 0};
    if (pos.line > 0) {
        fputs_unlocked(" line=\"", fp);
        put_ulong(fp, (unsigned long)pos.line);
        fputc_unlocked('"', fp);
    }
    fputs_unlocked("/>\n", fp);
}

/*
 * Walks the testcases of objects [from, to) in order (the object count stands for findings
 * whose object is unknown), given the sorted entries of those objects' findings, counting
 * them into *c and writing them to fp unless fp is NULL.
 */
static void walk(const lint_output *o, const entry *es, size_t n, size_t from, size_t to, FILE *fp,
                 counts *c)
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
                if (fp)
                    put_group(o, fp, es + e, end - e, v);
            }
            e = end;
        }
        if (!any && obj < nobjects) {
            c->tests++;
            if (fp)
                put_clean_object(fp, o->set, k5_docset_object(o->set, obj));
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

static void put_head(const lint_output *o, counts c)
{
    FILE *fp = o->fp;
    size_t tests = c.tests + o->nerrors;
    fputs_unlocked("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", fp);
    fprintf(fp,
            "<testsuites name=\"kube5xx\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\">\n",
            tests, c.failures, o->nerrors, c.skipped);
    fprintf(fp,
            "  <testsuite name=\"kube5xx\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\">\n",
            tests, c.failures, o->nerrors, c.skipped);
    fputs_unlocked(
        "    <properties>\n      <property name=\"kube5xx.version\" value=\"" KUBE5XX_VERSION
        "\"/>\n",
        fp);
    fprintf(fp, "      <property name=\"kube5xx.fail-on\" value=\"%s\"/>\n    </properties>\n",
            lint_severity_name(o->fail_on));

    for (size_t i = 0; i < o->nerrors; i++) {
        const lint_load_error *e = &o->errors[i];
        fputs_unlocked("    <testcase classname=\"", fp);
        put_xml(fp, e->file ? e->file : LINT_STDIN_NAME, true);
        fputs_unlocked("\" name=\"load\" file=\"", fp);
        put_xml(fp, e->file ? e->file : LINT_STDIN_NAME, true);
        fputc_unlocked('"', fp);
        if (e->line > 0)
            fprintf(fp, " line=\"%lu\"", (unsigned long)e->line);
        fputs_unlocked(">\n      <error message=\"", fp);
        put_xml(fp, e->message, true);
        fputs_unlocked("\" type=\"load-error\">", fp);
        put_xml(fp, e->file ? e->file : LINT_STDIN_NAME, false);
        if (e->line > 0) {
            fprintf(fp, ":%lu", (unsigned long)e->line);
            if (e->column > 0)
                fprintf(fp, ":%lu", (unsigned long)e->column);
        }
        fputs_unlocked(": error: ", fp);
        put_xml(fp, e->message, false);
        fputs_unlocked("\n</error>\n    </testcase>\n", fp);
    }
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
    walk(o, es, n, 0, nobjects + 1, NULL, &c);
    errno = 0;
    put_head(o, c);
    counts again = {0};
    walk(o, es, n, 0, nobjects + 1, o->fp, &again);
    free(es);
    fputs_unlocked(JUNIT_FOOT, o->fp);
    return lint_output_finish(o->fp);
}

/*
 * Streaming. The testsuite element carries the counts and comes before every testcase, and
 * the output must stay the whole-report writer's byte for byte, so the testcases go to an
 * unlinked temporary file as the batches come (counted meanwhile), and close writes the
 * testsuite element, then copies them after it. Memory holds one batch's entries; the file,
 * the size of the report, is on disk ($TMPDIR, else /tmp), or in memory when no temporary
 * file can be made.
 */
typedef struct junit_stream {
    FILE *spool;
    char *mem; /* open_memstream's buffer, when the spool is in memory */
    size_t memlen;
    char *spool_buf; /* the file spool's stdio buffer */
    counts c;
    size_t next;  /* the first object not walked yet */
    size_t order; /* findings seen so far */
    const k5_finding **batch;
    size_t batch_cap;
} junit_stream;

static FILE *spool_file(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
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

static int junit_open(lint_stream *s)
{
    junit_stream *js = calloc(1, sizeof *js);
    if (!js) {
        errno = ENOMEM;
        return -1;
    }
    s->state = js;
    js->spool = spool_file();
    /* A 1 MiB buffer: the default (a page) made a write system call per 4 KiB of the List's
     * ~200 MB of testcases. */
    if (js->spool && (js->spool_buf = malloc(SPOOL_BUF)) != NULL)
        setvbuf(js->spool, js->spool_buf, _IOFBF, SPOOL_BUF);
    if (!js->spool)
        js->spool = open_memstream(&js->mem, &js->memlen);
    if (!js->spool) {
        errno = ENOMEM;
        return -1;
    }
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
    /* Entries sort by object; an unknown object (the object count) sorts last. In a lint
     * every finding's object is one of the set's, so there are none of those. */
    size_t known = n;
    while (known > 0 && es[known - 1].object >= nobjects)
        known--;
    if (known > 0) {
        size_t upto = es[known - 1].object + 1;
        if (upto > js->next) {
            walk(o, es, known, js->next, upto, js->spool, &js->c);
            js->next = upto;
        }
    }
    if (known < n)
        walk(o, es + known, n - known, nobjects, nobjects + 1, js->spool, &js->c);
    free(es);
    return ferror(js->spool) ? -1 : 0;
}

static int junit_close(lint_stream *s, k5_summary sum)
{
    (void)sum;
    junit_stream *js = s->state;
    const lint_output *o = s->o;
    size_t nobjects = o->set ? k5_docset_object_count(o->set) : 0;
    walk(o, NULL, 0, js->next, nobjects, js->spool, &js->c);
    js->next = nobjects;
    if (fflush(js->spool) != 0 || ferror(js->spool)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    errno = 0;
    put_head(o, js->c);
    if (js->mem) {
        fwrite_unlocked(js->mem, 1, js->memlen, o->fp);
    } else {
        /* The kernel copies the spool to a file or pipe (sendfile: no read into this process
         * and write back); another output, or a failure before any byte moved, takes the
         * copy below, from where sendfile stopped. */
        off_t off = 0, end = ftello(js->spool);
        int out = fflush(o->fp) == 0 ? fileno(o->fp) : -1;
        while (out >= 0 && end > 0 && off < end) {
            ssize_t sent = sendfile(out, fileno(js->spool), &off, (size_t)(end - off));
            if (sent <= 0)
                break;
        }
        if (fseeko(js->spool, off, SEEK_SET) != 0) {
            if (!errno)
                errno = EIO;
            return -1;
        }
        errno = 0;
        /* Copied SPOOL_BUF at a time (a read and a write system call each) when that much
         * memory is there, else 64 KiB at a time. */
        char small[1 << 16];
        char *big = malloc(SPOOL_BUF);
        char *buf = big ? big : small;
        size_t cap = big ? SPOOL_BUF : sizeof small;
        size_t got;
        while ((got = fread(buf, 1, cap, js->spool)) > 0)
            fwrite_unlocked(buf, 1, got, o->fp);
        free(big);
        if (ferror(js->spool)) {
            if (!errno)
                errno = EIO;
            return -1;
        }
    }
    fputs_unlocked(JUNIT_FOOT, o->fp);
    return lint_output_finish(o->fp);
}

static void junit_free(lint_stream *s)
{
    junit_stream *js = s->state;
    if (js) {
        if (js->spool)
            fclose(js->spool);
        free(js->spool_buf);
        free(js->mem);
        free(js->batch);
    }
    free(js);
    s->state = NULL;
}

const lint_stream_ops lint_junit_ops = {"junit",        lint_output_junit, junit_open,
                                        junit_findings, junit_close,       junit_free};
