/*
 * kube5xx CLI: the json format, version 1. Scripts depend on it, so keys are
 * only ever added, never renamed or removed; a breaking change bumps
 * "version".
 *
 *   {"version": 1,
 *    "findings": [{"rule", "severity", "message", "file", "line", "column", "path",
 *                  "source" (only when known),
 *                  "object": {"apiVersion", "kind", "namespace", "name"},
 *                  "suppressed": true, "reason" (only for suppressed findings,
 *                  which are listed only with --show-suppressed)}],
 *    "errors": [{"file", "line", "column", "message"}],
 *    "summary": {"files", "objects", "errors", "warnings", "infos", "suppressed"}}
 *
 * "file" is "<stdin>" for stdin; line and column are 0 when unknown. Strings are
 * repaired to valid UTF-8 (U+FFFD) and control characters escaped, as cJSON prints them.
 */
#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "lint_output_internal.h"

/* One finding, as cJSON would print the tree of its keys in this order. */
static void add_finding(lint_jw *w, const k5_finding *f)
{
    lint_jw_lit(w, "{\"rule\":");
    lint_jw_cstr(w, f->rule ? f->rule->id : "");
    lint_jw_lit(w, ",\"severity\":");
    lint_jw_cstr(w, lint_severity_name(f->severity));
    lint_jw_lit(w, ",\"message\":");
    lint_jw_cstr(w, f->message);
    lint_jw_lit(w, ",\"file\":");
    lint_jw_cstr(w, f->file ? f->file : LINT_STDIN_NAME);
    lint_jw_lit(w, ",\"line\":");
    lint_jw_num(w, f->line);
    lint_jw_lit(w, ",\"column\":");
    lint_jw_num(w, f->column);
    lint_jw_lit(w, ",\"path\":");
    lint_jw_cstr(w, f->path);
    if (f->source) {
        lint_jw_lit(w, ",\"source\":");
        lint_jw_cstr(w, f->source);
    }
    lint_jw_lit(w, ",\"object\":{");
    if (f->object)
        lint_jw_object_ident(w, f->object);
    lint_jw_lit(w, "}");
    if (f->suppressed) {
        lint_jw_lit(w, ",\"suppressed\":true,\"reason\":");
        if (f->suppress_reason)
            lint_jw_cstr(w, f->suppress_reason);
        else
            lint_jw_lit(w, "null");
    }
    lint_jw_lit(w, "}");
}

/* What a json stream keeps between batches. */
typedef struct json_stream {
    lint_jw w;  /* a batch's text, reused */
    bool first; /* no finding written yet */
} json_stream;

/* The findings array is the document's first big member: everything before it is known up
 * front, and what follows it (errors, summary) is written at the end. */
static int json_open(lint_stream *s)
{
    json_stream *js = calloc(1, sizeof *js);
    if (!js) {
        errno = ENOMEM;
        return -1;
    }
    js->first = true;
    s->state = js;
    fputs("{\"version\":1,\"findings\":[", s->o->fp);
    return ferror(s->o->fp) ? -1 : 0;
}

static int json_findings(lint_stream *s, const k5_finding *f, size_t n)
{
    json_stream *js = s->state;
    const lint_output *o = s->o;
    for (size_t i = 0; i < n && !js->w.oom; i++) {
        if (f[i].suppressed && !o->show_suppressed)
            continue;
        if (!js->first)
            lint_jw_raw(&js->w, ",", 1);
        js->first = false;
        add_finding(&js->w, &f[i]);
        if (js->w.len >= 1u << 16)
            lint_jw_flush(&js->w, o->fp);
    }
    if (js->w.oom) {
        errno = ENOMEM;
        return -1;
    }
    lint_jw_flush(&js->w, o->fp);
    return ferror(o->fp) ? -1 : 0;
}

/* "],", then the errors and the summary as cJSON prints them (the object's opening brace cut). */
static int json_close(lint_stream *s, k5_summary sum)
{
    const lint_output *o = s->o;
    bool oom = false;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        oom = true;
    cJSON *errors = lint_json_arr(root, "errors", &oom);
    for (size_t i = 0; i < o->nerrors && !oom; i++) {
        const lint_load_error *e = &o->errors[i];
        cJSON *j = lint_json_obj(errors, NULL, &oom);
        lint_json_str(j, "file", e->file ? e->file : LINT_STDIN_NAME, &oom);
        lint_json_num(j, "line", e->line, &oom);
        lint_json_num(j, "column", e->column, &oom);
        lint_json_str(j, "message", e->message, &oom);
    }
    cJSON *sj = lint_json_obj(root, "summary", &oom);
    lint_json_num(sj, "files", (double)sum.files, &oom);
    lint_json_num(sj, "objects", (double)sum.objects, &oom);
    lint_json_num(sj, "errors", (double)sum.errors, &oom);
    lint_json_num(sj, "warnings", (double)sum.warnings, &oom);
    lint_json_num(sj, "infos", (double)sum.infos, &oom);
    lint_json_num(sj, "suppressed", (double)sum.suppressed, &oom);
    char *text = NULL;
    if (!oom)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    errno = 0;
    fputs("],", o->fp);
    fputs(text + 1, o->fp);
    fputc('\n', o->fp);
    cJSON_free(text);
    return lint_output_finish(o->fp);
}

static void json_free(lint_stream *s)
{
    json_stream *js = s->state;
    if (js)
        free(js->w.p);
    free(js);
    s->state = NULL;
}

int lint_output_json(const lint_output *o)
{
    return lint_stream_report(o, &lint_json_ops);
}

const lint_stream_ops lint_json_ops = {"json",        lint_output_json, json_open,
                                       json_findings, json_close,       json_free};
