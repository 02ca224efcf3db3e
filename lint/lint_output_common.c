/*
 * kube5xx CLI: what the output formats share. The engine's strings come from
 * the user's input and are only as valid as it is (a JSON manifest may carry
 * any byte), so every format repairs UTF-8 through fe_utf8_next (the layer
 * the webhook shares, frontend/fe.h) and then applies its own escaping on top.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lint_output_internal.h"

static const struct {
    const char *name;
    lint_output_fn fn;
} formats[] = {
    {"text", lint_output_text},   {"json", lint_output_json},     {"sarif", lint_output_sarif},
    {"junit", lint_output_junit}, {"github", lint_output_github},
};

lint_output_fn lint_output_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0)
            return formats[i].fn;
    return NULL;
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

void lint_object_id(const k5_object *obj, char *buf, size_t size)
{
    if (!obj) {
        snprintf(buf, size, "%s", "");
        return;
    }
    snprintf(buf, size, "%.*s/%.*s/%.*s", str_len(obj->kind), obj->kind.p ? obj->kind.p : "",
             str_len(obj->namespace_), obj->namespace_.p ? obj->namespace_.p : "",
             str_len(obj->name), obj->name.p ? obj->name.p : "");
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

/* A string no finding can produce (a control character starts it), printed by cJSON as
 * "\u0001k5-items": where the streamed items go. */
#define SPLICE_MARK "\x01k5-items"
#define SPLICE_TEXT "\"\\u0001k5-items\""

int lint_json_emit_items(FILE *fp, cJSON *root, cJSON *slot, bool pretty, bool oom,
                         lint_json_item_fn item, void *ud, size_t n)
{
    lint_json_str(slot, NULL, SPLICE_MARK, &oom);
    char *text = NULL;
    if (!oom && root)
        text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char *at = text ? strstr(text, SPLICE_TEXT) : NULL;
    if (!at) {
        cJSON_free(text);
        errno = ENOMEM;
        return -1;
    }
    errno = 0;
    fwrite(text, 1, (size_t)(at - text), fp);
    /* One finding at a time: a small tree, printed and freed, so memory does not grow with
     * the number of findings. */
    bool first = true;
    for (size_t i = 0; i < n && !oom && !ferror(fp); i++) {
        cJSON *tmp = cJSON_CreateArray();
        if (!tmp) {
            oom = true;
            break;
        }
        if (!item(tmp, ud, i, &oom) || oom) {
            cJSON_Delete(tmp);
            continue;
        }
        char *one = cJSON_PrintUnformatted(cJSON_GetArrayItem(tmp, 0));
        cJSON_Delete(tmp);
        if (!one) {
            oom = true;
            break;
        }
        if (!first)
            fputs(pretty ? ",\n" : ",", fp);
        fputs(one, fp);
        cJSON_free(one);
        first = false;
    }
    fputs(at + strlen(SPLICE_TEXT), fp);
    fputc('\n', fp);
    cJSON_free(text);
    if (oom) {
        errno = ENOMEM;
        return -1;
    }
    return lint_output_finish(fp);
}
