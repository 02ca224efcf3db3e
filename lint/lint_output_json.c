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
 * repaired to valid UTF-8 (U+FFFD) and cJSON escapes control characters.
 */
#include <cjson/cJSON.h>

#include "lint_output_internal.h"

static void add_finding(cJSON *arr, const k5_finding *f, bool *oom)
{
    cJSON *j = lint_json_obj(arr, NULL, oom);
    lint_json_str(j, "rule", f->rule ? f->rule->id : "", oom);
    lint_json_str(j, "severity", lint_severity_name(f->severity), oom);
    lint_json_str(j, "message", f->message, oom);
    lint_json_str(j, "file", f->file ? f->file : LINT_STDIN_NAME, oom);
    lint_json_num(j, "line", f->line, oom);
    lint_json_num(j, "column", f->column, oom);
    lint_json_str(j, "path", f->path, oom);
    if (f->source)
        lint_json_str(j, "source", f->source, oom);
    cJSON *obj = lint_json_obj(j, "object", oom);
    if (f->object) {
        lint_json_strn(obj, "apiVersion", f->object->api_version.p, f->object->api_version.n, oom);
        lint_json_strn(obj, "kind", f->object->kind.p, f->object->kind.n, oom);
        lint_json_strn(obj, "namespace", f->object->namespace_.p, f->object->namespace_.n, oom);
        lint_json_strn(obj, "name", f->object->name.p, f->object->name.n, oom);
    }
    if (f->suppressed) {
        lint_json_bool(j, "suppressed", true, oom);
        if (f->suppress_reason)
            lint_json_str(j, "reason", f->suppress_reason, oom);
        else
            lint_json_null(j, "reason", oom);
    }
}

static bool finding_item(cJSON *into, void *ud, size_t i, bool *oom)
{
    const lint_output *o = ud;
    const k5_finding *f = k5_report_at(o->report, i);
    if (!f || (f->suppressed && !o->show_suppressed))
        return false;
    add_finding(into, f, oom);
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
