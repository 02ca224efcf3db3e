/*
 * kube5xx CLI: what the output formats share. The engine's strings come from
 * the user's input and are only as valid as it is (a JSON manifest may carry
 * any byte), so every format repairs UTF-8 through fe_utf8_next (the layer
 * the webhook shares, frontend/fe.h) and then applies its own escaping on top.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lint_output_internal.h"

static const lint_stream_ops *const formats[] = {&lint_text_ops, &lint_json_ops, &lint_sarif_ops,
                                                 &lint_junit_ops, &lint_github_ops};

static const lint_stream_ops *format_ops(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i]->name, name) == 0)
            return formats[i];
    return NULL;
}

lint_output_fn lint_output_find(const char *name)
{
    const lint_stream_ops *ops = format_ops(name);
    return ops ? ops->whole : NULL;
}

/* ---- formats written as the findings arrive ---- */

void lint_stream_free(lint_stream **s)
{
    if (!s || !*s)
        return;
    if ((*s)->ops->free)
        (*s)->ops->free(*s);
    free(*s);
    *s = NULL;
}

int lint_stream_open(lint_stream **out, const char *format, const lint_output *o)
{
    const lint_stream_ops *ops = format_ops(format);
    if (!ops) {
        errno = EINVAL;
        return -1;
    }
    lint_stream *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    s->o = o;
    s->ops = ops;
    errno = 0;
    if (ops->open && ops->open(s) != 0) {
        int e = errno ? errno : EIO;
        lint_stream_free(&s);
        errno = e;
        return -1;
    }
    *out = s;
    return 0;
}

int lint_stream_findings(lint_stream *s, const k5_finding *f, size_t n)
{
    if (s->ops->findings(s, f, n) != 0) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    if (ferror(s->o->fp)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

int lint_stream_close(lint_stream **s, k5_summary sum)
{
    if (!s || !*s) {
        errno = EINVAL;
        return -1;
    }
    int rc = (*s)->ops->close(*s, sum);
    int e = errno;
    lint_stream_free(s);
    errno = e;
    return rc;
}

int lint_stream_report(const lint_output *o, const lint_stream_ops *ops)
{
    lint_stream s = {o, ops, NULL};
    errno = 0;
    int rc = ops->open ? ops->open(&s) : 0;
    size_t n = o->report ? k5_report_count(o->report) : 0;
    for (size_t i = 0; i < n && rc == 0;) {
        const k5_finding *b = k5_report_at(o->report, i);
        size_t k = 1;
        while (i + k < n && k5_report_at(o->report, i + k) == b + k)
            k++;
        rc = ops->findings(&s, b, k);
        i += k;
    }
    k5_summary sum = {0};
    if (o->report)
        sum = k5_report_summary(o->report);
    if (rc == 0)
        rc = ops->close(&s, sum);
    int e = errno;
    if (ops->free)
        ops->free(&s);
    errno = e;
    if (rc != 0 && !errno)
        errno = EIO;
    return rc;
}

int lint_put_cp(FILE *fp, uint32_t cp)
{
    char buf[4];
    size_t n = fe_utf8_encode(cp, buf);
    return fwrite(buf, 1, n, fp) == n ? 0 : EOF;
}

int lint_output_finish(FILE *fp)
{
    if (fflush(fp) != 0 || ferror(fp)) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

const char *lint_severity_name(k5_severity s)
{
    switch (s) {
    case K5_SEV_ERROR:
        return "error";
    case K5_SEV_WARNING:
        return "warning";
    case K5_SEV_INFO:
        return "info";
    case K5_SEV_OFF:
        break;
    }
    return "off";
}

static int str_len(k5_str s)
{
    return s.p ? (int)(s.n > INT_MAX ? INT_MAX : s.n) : 0;
}

/* Appends at most the first n bytes of p up to a NUL (as "%.*s" prints) while room is left. */
static size_t id_put(char *buf, size_t at, size_t room, const char *p, size_t n)
{
    if (!p)
        return at;
    n = strnlen(p, n);
    if (n > room - at)
        n = room - at;
    memcpy(buf + at, p, n);
    return at + n;
}

void lint_object_id(const k5_object *obj, char *buf, size_t size)
{
    /* snprintf(buf, size, "%.*s/%.*s/%.*s", kind, namespace, name) without printf (once or
     * twice per SARIF result): the same bytes, cut at size - 1. */
    if (size == 0)
        return;
    size_t room = size - 1, at = 0;
    if (obj) {
        at = id_put(buf, at, room, obj->kind.p, (size_t)str_len(obj->kind));
        at = id_put(buf, at, room, "/", 1);
        at = id_put(buf, at, room, obj->namespace_.p, (size_t)str_len(obj->namespace_));
        at = id_put(buf, at, room, "/", 1);
        at = id_put(buf, at, room, obj->name.p, (size_t)str_len(obj->name));
    }
    buf[at] = '\0';
}

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    /* Then a NUL byte (XOR with 0 is a no-op), so ("ab", "c") and ("a", "bc") differ. */
    h *= 0x100000001b3ull;
    return h;
}

uint64_t lint_finding_fingerprint(const k5_finding *f)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, f->rule ? f->rule->id : "", f->rule ? lint_strlen0(f->rule->id) : 0);
    if (f->object) {
        h = fnv1a(h, f->object->api_version.p, f->object->api_version.n);
        h = fnv1a(h, f->object->kind.p, f->object->kind.n);
        h = fnv1a(h, f->object->namespace_.p, f->object->namespace_.n);
        h = fnv1a(h, f->object->name.p, f->object->name.n);
    }
    h = fnv1a(h, f->path, lint_strlen0(f->path));
    return h;
}

/* ---- cJSON builders ---- */

static cJSON *attach(cJSON *parent, const char *key, cJSON *item, bool *oom)
{
    if (!item || !parent) {
        cJSON_Delete(item);
        *oom = true;
        return NULL;
    }
    bool ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) {
        cJSON_Delete(item);
        *oom = true;
        return NULL;
    }
    return item;
}

cJSON *lint_json_obj(cJSON *parent, const char *key, bool *oom)
{
    return attach(parent, key, cJSON_CreateObject(), oom);
}

cJSON *lint_json_arr(cJSON *parent, const char *key, bool *oom)
{
    return attach(parent, key, cJSON_CreateArray(), oom);
}

cJSON *lint_json_strn(cJSON *parent, const char *key, const char *s, size_t n, bool *oom)
{
    char *clean = fe_utf8_clean(s, s ? n : 0);
    if (!clean) {
        *oom = true;
        return NULL;
    }
    cJSON *item = cJSON_CreateString(clean);
    free(clean);
    return attach(parent, key, item, oom);
}

cJSON *lint_json_str(cJSON *parent, const char *key, const char *s, bool *oom)
{
    return lint_json_strn(parent, key, s, lint_strlen0(s), oom);
}

cJSON *lint_json_num(cJSON *parent, const char *key, double v, bool *oom)
{
    return attach(parent, key, cJSON_CreateNumber(v), oom);
}

cJSON *lint_json_bool(cJSON *parent, const char *key, bool v, bool *oom)
{
    return attach(parent, key, cJSON_CreateBool(v), oom);
}

cJSON *lint_json_null(cJSON *parent, const char *key, bool *oom)
{
    return attach(parent, key, cJSON_CreateNull(), oom);
}

int lint_json_emit(FILE *fp, cJSON *root, bool pretty, bool oom)
{
    char *text = NULL;
    if (!oom && root)
        text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    errno = 0;
    fputs(text, fp);
    fputc('\n', fp);
    cJSON_free(text);
    return lint_output_finish(fp);
}

/* ---- JSON text written directly, byte for byte as cJSON prints it ---- */

static bool jw_reserve(lint_jw *w, size_t n)
{
    if (w->oom)
        return false;
    if (n > SIZE_MAX / 2 - w->len) {
        w->oom = true;
        return false;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        char *p = realloc(w->p, cap);
        if (!p) {
            w->oom = true;
            return false;
        }
        w->p = p;
        w->cap = cap;
    }
    return true;
}

void lint_jw_raw_grow(lint_jw *w, const char *s, size_t n)
{
    if (!jw_reserve(w, n))
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

void lint_jw_str(lint_jw *w, const char *s, size_t n)
{
    if (!s)
        n = 0;
    /* What lint_json_strn gives cJSON: UTF-8 repaired, NUL as U+FFFD (fe_utf8_clean). Valid
     * text without NUL is its own repair, so only other text pays for the copy. */
    char *clean = NULL;
    if (n && !lint_plain_ascii(s, n) && (memchr(s, '\0', n) || !fe_utf8_valid(s, n))) {
        clean = fe_utf8_clean(s, n);
        if (!clean) {
            w->oom = true;
            return;
        }
        s = clean;
        n = strlen(clean);
    }
    if (n > (SIZE_MAX / 2 - 2) / 6) {
        w->oom = true;
    } else if (jw_reserve(w, FE_JSON_ESCAPED_MAX(n) + 2)) {
        char *p = w->p + w->len;
        *p++ = '"';
        p = fe_json_escape(p, s, n);
        *p++ = '"';
        w->len = (size_t)(p - w->p);
    }
    free(clean);
}

void lint_jw_esc(lint_jw *w, const char *s, size_t n)
{
    if (n > (SIZE_MAX / 2 - 2) / 6) {
        w->oom = true;
    } else if (n && jw_reserve(w, FE_JSON_ESCAPED_MAX(n))) {
        w->len = (size_t)(fe_json_escape(w->p + w->len, s, n) - w->p);
    }
}

void lint_jw_cstr(lint_jw *w, const char *s)
{
    lint_jw_str(w, s, lint_strlen0(s));
}

void lint_jw_object_ident(lint_jw *w, const k5_object *o)
{
    lint_jw_lit(w, "\"apiVersion\":");
    lint_jw_str(w, o->api_version.p, o->api_version.n);
    lint_jw_lit(w, ",\"kind\":");
    lint_jw_str(w, o->kind.p, o->kind.n);
    lint_jw_lit(w, ",\"namespace\":");
    lint_jw_str(w, o->namespace_.p, o->namespace_.n);
    lint_jw_lit(w, ",\"name\":");
    lint_jw_str(w, o->name.p, o->name.n);
}

void lint_jw_num(lint_jw *w, double d)
{
    /* cJSON_CreateNumber's valueint, then cJSON's print_number. */
    int vi = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    char buf[32];
    int n;
    if (isnan(d) || isinf(d)) {
        n = snprintf(buf, sizeof buf, "null");
    } else if (d == (double)vi) {
        /* "%d" without printf: lines, columns and counts, several per finding. */
        char *e = buf + sizeof buf, *p = e;
        unsigned u = vi < 0 ? 0u - (unsigned)vi : (unsigned)vi;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (vi < 0)
            *--p = '-';
        lint_jw_raw(w, p, (size_t)(e - p));
        return;
    } else {
        n = snprintf(buf, sizeof buf, "%1.15g", d);
        double back;
        if (sscanf(buf, "%lg", &back) != 1 ||
            fabs(back - d) > fmax(fabs(back), fabs(d)) * DBL_EPSILON)
            n = snprintf(buf, sizeof buf, "%1.17g", d);
    }
    if (n > 0)
        lint_jw_raw(w, buf, (size_t)n);
}

/* A string no finding can produce (a control character starts it), printed by cJSON as
 * "\u0001k5-items": where the streamed items go. */
#define SPLICE_MARK "\x01k5-items"
#define SPLICE_TEXT "\"\\u0001k5-items\""

int lint_json_split(cJSON *root, cJSON *slot, bool pretty, bool oom, char **head, char **tail)
{
    lint_json_str(slot, NULL, SPLICE_MARK, &oom);
    char *text = NULL;
    if (!oom && root)
        text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char *at = text ? strstr(text, SPLICE_TEXT) : NULL;
    char *h = NULL, *t = NULL;
    if (at) {
        const char *rest = at + strlen(SPLICE_TEXT);
        size_t rl = strlen(rest);
        h = strndup(text, (size_t)(at - text));
        t = malloc(rl + 2);
        if (t) {
            memcpy(t, rest, rl);
            t[rl] = '\n';
            t[rl + 1] = '\0';
        }
    }
    cJSON_free(text);
    if (!h || !t) {
        free(h);
        free(t);
        errno = ENOMEM;
        return -1;
    }
    *head = h;
    *tail = t;
    return 0;
}

void lint_jw_flush(lint_jw *w, FILE *fp)
{
    if (w->len)
        fwrite(w->p, 1, w->len, fp);
    w->len = 0;
}
