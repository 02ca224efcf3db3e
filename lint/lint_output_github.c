/*
 * kube5xx CLI: GitHub Actions workflow commands, which GitHub turns into
 * annotations on the pull request's diff:
 *
 *   ::error file=deploy/web.yaml,line=27,col=21,title=rule-id::message (Service shop/web)
 *
 * warning is ::warning and info is ::notice. Suppressed findings are left
 * out: an annotation cannot be marked as dismissed. The escaping is the one
 * the runner undoes (actions/toolkit's escapeData and escapeProperty): % CR LF
 * in the message, and also , and : in property values, which would otherwise
 * end the property. Other control characters (and bidi overrides) would reach
 * the log raw, where ESC starts a colour sequence: they are shown as "\xNN"
 * or "\uNNNN", as in the text format. Findings on stdin have no file to
 * annotate and carry neither file nor line.
 */
#include <errno.h>

#include "lint_output_internal.h"

/* A byte written as it is: printable ASCII that no escaping touches (and valid UTF-8). */
static bool plain(unsigned char c, bool property)
{
    return c >= 0x20 && c < 0x7F && c != '%' && !(property && (c == ':' || c == ','));
}

static void put_escapedn(FILE *fp, const char *s, size_t n, bool property)
{
    if (!s)
        return;
    for (size_t i = 0; i < n;) {
        /* Runs of plain bytes in one write: a write per character was most of the format's
         * time on large inputs. */
        size_t run = i;
        while (run < n && plain((unsigned char)s[run], property))
            run++;
        if (run > i) {
            fwrite(s + i, 1, run - i, fp);
            i = run;
            continue;
        }
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp, NULL);
        if (cp == '%')
            fputs("%25", fp);
        else if (cp == '\r')
            fputs("%0D", fp);
        else if (cp == '\n')
            fputs("%0A", fp);
        else if (property && cp == ':')
            fputs("%3A", fp);
        else if (property && cp == ',')
            fputs("%2C", fp);
        else if (cp == '\t')
            putc('\t', fp);
        else if (cp < 0x20 || cp == 0x7F)
            fprintf(fp, "\\x%02X", (unsigned)cp);
        else if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
                 (cp >= 0x2066 && cp <= 0x2069))
            fprintf(fp, "\\u%04X", (unsigned)cp);
        else
            lint_put_cp(fp, cp);
    }
}

static void put_escaped(FILE *fp, const char *s, bool property)
{
    put_escapedn(fp, s, lint_strlen0(s), property);
}

static const char *command(k5_severity s)
{
    switch (s) {
    case K5_SEV_ERROR:
        return "error";
    case K5_SEV_WARNING:
        return "warning";
    default:
        return "notice";
    }
}

static void put_properties(FILE *fp, const char *file, uint32_t line, uint32_t col)
{
    if (!file || (file[0] == '-' && file[1] == '\0'))
        return;
    fputs("file=", fp);
    put_escaped(fp, file, true);
    if (line > 0) {
        fprintf(fp, ",line=%lu", (unsigned long)line);
        if (col > 0)
            fprintf(fp, ",col=%lu", (unsigned long)col);
    }
    fputc(',', fp);
}

static int github_open(lint_stream *s)
{
    const lint_output *o = s->o;
    FILE *fp = o->fp;
    for (size_t i = 0; i < o->nerrors; i++) {
        const lint_load_error *e = &o->errors[i];
        fputs("::error ", fp);
        put_properties(fp, e->file, e->line, e->column);
        fputs("title=kube5xx load error::", fp);
        put_escaped(fp, e->message, false);
        fputc('\n', fp);
    }
    return ferror(fp) ? -1 : 0;
}

static int github_findings(lint_stream *s, const k5_finding *fs, size_t n)
{
    const lint_output *o = s->o;
    FILE *fp = o->fp;
    for (size_t i = 0; i < n; i++) {
        const k5_finding *f = &fs[i];
        if (f->suppressed)
            continue;
        fprintf(fp, "::%s ", command(f->severity));
        /* A live cluster's object (kube5xx audit) has no file to annotate: the message
         * names it. */
        if (!o->cluster)
            put_properties(fp, f->file, f->line, f->column);
        fputs("title=", fp);
        put_escaped(fp, f->rule ? f->rule->id : "kube5xx", true);
        fputs("::", fp);
        put_escaped(fp, f->message, false);
        if (f->object) {
            fputs(" (", fp);
            put_escapedn(fp, f->object->kind.p, f->object->kind.n, false);
            fputc(' ', fp);
            put_escapedn(fp, f->object->namespace_.p, f->object->namespace_.n, false);
            fputc('/', fp);
            put_escapedn(fp, f->object->name.p, f->object->name.n, false);
            if (f->source) {
                fputs(", from ", fp);
                put_escaped(fp, f->source, false);
            }
            fputc(')', fp);
        }
        fputc('\n', fp);
    }
    return ferror(fp) ? -1 : 0;
}

static int github_close(lint_stream *s, k5_summary sum)
{
    (void)sum;
    return lint_output_finish(s->o->fp);
}

int lint_output_github(const lint_output *o)
{
    return lint_stream_report(o, &lint_github_ops);
}

const lint_stream_ops lint_github_ops = {"github",        lint_output_github, github_open,
                                         github_findings, github_close,       NULL};
