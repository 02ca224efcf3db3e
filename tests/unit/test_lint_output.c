/*
 * Unit tests of the CLI's output formats (lint/lint_output_*.c): each test
 * loads inline manifests into a real docset, runs the real engine, renders a
 * format into memory and checks what a consumer of that format relies on.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "lint_output.h"
#include "lint_output_internal.h"

/* ---- fixtures ---- */

/* A serving Deployment without a readiness probe, and the Service in front of it. */
static const char WEB_YAML[] = "apiVersion: apps/v1\n"
                               "kind: Deployment\n"
                               "metadata:\n"
                               "  name: web\n"
                               "  namespace: shop\n"
                               "spec:\n"
                               "  replicas: 2\n"
                               "  selector:\n"
                               "    matchLabels: {app: web}\n"
                               "  template:\n"
                               "    metadata:\n"
                               "      labels: {app: web}\n"
                               "    spec:\n"
                               "      containers:\n"
                               "      - name: web\n"
                               "        image: nginx:1.27\n"
                               "        ports:\n"
                               "        - containerPort: 8080\n"
                               "          name: http\n"
                               "---\n"
                               "apiVersion: v1\n"
                               "kind: Service\n"
                               "metadata:\n"
                               "  name: web\n"
                               "  namespace: shop\n"
                               "spec:\n"
                               "  selector: {app: web}\n"
                               "  ports:\n"
                               "  - port: 80\n"
                               "    targetPort: http\n";

static const char *const RULE = "readiness-probe-missing";

typedef struct fx {
    k5_docset *set;
    k5_report *report;
    lint_load_error errors[4];
    size_t nerrors;
} fx;

/*
 * Loads text as the file `name` into a new docset (which owns a malloc'd copy)
 * and runs the engine over it.
 */
static void fx_load(fx *f, const char *name, const char *text, size_t len)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(k5_docset_new(&f->set, "default"), K5_OK);
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    k5_error err = {0};
    k5_status st = k5_docset_load(f->set, name, buf, len, K5_FORMAT_AUTO, &err);
    if (st != K5_OK)
        fail_msg("loading %s: %s", name, err.msg);
    assert_int_equal(k5_run(f->set, NULL, 0, &f->report, &err), K5_OK);
}

static void fx_free(fx *f)
{
    k5_report_free(&f->report);
    k5_docset_free(&f->set);
}

static void fx_web(fx *f, const char *name)
{
    fx_load(f, name, WEB_YAML, sizeof WEB_YAML - 1);
}

/* WEB_YAML with `prefix` (comments, a document separator) before it. */
static void fx_web_after(fx *f, const char *name, const char *prefix)
{
    size_t n = strlen(prefix) + sizeof WEB_YAML - 1;
    char *text = malloc(n + 1);
    assert_non_null(text);
    snprintf(text, n + 1, "%s%s", prefix, WEB_YAML);
    fx_load(f, name, text, n);
    free(text);
}

/* A Pod whose container declares a port but no readiness probe; yaml_name as written in YAML. */
static void fx_pod_named(fx *f, const char *file, const char *yaml_name)
{
    char text[512];
    int n = snprintf(text, sizeof text,
                     "apiVersion: v1\n"
                     "kind: Pod\n"
                     "metadata:\n"
                     "  name: %s\n"
                     "spec:\n"
                     "  containers:\n"
                     "  - name: web\n"
                     "    image: nginx\n"
                     "    ports:\n"
                     "    - containerPort: 8080\n",
                     yaml_name);
    assert_true(n > 0 && (size_t)n < sizeof text);
    fx_load(f, file, text, (size_t)n);
}

/* Renders with a writer into a malloc'd string. */
static char *render(lint_output_fn fn, const fx *f, bool show_suppressed, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    lint_output o = {
        .fp = fp,
        .color = color,
        .show_suppressed = show_suppressed,
        .set = f->set,
        .report = f->report,
        .errors = f->errors,
        .nerrors = f->nerrors,
        .fail_on = K5_SEV_ERROR,
    };
    assert_int_equal(fn(&o), 0);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(buf);
    assert_int_equal(strlen(buf), len);
    return buf;
}

/*
 * Renders a format through lint_stream, as `kube5xx lint` does, with the report's findings
 * handed over in batches of whole objects holding at least `per` findings each (0: one batch).
 */
/* Streams a format to fp (see render_stream); fp stays open. */
static void stream_to(FILE *fp, const char *format, const fx *f, bool show_suppressed, size_t per)
{
    lint_output o = {.fp = fp,
                     .show_suppressed = show_suppressed,
                     .set = f->set,
                     .errors = f->errors,
                     .nerrors = f->nerrors,
                     .fail_on = K5_SEV_ERROR};
    lint_stream *s = NULL;
    assert_int_equal(lint_stream_open(&s, format, &o), 0);
    size_t n = k5_report_count(f->report);
    for (size_t i = 0; i < n;) {
        const k5_finding *b = k5_report_at(f->report, i);
        size_t k = 1;
        while (i + k < n && ((per == 0 || k < per) ||
                             k5_report_at(f->report, i + k)->object == b[k - 1].object))
            k++;
        assert_int_equal(lint_stream_findings(s, b, k), 0);
        i += k;
    }
    assert_int_equal(lint_stream_close(&s, k5_report_summary(f->report)), 0);
    assert_null(s);
}

/*
 * Renders a format through lint_stream, as `kube5xx lint` does, with the report's findings
 * handed over in batches of whole objects holding at least `per` findings each (0: one batch).
 */
static char *render_stream(const char *format, const fx *f, bool show_suppressed, size_t per)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    stream_to(fp, format, f, show_suppressed, per);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(buf);
    return buf;
}

/* The whole content of the file at path (NUL-terminated). */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            buf = realloc(buf, (cap *= 2) + 1);
            assert_non_null(buf);
        }
    }
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* The first finding of a rule, or NULL. */
static const k5_finding *finding_of(const fx *f, const char *rule)
{
    for (size_t i = 0; i < k5_report_count(f->report); i++) {
        const k5_finding *x = k5_report_at(f->report, i);
        if (strcmp(x->rule->id, rule) == 0)
            return x;
    }
    return NULL;
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* An independent UTF-8 validator (not the one under test). */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (p[0] < 0x80) {
            p++;
        } else if (p[0] >= 0xC2 && p[0] <= 0xDF && (p[1] & 0xC0) == 0x80) {
            p += 2;
        } else if (p[0] >= 0xE0 && p[0] <= 0xEF && (p[1] & 0xC0) == 0x80 &&
                   (p[2] & 0xC0) == 0x80) {
            uint32_t cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                return false;
            p += 3;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4 && (p[1] & 0xC0) == 0x80 &&
                   (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
            uint32_t cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) |
                          ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
            if (cp < 0x10000 || cp > 0x10FFFF)
                return false;
            p += 4;
        } else {
            return false;
        }
    }
    return true;
}

static bool has_raw_control(const char *s, bool allow_newline_tab)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || (allow_newline_tab && *p == '\t'))
            continue;
        if (*p < 0x20 || *p == 0x7F)
            return true;
    }
    return false;
}

static bool matches(const char *line, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, line, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* The line of `text` containing `needle`, copied; NULL when none. */
static char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *b = p;
    while (b > text && b[-1] != '\n')
        b--;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - b) : strlen(b);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, b, n);
    out[n] = '\0';
    return out;
}

static cJSON *parse_json(const char *text)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, strlen(text) + 1, &end, true);
    if (!j)
        fail_msg("invalid JSON near offset %td: %.40s", end ? end - text : -1, end ? end : "");
    return j;
}

/* Renders with a writer and parses the output, which must be JSON; the caller deletes it. */
static cJSON *render_json(lint_output_fn fn, const fx *f, bool show_suppressed)
{
    char *out = render(fn, f, show_suppressed, false);
    cJSON *j = parse_json(out);
    free(out);
    return j;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        fail_msg("\"%s\" is not a string", key);
    return v->valuestring;
}

/* Fails unless obj.key is the string s. */
static void assert_jstr_is(const cJSON *obj, const char *key, k5_str s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)s.n, s.p);
    assert_string_equal(jstr(obj, key), buf);
}

static double jnum(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static const cJSON *jget(const cJSON *obj, const char *key, int type)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || (v->type & 0xFF) != type)
        fail_msg("\"%s\" is missing or has the wrong type", key);
    return v;
}

/* ---- shared helpers ---- */

static void test_lint_output__find_maps_names(void **state)
{
    (void)state;
    assert_ptr_equal(lint_output_find("text"), lint_output_text);
    assert_ptr_equal(lint_output_find("json"), lint_output_json);
    assert_ptr_equal(lint_output_find("sarif"), lint_output_sarif);
    assert_ptr_equal(lint_output_find("junit"), lint_output_junit);
    assert_ptr_equal(lint_output_find("github"), lint_output_github);
    assert_null(lint_output_find("xml"));
    assert_null(lint_output_find("JSON"));
    assert_null(lint_output_find(""));
    assert_null(lint_output_find(NULL));
}

static void expect_clean(const char *in, size_t n, const char *want)
{
    char *got = fe_utf8_clean(in, n);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_true(utf8_valid(got));
    free(got);
}

static void test_lint_output__utf8_repair_replaces_maximal_subparts(void **state)
{
    (void)state;
#define FFFD "\xEF\xBF\xBD"
    expect_clean("plain", 5, "plain");
    expect_clean("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    expect_clean("a\xFF" "b", 3, "a" FFFD "b");
    expect_clean("\xE2\x82", 2, FFFD);              /* truncated: one replacement */
    expect_clean("\xE2\x82x", 3, FFFD "x");
    expect_clean("\xC0\xAF", 2, FFFD FFFD);         /* overlong '/' */
    expect_clean("\xED\xA0\x80", 3, FFFD FFFD FFFD); /* a surrogate */
    expect_clean("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
    expect_clean("a\0b", 3, "a" FFFD "b");          /* NUL cannot hide the rest */
    expect_clean(NULL, 0, "");
#undef FFFD
}

/* ---- text ---- */

static void test_lint_output__text_line_shape(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "deploy/web.yaml");
    const k5_finding *x = finding_of(&f, RULE);
    assert_non_null(x);

    char *out = render(lint_output_text, &f, false, false);
    char *line = line_with(out, "[readiness-probe-missing]");
    assert_non_null(line);
    char want[256];
    snprintf(want, sizeof want, "deploy/web.yaml:%lu:%lu: %s: ", (unsigned long)x->line,
             (unsigned long)x->column, k5_severity_str(x->severity));
    assert_true(strncmp(line, want, strlen(want)) == 0);
    assert_true(matches(line, "^deploy/web\\.yaml:[0-9]+:[0-9]+: (error|warning|info): .+ "
                              "\\[readiness-probe-missing\\] \\(Deployment shop/web\\)$"));
    assert_null(strchr(out, '\033'));

    /* Every line but the last is a finding; the last is the summary. */
    k5_summary s = k5_report_summary(f.report);
    size_t lines = count_substr(out, "\n");
    assert_int_equal(lines, s.errors + s.warnings + s.infos + 1);
    const char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n')
        last--;
    char sum[256];
    snprintf(sum, sizeof sum, "%zu file, %zu objects: %zu error%s, %zu warning%s, %zu info%s, %zu suppressed\n",
             s.files, s.objects, s.errors, s.errors == 1 ? "" : "s", s.warnings,
             s.warnings == 1 ? "" : "s", s.infos, s.infos == 1 ? "" : "s", s.suppressed);
    assert_string_equal(last, sum);
    free(line);
    free(out);

    char *colored = render(lint_output_text, &f, false, true);
    assert_non_null(strstr(colored, "\033["));
    free(colored);
    fx_free(&f);
}

static void test_lint_output__text_names_helm_template(void **state)
{
    (void)state;
    fx f;
    fx_web_after(&f, "<stdin>", "---\n# Source: shop/templates/deployment.yaml\n");

    const k5_finding *x = finding_of(&f, RULE);
    assert_non_null(x);
    assert_non_null(x->source);
    char *out = render(lint_output_text, &f, false, false);
    char *line = line_with(out, "[readiness-probe-missing]");
    assert_non_null(line);
    assert_true(matches(line, "^<stdin>:[0-9]+:[0-9]+: .* \\(Deployment shop/web, from "
                              "shop/templates/deployment\\.yaml\\)$"));
    free(line);
    free(out);
    fx_free(&f);
}

/* The Deployment silences the rule, with a reason. */
static void fx_suppressed(fx *f)
{
    static const char ann[] = "  annotations:\n"
                              "    kube5xx/ignore: readiness-probe-missing\n"
                              "    kube5xx/ignore-reason: \"legacy & <ok>\"\n";
    const char *at = strstr(WEB_YAML, "spec:\n");
    size_t head = (size_t)(at - WEB_YAML);
    size_t n = sizeof WEB_YAML - 1 + sizeof ann - 1;
    char *text = malloc(n);
    assert_non_null(text);
    memcpy(text, WEB_YAML, head);
    memcpy(text + head, ann, sizeof ann - 1);
    memcpy(text + head + sizeof ann - 1, at, sizeof WEB_YAML - 1 - head);
    fx_load(f, "web.yaml", text, n);
    free(text);
    const k5_finding *x = finding_of(f, RULE);
    assert_non_null(x);
    assert_true(x->suppressed);
}

static void test_lint_output__text_lists_suppressed_only_when_asked(void **state)
{
    (void)state;
    fx f;
    fx_suppressed(&f);
    k5_summary s = k5_report_summary(f.report);
    assert_true(s.suppressed >= 1);

    char *out = render(lint_output_text, &f, false, false);
    assert_null(strstr(out, "[readiness-probe-missing]"));
    char want[64];
    snprintf(want, sizeof want, ", %zu suppressed\n", s.suppressed);
    assert_non_null(strstr(out, want));
    free(out);

    out = render(lint_output_text, &f, true, false);
    char *line = line_with(out, "[readiness-probe-missing]");
    assert_non_null(line);
    assert_true(matches(line, "\\(Deployment shop/web\\) \\[suppressed: legacy & <ok>\\]$"));
    free(line);
    free(out);
    fx_free(&f);
}

static void fx_errors(fx *f)
{
    f->errors[0] = (lint_load_error){"bad.yaml", 3, 7, "mapping values are not allowed here"};
    f->errors[1] = (lint_load_error){"locked,a:b.yaml", 0, 0, "Permission denied"};
    f->nerrors = 2;
}

static void test_lint_output__text_reports_load_errors(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "web.yaml");
    fx_errors(&f);
    char *out = render(lint_output_text, &f, false, false);
    assert_non_null(strstr(out, "bad.yaml:3:7: error: mapping values are not allowed here\n"));
    assert_non_null(strstr(out, "\nlocked,a:b.yaml: error: Permission denied\n"));
    assert_non_null(strstr(out, ", 2 load errors\n"));
    free(out);
    fx_free(&f);
}

/* A name with ESC and a newline (YAML escapes) cannot forge lines or colours. */
static void test_lint_output__text_escapes_control_characters(void **state)
{
    (void)state;
    fx f;
    fx_pod_named(&f, "pod.yaml", "\"we\\e[31mb\\nx\\u202E\"");
    assert_non_null(finding_of(&f, RULE));
    char *out = render(lint_output_text, &f, false, false);
    assert_false(has_raw_control(out, false));
    assert_non_null(strstr(out, "(Pod default/we\\x1B[31mb\\nx\\u202E)"));
    free(out);
    fx_free(&f);
}

/* ---- json ---- */

static void check_json_finding(const cJSON *j, const k5_finding *x)
{
    assert_string_equal(jstr(j, "rule"), x->rule->id);
    assert_string_equal(jstr(j, "severity"), k5_severity_str(x->severity));
    assert_string_equal(jstr(j, "message"), x->message);
    assert_string_equal(jstr(j, "file"), x->file);
    assert_int_equal((long)jnum(j, "line"), (long)x->line);
    assert_int_equal((long)jnum(j, "column"), (long)x->column);
    assert_string_equal(jstr(j, "path"), x->path);
    if (x->source)
        assert_string_equal(jstr(j, "source"), x->source);
    else
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "source"));
    const cJSON *o = jget(j, "object", cJSON_Object);
    assert_jstr_is(o, "apiVersion", x->object->api_version);
    assert_jstr_is(o, "kind", x->object->kind);
    assert_jstr_is(o, "namespace", x->object->namespace_);
    assert_jstr_is(o, "name", x->object->name);
}

static void test_lint_output__json_follows_schema(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "deploy/web.yaml");
    fx_errors(&f);
    cJSON *root = render_json(lint_output_json, &f, false);

    assert_int_equal((int)jnum(root, "version"), 1);
    const cJSON *findings = jget(root, "findings", cJSON_Array);
    size_t n = 0;
    for (size_t i = 0; i < k5_report_count(f.report); i++) {
        const k5_finding *x = k5_report_at(f.report, i);
        if (x->suppressed)
            continue;
        const cJSON *j = cJSON_GetArrayItem(findings, (int)n++);
        assert_non_null(j);
        check_json_finding(j, x);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "suppressed"));
    }
    assert_int_equal(cJSON_GetArraySize(findings), n);
    assert_true(n >= 1);

    const cJSON *errors = jget(root, "errors", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(errors), 2);
    const cJSON *e = cJSON_GetArrayItem(errors, 0);
    assert_string_equal(jstr(e, "file"), "bad.yaml");
    assert_int_equal((int)jnum(e, "line"), 3);
    assert_int_equal((int)jnum(e, "column"), 7);
    assert_string_equal(jstr(e, "message"), "mapping values are not allowed here");
    assert_int_equal((int)jnum(cJSON_GetArrayItem(errors, 1), "line"), 0);

    k5_summary s = k5_report_summary(f.report);
    const cJSON *sum = jget(root, "summary", cJSON_Object);
    assert_int_equal((size_t)jnum(sum, "files"), s.files);
    assert_int_equal((size_t)jnum(sum, "objects"), s.objects);
    assert_int_equal((size_t)jnum(sum, "errors"), s.errors);
    assert_int_equal((size_t)jnum(sum, "warnings"), s.warnings);
    assert_int_equal((size_t)jnum(sum, "infos"), s.infos);
    assert_int_equal((size_t)jnum(sum, "suppressed"), s.suppressed);
    assert_int_equal(s.objects, 2);

    cJSON_Delete(root);
    fx_free(&f);
}

static void test_lint_output__json_stdin_and_helm_source(void **state)
{
    (void)state;
    fx f;
    fx_web_after(&f, "<stdin>", "# Source: shop/templates/deployment.yaml\n");
    cJSON *root = render_json(lint_output_json, &f, false);
    const cJSON *j = cJSON_GetArrayItem(jget(root, "findings", cJSON_Array), 0);
    assert_non_null(j);
    assert_string_equal(jstr(j, "file"), "<stdin>");
    assert_string_equal(jstr(j, "source"), "shop/templates/deployment.yaml");
    cJSON_Delete(root);
    fx_free(&f);
}

static void test_lint_output__json_suppressed_only_when_asked(void **state)
{
    (void)state;
    fx f;
    fx_suppressed(&f);
    cJSON *root = render_json(lint_output_json, &f, false);
    const cJSON *j;
    cJSON_ArrayForEach(j, jget(root, "findings", cJSON_Array))
    {
        assert_string_not_equal(jstr(j, "rule"), RULE);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "suppressed"));
    }
    cJSON_Delete(root);

    root = render_json(lint_output_json, &f, true);
    bool seen = false;
    cJSON_ArrayForEach(j, jget(root, "findings", cJSON_Array))
    {
        if (strcmp(jstr(j, "rule"), RULE) != 0)
            continue;
        seen = true;
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "suppressed")));
        assert_string_equal(jstr(j, "reason"), "legacy & <ok>");
    }
    assert_true(seen);
    cJSON_Delete(root);
    fx_free(&f);
}

/*
 * A JSON manifest may carry any byte (cJSON does not check UTF-8): an invalid
 * byte and control characters in a name must still give valid JSON and valid
 * UTF-8, in every format.
 */
static const char BAD_JSON[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
    "\"metadata\":{\"name\":\"we\xFF\\u001b[31mb\\n\\\"q\\\"\\u0001\",\"namespace\":\"shop\"},"
    "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
    "\"ports\":[{\"containerPort\":8080}]}]}}";

static void test_lint_output__every_format_repairs_utf8_and_escapes_controls(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "pod\xFE.json", BAD_JSON, sizeof BAD_JSON - 1);
    f.errors[0] = (lint_load_error){"x.yaml", 1, 1, "bad \xC3 byte\x01 here"};
    f.nerrors = 1;
    assert_non_null(finding_of(&f, RULE));

    lint_output_fn fns[] = {lint_output_text, lint_output_json, lint_output_sarif,
                            lint_output_junit, lint_output_github};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        char *out = render(fns[i], &f, true, false);
        if (!utf8_valid(out))
            fail_msg("format %zu: output is not valid UTF-8", i);
        if (has_raw_control(out, fns[i] != lint_output_text))
            fail_msg("format %zu: raw control character in output", i);
        assert_non_null(strstr(out, "we\xEF\xBF\xBD"));
        free(out);
    }

    char *out = render(lint_output_json, &f, false, false);
    cJSON *root = parse_json(out);
    const cJSON *j = cJSON_GetArrayItem(jget(root, "findings", cJSON_Array), 0);
    assert_string_equal(jstr(jget(j, "object", cJSON_Object), "name"),
                        "we\xEF\xBF\xBD\033[31mb\n\"q\"\001");
    assert_string_equal(jstr(j, "file"), "pod\xEF\xBF\xBD.json");
    assert_non_null(strstr(out, "\\u001b[31mb\\n\\\"q\\\"\\u0001"));
    cJSON_Delete(root);
    free(out);
    fx_free(&f);
}

/* ---- sarif ---- */

/* Fails unless every key of obj is one of the allowed ones (the schema's additionalProperties: false). */
static void only_keys(const cJSON *obj, const char *what, const char *const *allowed)
{
    assert_true(cJSON_IsObject(obj));
    const cJSON *k;
    cJSON_ArrayForEach(k, obj)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, k->string) == 0;
        if (!ok)
            fail_msg("%s: property \"%s\" is not in the SARIF schema", what, k->string);
    }
}

static void check_message(const cJSON *m, const char *what)
{
    static const char *const keys[] = {"text", "markdown", "id", "arguments", "properties", NULL};
    only_keys(m, what, keys);
    jstr(m, "text");
}

static bool is_level(const char *s)
{
    return strcmp(s, "none") == 0 || strcmp(s, "note") == 0 || strcmp(s, "warning") == 0 ||
           strcmp(s, "error") == 0;
}

static bool is_int(const cJSON *v, double min)
{
    return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble &&
           v->valuedouble >= min;
}

static void check_physical_location(const cJSON *phys)
{
    static const char *const pk[] = {"address", "artifactLocation", "contextRegion", "properties",
                                     "region", NULL};
    static const char *const ak[] = {"uri", "uriBaseId", "index", "description", "properties",
                                     NULL};
    static const char *const rk[] = {"startLine",  "startColumn", "endLine",    "endColumn",
                                     "charOffset", "charLength",  "byteOffset", "byteLength",
                                     "snippet",    "message",     "sourceLanguage", "properties",
                                     NULL};
    only_keys(phys, "physicalLocation", pk);
    const cJSON *art = jget(phys, "artifactLocation", cJSON_Object);
    only_keys(art, "artifactLocation", ak);
    const char *uri = jstr(art, "uri");
    /* A uri-reference: no spaces, no raw non-ASCII, percent-encoded otherwise. */
    for (const char *p = uri; *p; p++)
        assert_true(*p > 0x20 && *p < 0x7F && *p != '\\');
    const cJSON *region = cJSON_GetObjectItemCaseSensitive(phys, "region");
    if (region) {
        only_keys(region, "region", rk);
        assert_true(is_int(cJSON_GetObjectItemCaseSensitive(region, "startLine"), 1));
        const cJSON *col = cJSON_GetObjectItemCaseSensitive(region, "startColumn");
        assert_true(!col || is_int(col, 1));
    }
}

static void check_location(const cJSON *l)
{
    static const char *const loc_keys[] = {"id", "physicalLocation", "logicalLocations",
                                           "message", "annotations", "relationships",
                                           "properties", NULL};
    only_keys(l, "location", loc_keys);
    check_physical_location(jget(l, "physicalLocation", cJSON_Object));
}

/*
 * A structural validator for the parts of SARIF 2.1.0 kube5xx writes:
 * required properties, types, enums, no property the schema forbids, and
 * ruleIndex consistent with tool.driver.rules. Returns the run.
 */
static const cJSON *check_sarif(const cJSON *log)
{
    static const char *const log_keys[] = {"$schema", "version", "runs",
                                           "inlineExternalProperties", "properties", NULL};
    static const char *const run_keys[] = {
        "tool",        "invocations", "results",  "columnKind", "originalUriBaseIds",
        "artifacts",   "logicalLocations", "automationDetails", "properties", NULL};
    static const char *const tool_keys[] = {"driver", "extensions", "properties", NULL};
    static const char *const driver_keys[] = {
        "name",          "version",        "semanticVersion",  "informationUri", "rules",
        "organization",  "fullName",       "shortDescription", "fullDescription",
        "notifications", "properties",     "downloadUri",      NULL};
    static const char *const rule_keys[] = {
        "id",   "name",      "shortDescription",     "fullDescription", "help",
        "helpUri", "defaultConfiguration", "properties", "messageStrings", "deprecatedIds",
        "guid", "relationships", NULL};
    static const char *const mms_keys[] = {"text", "markdown", "properties", NULL};
    static const char *const conf_keys[] = {"enabled", "level", "rank", "parameters",
                                            "properties", NULL};
    static const char *const result_keys[] = {
        "ruleId",       "ruleIndex",           "rule",       "kind",         "level",
        "message",      "locations",           "partialFingerprints", "fingerprints",
        "suppressions", "properties",          "relatedLocations",    "baselineState",
        "rank",         "guid",                "correlationGuid",     "occurrenceCount",
        NULL};
    static const char *const ll_keys[] = {"name", "index", "fullyQualifiedName", "decoratedName",
                                          "parentIndex", "kind", "properties", NULL};
    static const char *const sup_keys[] = {"guid", "kind", "status", "justification", "location",
                                           "properties", NULL};
    static const char *const inv_keys[] = {"executionSuccessful", "toolExecutionNotifications",
                                           "toolConfigurationNotifications", "exitCode",
                                           "commandLine", "properties", NULL};
    static const char *const note_keys[] = {"locations", "message", "level", "threadId",
                                            "timeUtc", "exception", "descriptor",
                                            "associatedRule", "properties", NULL};

    only_keys(log, "sarifLog", log_keys);
    assert_string_equal(jstr(log, "version"), "2.1.0");
    assert_string_equal(jstr(log, "$schema"), "https://json.schemastore.org/sarif-2.1.0.json");
    const cJSON *runs = jget(log, "runs", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(runs), 1);
    const cJSON *run = cJSON_GetArrayItem(runs, 0);
    only_keys(run, "run", run_keys);

    const cJSON *tool = jget(run, "tool", cJSON_Object);
    only_keys(tool, "tool", tool_keys);
    const cJSON *driver = jget(tool, "driver", cJSON_Object);
    only_keys(driver, "toolComponent", driver_keys);
    assert_string_equal(jstr(driver, "name"), "kube5xx");
    assert_string_equal(jstr(driver, "version"), KUBE5XX_VERSION);
    assert_true(strncmp(jstr(driver, "informationUri"), "https://", 8) == 0);

    const cJSON *rules = jget(driver, "rules", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(rules), k5_rule_count());
    for (size_t i = 0; i < k5_rule_count(); i++) {
        const k5_rule *r = k5_rule_at(i);
        const cJSON *j = cJSON_GetArrayItem(rules, (int)i);
        only_keys(j, "reportingDescriptor", rule_keys);
        assert_string_equal(jstr(j, "id"), r->id);
        assert_true(strlen(jstr(j, "name")) > 0);
        const cJSON *sd = jget(j, "shortDescription", cJSON_Object);
        only_keys(sd, "shortDescription", mms_keys);
        assert_string_equal(jstr(sd, "text"), r->summary);
        const cJSON *fd = jget(j, "fullDescription", cJSON_Object);
        only_keys(fd, "fullDescription", mms_keys);
        assert_string_equal(jstr(fd, "text"), r->explanation);
        const cJSON *help = jget(j, "help", cJSON_Object);
        only_keys(help, "help", mms_keys);
        assert_non_null(strstr(jstr(help, "text"), r->remediation));
        assert_non_null(strstr(jstr(help, "markdown"), "```yaml\n"));
        const cJSON *conf = jget(j, "defaultConfiguration", cJSON_Object);
        only_keys(conf, "reportingConfiguration", conf_keys);
        assert_true(is_level(jstr(conf, "level")));
        const cJSON *tags = jget(jget(j, "properties", cJSON_Object), "tags", cJSON_Array);
        const cJSON *t;
        cJSON_ArrayForEach(t, tags) assert_true(cJSON_IsString(t));
    }

    const cJSON *invs = jget(run, "invocations", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(invs), 1);
    const cJSON *inv = cJSON_GetArrayItem(invs, 0);
    only_keys(inv, "invocation", inv_keys);
    assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(inv, "executionSuccessful")));
    const cJSON *notes = cJSON_GetObjectItemCaseSensitive(inv, "toolExecutionNotifications");
    const cJSON *nt;
    cJSON_ArrayForEach(nt, notes)
    {
        only_keys(nt, "notification", note_keys);
        check_message(jget(nt, "message", cJSON_Object), "notification.message");
        assert_true(is_level(jstr(nt, "level")));
        const cJSON *l;
        cJSON_ArrayForEach(l, jget(nt, "locations", cJSON_Array))
            check_location(l);
    }

    const cJSON *res;
    cJSON_ArrayForEach(res, jget(run, "results", cJSON_Array))
    {
        only_keys(res, "result", result_keys);
        const char *id = jstr(res, "ruleId");
        const cJSON *ri = cJSON_GetObjectItemCaseSensitive(res, "ruleIndex");
        assert_true(is_int(ri, 0));
        assert_true(ri->valuedouble < cJSON_GetArraySize(rules));
        assert_string_equal(jstr(cJSON_GetArrayItem(rules, (int)ri->valuedouble), "id"), id);
        assert_true(is_level(jstr(res, "level")));
        check_message(jget(res, "message", cJSON_Object), "result.message");
        const cJSON *locs = jget(res, "locations", cJSON_Array);
        assert_true(cJSON_GetArraySize(locs) >= 1);
        const cJSON *l;
        cJSON_ArrayForEach(l, locs)
        {
            check_location(l);
            const cJSON *ll;
            cJSON_ArrayForEach(ll, jget(l, "logicalLocations", cJSON_Array))
            {
                only_keys(ll, "logicalLocation", ll_keys);
                jstr(ll, "fullyQualifiedName");
            }
        }
        const cJSON *fp;
        cJSON_ArrayForEach(fp, jget(res, "partialFingerprints", cJSON_Object))
            assert_true(cJSON_IsString(fp));
        const cJSON *sup;
        cJSON_ArrayForEach(sup, cJSON_GetObjectItemCaseSensitive(res, "suppressions"))
        {
            only_keys(sup, "suppression", sup_keys);
            const char *kind = jstr(sup, "kind");
            assert_true(strcmp(kind, "inSource") == 0 || strcmp(kind, "external") == 0);
        }
    }
    return run;
}

/* The physicalLocation of the first of a result's or notification's locations. */
static const cJSON *first_physical_location(const cJSON *obj)
{
    return jget(cJSON_GetArrayItem(jget(obj, "locations", cJSON_Array), 0), "physicalLocation",
                cJSON_Object);
}

static const char *uri_of(const cJSON *phys)
{
    return jstr(jget(phys, "artifactLocation", cJSON_Object), "uri");
}

/* The result of the rule RULE in a SARIF run. */
static const cJSON *sarif_result(const cJSON *run, const char *rule)
{
    const cJSON *res;
    cJSON_ArrayForEach(res, jget(run, "results", cJSON_Array))
        if (strcmp(jstr(res, "ruleId"), rule) == 0)
            return res;
    fail_msg("no result for %s", rule);
    return NULL;
}

static void test_lint_output__sarif_is_structurally_valid(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "deploy/my web.yaml");
    cJSON *log = render_json(lint_output_sarif, &f, false);
    const cJSON *run = check_sarif(log);

    assert_int_equal(cJSON_GetArraySize(jget(run, "results", cJSON_Array)),
                     k5_report_count(f.report));
    const k5_finding *x = finding_of(&f, RULE);
    const cJSON *res = sarif_result(run, RULE);
    assert_string_equal(jstr(res, "level"), x->severity == K5_SEV_INFO ? "note"
                                            : k5_severity_str(x->severity));
    assert_non_null(strstr(jstr(jget(res, "message", cJSON_Object), "text"), x->message));
    const cJSON *loc = cJSON_GetArrayItem(jget(res, "locations", cJSON_Array), 0);
    const cJSON *phys = first_physical_location(res);
    assert_string_equal(uri_of(phys), "deploy/my%20web.yaml");
    const cJSON *region = jget(phys, "region", cJSON_Object);
    assert_int_equal((long)jnum(region, "startLine"), (long)x->line);
    assert_int_equal((long)jnum(region, "startColumn"), (long)x->column);
    const cJSON *ll = jget(loc, "logicalLocations", cJSON_Array);
    assert_string_equal(jstr(cJSON_GetArrayItem(ll, 0), "fullyQualifiedName"),
                        "Deployment/shop/web");
    assert_string_equal(jstr(cJSON_GetArrayItem(ll, 1), "name"), x->path);
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(jget(run, "invocations",
                                                                 cJSON_Array), 0),
                                         "executionSuccessful")));
    assert_null(cJSON_GetObjectItemCaseSensitive(res, "suppressions"));

    cJSON_Delete(log);
    fx_free(&f);
}

/*
 * A result's message is the finding's followed by " (Kind namespace/name)": written piece by
 * piece when every piece is plain ASCII (escapes included), joined and repaired first otherwise
 * (a non-ASCII name), and cut at a NUL in the name, as the joined string always was.
 */
static void test_lint_output__sarif_message_names_the_object(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *shown; /* the name as written in YAML, the message's tail */
    } cases[] = {
        {"web", " (Pod default/web)"},
        {"'we\"b\\x'", " (Pod default/we\"b\\x)"},
        {"\"tab\\there\"", " (Pod default/tab\there)"},
        {"w\xc3\xa9" "b", " (Pod default/w\xc3\xa9" "b)"},
        {"\"cut\\0here\"", " (Pod default/cut"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx f;
        fx_pod_named(&f, "pod.yaml", cases[i].yaml);
        const k5_finding *x = finding_of(&f, RULE);
        assert_non_null(x);
        char want[512];
        snprintf(want, sizeof want, "%s%s", x->message, cases[i].shown);
        cJSON *log = render_json(lint_output_sarif, &f, false);
        const cJSON *res = sarif_result(check_sarif(log), RULE);
        assert_string_equal(jstr(jget(res, "message", cJSON_Object), "text"), want);
        cJSON_Delete(log);
        fx_free(&f);
    }
}

static char *fingerprint_of(const fx *f)
{
    cJSON *log = render_json(lint_output_sarif, f, false);
    const cJSON *run = check_sarif(log);
    const cJSON *res = sarif_result(run, RULE);
    char *fp = strdup(jstr(jget(res, "partialFingerprints", cJSON_Object), "kube5xx/v1"));
    assert_non_null(fp);
    cJSON_Delete(log);
    return fp;
}

static void test_lint_output__sarif_fingerprint_survives_moved_lines(void **state)
{
    (void)state;
    fx a, b;
    fx_web(&a, "web.yaml");
    fx_web_after(&b, "web.yaml", "# a comment\n\n# and another\n---\n");
    assert_int_not_equal(finding_of(&a, RULE)->line, finding_of(&b, RULE)->line);

    char *fa = fingerprint_of(&a), *fb = fingerprint_of(&b);
    assert_string_equal(fa, fb);
    free(fa);
    free(fb);
    fx_free(&a);
    fx_free(&b);
}

static void test_lint_output__sarif_always_includes_suppressed(void **state)
{
    (void)state;
    fx f;
    fx_suppressed(&f);
    cJSON *log = render_json(lint_output_sarif, &f, false);
    const cJSON *res = sarif_result(check_sarif(log), RULE);
    const cJSON *sups = jget(res, "suppressions", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(sups), 1);
    const cJSON *s = cJSON_GetArrayItem(sups, 0);
    assert_string_equal(jstr(s, "kind"), "inSource");
    assert_string_equal(jstr(s, "justification"), "legacy & <ok>");
    cJSON_Delete(log);
    fx_free(&f);
}

static void test_lint_output__sarif_reports_load_errors_and_stdin(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "<stdin>");
    fx_errors(&f);
    cJSON *log = render_json(lint_output_sarif, &f, false);
    const cJSON *run = check_sarif(log);
    const cJSON *inv = cJSON_GetArrayItem(jget(run, "invocations", cJSON_Array), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(inv, "executionSuccessful")));
    const cJSON *notes = jget(inv, "toolExecutionNotifications", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(notes), 2);
    const cJSON *n0 = cJSON_GetArrayItem(notes, 0);
    assert_string_equal(jstr(jget(n0, "message", cJSON_Object), "text"),
                        "mapping values are not allowed here");
    const cJSON *p1 = first_physical_location(cJSON_GetArrayItem(notes, 1));
    assert_string_equal(uri_of(p1), "locked%2Ca%3Ab.yaml");
    assert_null(cJSON_GetObjectItemCaseSensitive(p1, "region"));

    const cJSON *res = sarif_result(run, RULE);
    /* "<stdin>" as every format spells it, percent-encoded as a URI must be, and no uriBaseId:
     * it is not a file under the repository root. */
    const cJSON *phys = first_physical_location(res);
    assert_string_equal(uri_of(phys), "%3Cstdin%3E");
    assert_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(phys, "artifactLocation"), "uriBaseId"));
    cJSON_Delete(log);
    fx_free(&f);
}

/* ---- junit ---- */

/* The value of attribute `name` in the first element starting with `tag`. */
static long xml_attr(const char *xml, const char *tag, const char *name)
{
    const char *t = strstr(xml, tag);
    assert_non_null(t);
    char pat[64];
    snprintf(pat, sizeof pat, " %s=\"", name);
    const char *a = strstr(t, pat);
    assert_non_null(a);
    assert_true(a < strchr(t, '>'));
    return strtol(a + strlen(pat), NULL, 10);
}

static void test_lint_output__junit_counts_match(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "web.yaml");
    fx_errors(&f);
    char *out = render(lint_output_junit, &f, false, false);
    assert_true(strncmp(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);

    long tests = xml_attr(out, "<testsuite ", "tests");
    long failures = xml_attr(out, "<testsuite ", "failures");
    long errors = xml_attr(out, "<testsuite ", "errors");
    long skipped = xml_attr(out, "<testsuite ", "skipped");
    assert_int_equal(tests, count_substr(out, "<testcase "));
    assert_int_equal(failures, count_substr(out, "<failure "));
    assert_int_equal(errors, count_substr(out, "<error "));
    assert_int_equal(skipped, count_substr(out, "<skipped"));
    assert_int_equal(errors, 2);
    assert_int_equal(xml_attr(out, "<testsuites ", "tests"), tests);

    /* Expected: one testcase per (object, rule) with findings, one per clean object. */
    size_t nobj = k5_docset_object_count(f.set), want = 0, want_fail = 0;
    for (size_t o = 0; o < nobj; o++) {
        size_t groups = 0;
        for (size_t r = 0; r < k5_rule_count(); r++) {
            bool any = false, fail = false;
            for (size_t i = 0; i < k5_report_count(f.report); i++) {
                const k5_finding *x = k5_report_at(f.report, i);
                if (x->object == k5_docset_object(f.set, o) && x->rule == k5_rule_at(r) &&
                    !x->suppressed) {
                    any = true;
                    fail = fail || x->severity >= K5_SEV_ERROR;
                }
            }
            groups += any;
            want_fail += fail;
        }
        want += groups ? groups : 1;
    }
    assert_int_equal(tests, want + 2);
    assert_int_equal(failures, want_fail);

    /* The Service has no finding: it shows as the passing "kube5xx" testcase. */
    if (!strstr(out, "<testcase classname=\"Service/shop/web\" name=\"kube5xx\""))
        fail_msg("no passing testcase for the Service:\n%s", out);
    assert_non_null(
        strstr(out, "<testcase classname=\"Deployment/shop/web\" name=\"readiness-probe-missing\""));
    free(out);
    fx_free(&f);
}

static void test_lint_output__junit_escapes_attributes(void **state)
{
    (void)state;
    fx f;
    fx_suppressed(&f);
    f.errors[0] = (lint_load_error){"a&b.yaml", 2, 1, "bad \"quote\" <tag>\nnext"};
    f.nerrors = 1;
    char *out = render(lint_output_junit, &f, true, false);
    assert_non_null(strstr(out, "classname=\"a&amp;b.yaml\""));
    assert_non_null(strstr(out, "message=\"bad &quot;quote&quot; &lt;tag&gt;&#10;next\""));
    assert_non_null(strstr(out, "<skipped message=\"suppressed: legacy &amp; &lt;ok&gt;\"/>"));
    assert_int_equal(xml_attr(out, "<testsuite ", "skipped"), 1);
    free(out);
    fx_free(&f);
}

/* ---- github ---- */

static void test_lint_output__github_escapes_workflow_commands(void **state)
{
    (void)state;
    fx f;
    fx_pod_named(&f, "dir,a:b/pod.yaml", "\"50%\\r\\nx,y:z\"");
    f.errors[0] = (lint_load_error){"bad.yaml", 3, 7, "line one\nline two"};
    f.nerrors = 1;
    const k5_finding *x = finding_of(&f, RULE);
    assert_non_null(x);

    char *out = render(lint_output_github, &f, false, false);
    assert_non_null(strstr(out, "::error file=bad.yaml,line=3,col=7,title=kube5xx load "
                                "error::line one%0Aline two\n"));
    char *line = line_with(out, "title=readiness-probe-missing::");
    assert_non_null(line);
    char want[256];
    snprintf(want, sizeof want, "::%s file=dir%%2Ca%%3Ab/pod.yaml,line=%lu,col=%lu,title=%s::",
             x->severity == K5_SEV_ERROR     ? "error"
             : x->severity == K5_SEV_WARNING ? "warning"
                                             : "notice",
             (unsigned long)x->line, (unsigned long)x->column, RULE);
    assert_true(strncmp(line, want, strlen(want)) == 0);
    assert_non_null(strstr(line, "(Pod default/50%25%0D%0Ax,y:z)"));
    assert_true(matches(out, "^(::(error|warning|notice) [^\n]*::[^\n]*\n)+$"));
    free(line);
    free(out);
    fx_free(&f);
}

static void test_lint_output__github_skips_suppressed(void **state)
{
    (void)state;
    fx f;
    fx_suppressed(&f);
    char *out = render(lint_output_github, &f, true, false);
    assert_null(strstr(out, "title=readiness-probe-missing"));
    free(out);
    fx_free(&f);
}

/* ---- errors ---- */

static void test_lint_output__write_failure_returns_minus_one(void **state)
{
    (void)state;
    fx f;
    fx_web(&f, "web.yaml");
    lint_output_fn fns[] = {lint_output_text, lint_output_json, lint_output_sarif,
                            lint_output_junit, lint_output_github};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        FILE *fp = fopen("/dev/full", "w");
        if (!fp)
            skip();
        lint_output o = {.fp = fp, .set = f.set, .report = f.report, .fail_on = K5_SEV_ERROR};
        errno = 0;
        assert_int_equal(fns[i](&o), -1);
        assert_int_not_equal(errno, 0);
        fclose(fp);
    }
    fx_free(&f);
}

/* ---- JSON written directly ---- */

/* lint_jw writes what cJSON prints for the same string or number, on random bytes. */
static void test_lint_output__jw_writes_what_cjson_prints(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    static const unsigned char pick[] = {0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f,
                                         0x20, '"',  '\\', '/',  'a',  0x7f, 0x80, 0xbf,
                                         0xc0, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0,
                                         0xf0, 0x9f, 0x98, 0x80, 0xf4, 0x90, 0xff, 0xfe};
    for (int round = 0; round < 20000; round++) {
        char in[64];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(seed >> 59) + (round % 7 == 0 ? 20 : 0);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            in[i] = (char)pick[(seed >> 58) & 31];
        }
        lint_jw w = {0};
        lint_jw_str(&w, in, n);
        lint_jw_raw(&w, "", 1);
        assert_false(w.oom);
        cJSON *arr = cJSON_CreateArray();
        bool oom = false;
        lint_json_strn(arr, NULL, in, n, &oom);
        assert_false(oom);
        char *want = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0));
        assert_string_equal(w.p, want);
        cJSON_free(want);
        cJSON_Delete(arr);
        free(w.p);
    }
    const double nums[] = {0,
                           1,
                           -1,
                           7,
                           12345,
                           2147483647.0,
                           2147483648.0,
                           4294967295.0,
                           -2147483648.0,
                           -2147483649.0,
                           0.5,
                           1e15,
                           1e300,
                           0.1};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        lint_jw w = {0};
        lint_jw_num(&w, nums[i]);
        lint_jw_raw(&w, "", 1);
        cJSON *num = cJSON_CreateNumber(nums[i]);
        char *want = cJSON_PrintUnformatted(num);
        assert_string_equal(w.p, want);
        cJSON_free(want);
        cJSON_Delete(num);
        free(w.p);
    }
    lint_jw w = {0};
    lint_jw_str(&w, NULL, 5);
    lint_jw_raw(&w, "", 1);
    assert_string_equal(w.p, "\"\"");
    free(w.p);
}

/* Plain ASCII escaped in pieces between two quotes is the whole string written by lint_jw_str
 * (so sarif may write a message's pieces where they go), on random splits of random text. */
static void test_lint_output__jw_esc_pieces_write_the_whole_string(void **state)
{
    (void)state;
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (int round = 0; round < 20000; round++) {
        char in[80];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(seed >> 58);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned c = (unsigned)(seed >> 57); /* 0..127 */
            in[i] = (char)(c ? c : '"');         /* plain ASCII has no NUL */
        }
        assert_true(lint_plain_ascii(in, n));
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t a = n ? (size_t)(seed >> 40) % (n + 1) : 0;
        size_t b = a + (n - a ? (size_t)(seed >> 20) % (n - a + 1) : 0);
        lint_jw got = {0}, want = {0};
        lint_jw_raw(&got, "\"", 1);
        lint_jw_esc(&got, in, a);
        lint_jw_esc(&got, in + a, b - a);
        lint_jw_esc(&got, in + b, n - b);
        lint_jw_raw(&got, "\"", 1);
        lint_jw_str(&want, in, n);
        assert_false(got.oom);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.p, want.p, want.len);
        free(got.p);
        free(want.p);
    }
    lint_jw w = {0};
    lint_jw_esc(&w, NULL, 0);
    assert_int_equal(w.len, 0);
    assert_false(w.oom);
    free(w.p);
}

/* ---- findings rendered on several threads ---- */

/*
 * n Pods without readiness probes, every third one suppressed: more findings than one
 * rendering chunk holds many times over, with chunks that show nothing when suppressed
 * findings are hidden.
 */
static void fx_many_pods(fx *f, size_t n)
{
    size_t cap = n * 320 + 1, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(text + len, cap - len,
                         "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%zu\n%s"
                         "spec:\n  containers:\n  - name: web\n    image: nginx\n"
                         "    ports:\n    - containerPort: 8080\n",
                         i,
                         (i % 3 == 0 || (i >= 300 && i < 700))
                             ? "  annotations: {kube5xx/ignore: readiness-probe-missing}\n"
                             : "");
        assert_true(k > 0 && (size_t)k < cap - len);
        len += (size_t)k;
    }
    fx_load(f, "many.yaml", text, len);
    free(text);
}

/* Every format streamed in batches is the whole-report writer's output, byte for byte, and
 * stays valid (JSON and SARIF parse; JUnit's counts are those of its testcases). */
static void test_lint_output__streamed_batches_write_the_whole_report_bytes(void **state)
{
    (void)state;
    fx f;
    fx_many_pods(&f, 2000);
    assert_true(k5_report_count(f.report) > 1000);
    f.errors[0] = (lint_load_error){"broken.yaml", 3, 7, "mapping values are not allowed here"};
    f.nerrors = 1;
    static const struct {
        const char *name;
        lint_output_fn fn;
    } fmts[] = {{"text", lint_output_text},
                {"json", lint_output_json},
                {"sarif", lint_output_sarif},
                {"junit", lint_output_junit},
                {"github", lint_output_github}};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        for (int shown = 0; shown < 2; shown++) {
            char *whole = render(fmts[i].fn, &f, shown, false);
            if (strcmp(fmts[i].name, "json") == 0 || strcmp(fmts[i].name, "sarif") == 0) {
                cJSON *doc = cJSON_Parse(whole);
                assert_non_null(doc);
                cJSON_Delete(doc);
            }
            if (strcmp(fmts[i].name, "junit") == 0) {
                /* The testsuite's tests count is every testcase written after it. */
                char want[64];
                snprintf(want, sizeof want, "<testsuite name=\"kube5xx\" tests=\"%zu\"",
                         count_substr(whole, "<testcase "));
                assert_non_null(strstr(whole, want));
            }
            size_t pers[] = {0, 1, 2, 7, 128, 999};
            for (size_t j = 0; j < sizeof pers / sizeof pers[0]; j++) {
                char *streamed = render_stream(fmts[i].name, &f, shown, pers[j]);
                assert_string_equal(whole, streamed);
                free(streamed);
            }
            free(whole);
        }
    }
    /* Hidden suppressed findings leave no stray separators. */
    char *json = render_stream("json", &f, false, 7);
    assert_null(strstr(json, ",,"));
    assert_null(strstr(json, "[,"));
    assert_null(strstr(json, ",]"));
    free(json);
    /* A failed write is reported. */
    FILE *fp = fopen("/dev/full", "w");
    if (fp) {
        lint_output o = {.fp = fp, .set = f.set, .report = f.report, .fail_on = K5_SEV_ERROR};
        errno = 0;
        assert_int_equal(lint_output_sarif(&o), -1);
        assert_int_not_equal(errno, 0);
        fclose(fp);
    }
    lint_stream *s = NULL;
    errno = 0;
    lint_output o = {.fp = stdout, .set = f.set};
    assert_int_equal(lint_stream_open(&s, "xml", &o), -1);
    assert_null(s);
    fx_free(&f);
}

/*
 * JUnit's counts come before its testcases. Streamed to a regular file, its head is written
 * without them first and again with them at the end (at the head's offset: here after other
 * bytes); to a file in append mode (where pwrite appends) or a memstream, the testcases are
 * spooled. Every way gives the whole-report writer's bytes, and the counts' field is as wide
 * as the digits of their bound ((objects + 1) x (rules + 1) + load errors), padded with spaces.
 */
static void test_lint_output__junit_straight_to_a_file_is_the_whole_report(void **state)
{
    (void)state;
    fx f;
    fx_many_pods(&f, 700);
    f.errors[0] = (lint_load_error){"broken.yaml", 3, 7, "mapping values are not allowed here"};
    f.nerrors = 1;
    for (int shown = 0; shown < 2; shown++) {
        char *whole = render(lint_output_junit, &f, shown, false);
        char *prefixed = malloc(strlen(whole) + 8);
        assert_non_null(prefixed);
        snprintf(prefixed, strlen(whole) + 8, "before\n%s", whole);
        for (int append = 0; append < 2; append++) {
            char path[] = "/tmp/test_lint_output-junit-XXXXXX";
            int fd = mkstemp(path);
            assert_true(fd >= 0);
            assert_int_equal(write(fd, "before\n", 7), 7);
            assert_int_equal(close(fd), 0);
            FILE *fp = fopen(path, append ? "a" : "r+");
            assert_non_null(fp);
            if (!append)
                assert_int_equal(fseek(fp, 7, SEEK_SET), 0);
            stream_to(fp, "junit", &f, shown, 7);
            assert_int_equal(fclose(fp), 0);
            char *got = slurp(path);
            unlink(path);
            assert_string_equal(got, prefixed);
            free(got);
        }
        /* 700 objects, the registry's rules and 1 load error. */
        size_t bound = (k5_docset_object_count(f.set) + 1) * (k5_rule_count() + 1) + 1;
        char digits[32];
        size_t width = (size_t)snprintf(digits, sizeof digits, "%zu", bound);
        const char *t = strstr(whole, "<testsuite name=\"kube5xx\" tests=\"");
        assert_non_null(t);
        const char *gt = strchr(t, '>');
        size_t attrs = (size_t)(gt - (t + strlen("<testsuite name=\"kube5xx\"")));
        assert_int_equal(attrs,
                         strlen(" tests=\"\" failures=\"\" errors=\"\" skipped=\"\"") + 4 * width);
        assert_int_equal(gt[-1], ' ');
        free(prefixed);
        free(whole);
    }
    fx_free(&f);
}

/*
 * JUnit to a pipe keeps compact records (each finding's line, column, severity, flags,
 * message as its difference from the rule's last, reason) and renders them at close; to a
 * regular file it renders as the batches come. The two must give the same bytes, here over
 * two files of objects whose names, namespaces, Helm sources and suppression reasons need
 * escaping, clean objects between them, every verdict, and findings the records cannot hold
 * (a file name or source that is not the object's, a rule outside the registry, no object, a
 * severity out of range), which are spooled as their rendered text.
 */
static void junit_three_ways(const lint_output *base, const k5_finding *fs, size_t n, size_t per,
                             char **straight_out)
{
    char *got[3] = {NULL, NULL, NULL};
    for (int way = 0; way < 3; way++) {
        /* 0: straight to a regular file; 1: a file in append mode (spooled to $TMPDIR);
         * 2: a memstream (spooled in memory). */
        char path[] = "/tmp/test_lint_output-junit-spool-XXXXXX";
        char *mem = NULL;
        size_t memlen = 0;
        FILE *fp;
        if (way < 2) {
            int fd = mkstemp(path);
            assert_true(fd >= 0);
            assert_int_equal(close(fd), 0);
            fp = fopen(path, way == 0 ? "w" : "a");
        } else {
            fp = open_memstream(&mem, &memlen);
        }
        assert_non_null(fp);
        lint_output o = *base;
        o.fp = fp;
        lint_stream *s = NULL;
        assert_int_equal(lint_stream_open(&s, "junit", &o), 0);
        /* Batches of whole objects of at least `per` findings (k5_run_each's contract). */
        for (size_t i = 0; i < n;) {
            size_t k = 1;
            while (i + k < n && (k < per || fs[i + k].object == fs[i + k - 1].object))
                k++;
            assert_int_equal(lint_stream_findings(s, fs + i, k), 0);
            i += k;
        }
        k5_summary sum = {0};
        assert_int_equal(lint_stream_close(&s, sum), 0);
        assert_int_equal(fclose(fp), 0);
        if (way < 2) {
            got[way] = slurp(path);
            unlink(path);
        } else {
            got[way] = mem;
        }
    }
    assert_string_equal(got[0], got[1]);
    assert_string_equal(got[0], got[2]);
    free(got[1]);
    free(got[2]);
    *straight_out = got[0];
}

static void test_lint_output__junit_spool_renders_what_goes_straight(void **state)
{
    (void)state;
    static const char *const names[] = {
        "q\\\"uote",        "ap'os",  "lt<gt>amp&",        "tab\\there",
        "nl\\nline",        "cr\\rx", "ctl\\x01\\x1f",     "e\\u00e9",
        "emoji\\U0001F600", "plain",  "plain-longer-name", "p"};
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < 240; i++) {
        const char *src = i % 3 == 0 ? "# Source: chart \"c\"/templates/<d&>\xc3\xa9.yaml\n" : "";
        const char *ann =
            i % 4 == 1   ? "  annotations:\n"
                           "    kube5xx/ignore: readiness-probe-missing,prestop-hook-missing\n"
                           "    kube5xx/ignore-reason: \"why <&> \\\"x\\\" \\t \\u00e9\"\n"
            : i % 4 == 2 ? "  annotations: {kube5xx/ignore: readiness-probe-missing}\n"
                         : "";
        int k = snprintf(text + len, cap - len,
                         "---\n%sapiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                         "  name: \"%s%zu\"\n  namespace: \"ns<&>%zu\"\n%s"
                         "spec:\n  replicas: %zu\n  selector: {matchLabels: {app: a%zu}}\n"
                         "  template:\n    metadata: {labels: {app: a%zu}}\n    spec:\n"
                         "      containers:\n      - name: \"c%s\"\n        image: nginx\n"
                         "        ports: [{containerPort: %zu}]\n"
                         "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: clean%zu}\n",
                         src, names[i % 12], i, i % 4, ann, 1 + i % 2, i, i, names[i % 12],
                         8080 + i % 3, i);
        assert_true(k > 0 && (size_t)k < cap - len);
        len += (size_t)k;
    }
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, "default"), K5_OK);
    k5_error err = {0};
    size_t half = 0;
    for (size_t i = 0, docs = 0; i + 4 < len; i++)
        if (memcmp(text + i, "---\n", 4) == 0 && ++docs == 241)
            half = i;
    assert_true(half > 0);
    const char *file_names[2] = {"a \"<&>\".yaml", "b\xc3\xa9.yaml"};
    size_t cut[3] = {0, half, len};
    for (int f = 0; f < 2; f++) {
        char *buf = malloc(cut[f + 1] - cut[f]);
        assert_non_null(buf);
        memcpy(buf, text + cut[f], cut[f + 1] - cut[f]);
        k5_status st =
            k5_docset_load(set, file_names[f], buf, cut[f + 1] - cut[f], K5_FORMAT_AUTO, &err);
        if (st != K5_OK)
            fail_msg("loading: %s", err.msg);
    }
    free(text);
    k5_report *report = NULL;
    assert_int_equal(k5_run(set, NULL, 0, &report, &err), K5_OK);
    size_t n = k5_report_count(report);
    assert_true(n > 500);
    k5_finding *fs = calloc(n, sizeof *fs);
    assert_non_null(fs);
    for (size_t i = 0; i < n; i++)
        fs[i] = *k5_report_at(report, i);
    lint_load_error errors[1] = {{"broken <&>.yaml", 3, 7, "mapping values \"here\""}};
    lint_output base = {.set = set, .errors = errors, .nerrors = 1};

    /* As the engine reports them: every group is a compact record. The whole-report writer
     * gives the same bytes. */
    for (int shown = 0; shown < 2; shown++) {
        for (k5_severity fail_on = K5_SEV_WARNING; fail_on <= K5_SEV_ERROR; fail_on++) {
            base.show_suppressed = shown;
            base.fail_on = fail_on;
            base.report = report;
            char *buf = NULL;
            size_t blen = 0;
            base.fp = open_memstream(&buf, &blen);
            assert_non_null(base.fp);
            assert_int_equal(lint_output_junit(&base), 0);
            assert_int_equal(fclose(base.fp), 0);
            base.report = NULL;
            size_t pers[] = {1, 7, 999};
            for (size_t p = 0; p < sizeof pers / sizeof pers[0]; p++) {
                char *straight = NULL;
                junit_three_ways(&base, fs, n, pers[p], &straight);
                assert_string_equal(straight, buf);
                free(straight);
            }
            if (shown && fail_on == K5_SEV_ERROR) {
                assert_true(count_substr(buf, "<skipped ") > 0);
                assert_true(count_substr(buf, "<failure ") > 0);
                assert_true(count_substr(buf, "<system-out>") > 0);
                assert_true(count_substr(buf, "name=\"kube5xx\" file=") >= 240);
                assert_non_null(
                    strstr(buf, ", from chart \"c\"/templates/&lt;d&amp;&gt;\xc3\xa9.yaml)"));
                assert_non_null(strstr(buf, "<skipped message=\"suppressed: why &lt;&amp;&gt; "
                                            "&quot;x&quot; &#9; \xc3\xa9\"/>"));
            }
            free(buf);
        }
    }

    /* Findings the records cannot hold, among the others, in the middle of the run. */
    static k5_rule foreign;
    foreign = *k5_rule_at(0);
    char *same_name = strdup(fs[n / 2].file);
    assert_non_null(same_name);
    fs[n / 2].file = same_name; /* the same name elsewhere in memory: still compact */
    fs[n / 3].file = "other.yaml";
    fs[n / 3 + 5].source = "not/the/object's.yaml";
    fs[n / 4].rule = &foreign;
    fs[n / 5].rule = NULL;
    fs[n / 6].severity = (k5_severity)9;
    fs[n / 7].object = NULL;
    fs[n / 7 + 1].object = NULL;
    base.show_suppressed = true;
    base.fail_on = K5_SEV_ERROR;
    char *straight = NULL;
    junit_three_ways(&base, fs, n, 3, &straight);
    assert_non_null(strstr(straight, "file=\"other.yaml\""));
    assert_non_null(strstr(straight, ", from not/the/object's.yaml)"));
    free(straight);
    free(same_name);
    free(fs);
    k5_report_free(&report);
    k5_docset_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lint_output__find_maps_names),
        cmocka_unit_test(test_lint_output__utf8_repair_replaces_maximal_subparts),
        cmocka_unit_test(test_lint_output__text_line_shape),
        cmocka_unit_test(test_lint_output__text_names_helm_template),
        cmocka_unit_test(test_lint_output__text_lists_suppressed_only_when_asked),
        cmocka_unit_test(test_lint_output__text_reports_load_errors),
        cmocka_unit_test(test_lint_output__text_escapes_control_characters),
        cmocka_unit_test(test_lint_output__json_follows_schema),
        cmocka_unit_test(test_lint_output__json_stdin_and_helm_source),
        cmocka_unit_test(test_lint_output__json_suppressed_only_when_asked),
        cmocka_unit_test(test_lint_output__every_format_repairs_utf8_and_escapes_controls),
        cmocka_unit_test(test_lint_output__sarif_is_structurally_valid),
        cmocka_unit_test(test_lint_output__sarif_message_names_the_object),
        cmocka_unit_test(test_lint_output__sarif_fingerprint_survives_moved_lines),
        cmocka_unit_test(test_lint_output__sarif_always_includes_suppressed),
        cmocka_unit_test(test_lint_output__sarif_reports_load_errors_and_stdin),
        cmocka_unit_test(test_lint_output__junit_counts_match),
        cmocka_unit_test(test_lint_output__junit_escapes_attributes),
        cmocka_unit_test(test_lint_output__github_escapes_workflow_commands),
        cmocka_unit_test(test_lint_output__github_skips_suppressed),
        cmocka_unit_test(test_lint_output__write_failure_returns_minus_one),
        cmocka_unit_test(test_lint_output__jw_writes_what_cjson_prints),
        cmocka_unit_test(test_lint_output__jw_esc_pieces_write_the_whole_string),
        cmocka_unit_test(test_lint_output__streamed_batches_write_the_whole_report_bytes),
        cmocka_unit_test(test_lint_output__junit_straight_to_a_file_is_the_whole_report),
        cmocka_unit_test(test_lint_output__junit_spool_renders_what_goes_straight),
    };
    return cmocka_run_group_tests_name("lint_output", tests, NULL, NULL);
}
