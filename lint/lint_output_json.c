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

static bool finding_item(lint_jw *w, void *ud, size_t i)
{
    const lint_output *o = ud;
    const k5_finding *f = k5_report_at(o->report, i);
    if (!f || (f->suppressed && !o->show_suppressed))
        return false;
    add_finding(w, f);
    return true;
}

int lint_output_json(const lint_output *o)
{
    bool oom = false;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        oom = true;

    lint_json_num(root, "version", 1, &oom);

    cJSON *findings = lint_json_arr(root, "findings", &oom);
    size_t n = o->report ? k5_report_count(o->report) : 0;

    cJSON *errors = lint_json_arr(root, "errors", &oom);
    for (size_t i = 0; i < o->nerrors && !oom; i++) {
        const lint_load_error *e = &o->errors[i];
        cJSON *j = lint_json_obj(errors, NULL, &oom);
        lint_json_str(j, "file", e->file ? e->file : LINT_STDIN_NAME, &oom);
        lint_json_num(j, "line", e->line, &oom);
        lint_json_num(j, "column", e->column, &oom);
        lint_json_str(j, "message", e->message, &oom);
    }

    k5_summary s = {0};
    if (o->report)
        s = k5_report_summary(o->report);
    cJSON *sum = lint_json_obj(root, "summary", &oom);
    lint_json_num(sum, "files", (double)s.files, &oom);
    lint_json_num(sum, "objects", (double)s.objects, &oom);
    lint_json_num(sum, "errors", (double)s.errors, &oom);
    lint_json_num(sum, "warnings", (double)s.warnings, &oom);
    lint_json_num(sum, "infos", (double)s.infos, &oom);
    lint_json_num(sum, "suppressed", (double)s.suppressed, &oom);

    return lint_json_emit_items(o->fp, root, findings, false, oom, finding_item, (void *)o, n,
                                o->jobs);
}
