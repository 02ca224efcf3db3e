/*
 * kube5xx_kube: small helpers (errors, capped file reads, base64, YAML into
 * cJSON) and the kind table's neighbours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "fe.h"
#include "kube_internal.h"

k5_status k5__kube_err(k5_error *err, k5_status st, const char *fmt, ...)
{
    if (!err)
        return st;
    err->file = NULL;
    err->line = 0;
    err->column = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return st;
}

k5_status k5__kube_read_file(const char *path, size_t cap, const char *cap_name, const char *what,
                             char **out, size_t *len, k5_error *err)
{
    /* The front-ends' shared reader; FIFOs and devices are read (a kubeconfig from <(...)). */
    char why[200];
    switch (fe_read_file(path, cap, 0, out, len, why, sizeof why)) {
    case FE_OK:
        return K5_OK;
    case FE_ENOMEM:
        return k5__kube_err(err, K5_ENOMEM, "%s: out of memory reading %s", path, what);
    case FE_ELIMIT:
        return k5__kube_err(err, K5_ELIMIT, "%s: %s is larger than %zu bytes (limit %s)", path,
                            what, cap, cap_name);
    case FE_ENOENT:
        return k5__kube_err(err, K5_ENOTFOUND, "%s: cannot read %s: %s", path, what, why);
    case FE_EIO:
    case FE_ENOTREG:
        break;
    }
    return k5__kube_err(err, K5_EINVAL, "%s: cannot read %s: %s", path, what, why);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool k5__kube_base64(const char *s, size_t n, char **out, size_t *outlen)
{
    char *buf = malloc(n / 4 * 3 + 4);
    if (!buf)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    bool pad = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad = true;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad) {
            free(buf);
            return false;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xFFu);
        }
    }
    if (bits >= 6) { /* a lone 6-bit group cannot end valid base64 */
        free(buf);
        return false;
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return true;
}

/* ------------------------------------------------------------- YAML -> cJSON */

typedef struct yconv {
    cJSON *stack[K5_KUBE_MAX_YAML_DEPTH + 1];
    char *keys[K5_KUBE_MAX_YAML_DEPTH + 1]; /* pending key of a map level, or NULL */
    size_t depth;
    size_t nodes;
    cJSON *root;
} yconv;

/* Attaches `item` at the current level; takes ownership of it in every case. */
static bool attach(yconv *c, cJSON *item)
{
    if (c->depth == 0) {
        if (c->root) {
            cJSON_Delete(item);
            return false;
        }
        c->root = item;
        return true;
    }
    cJSON *parent = c->stack[c->depth - 1];
    if (cJSON_IsArray(parent)) {
        if (!cJSON_AddItemToArray(parent, item)) {
            cJSON_Delete(item);
            return false;
        }
        return true;
    }
    char *key = c->keys[c->depth - 1];
    c->keys[c->depth - 1] = NULL;
    /* Later duplicate keys replace earlier ones, as YAML-to-JSON in client-go would refuse;
     * replacing keeps the tree small and unambiguous. */
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    bool ok = cJSON_AddItemToObject(parent, key, item);
    free(key);
    if (!ok)
        cJSON_Delete(item);
    return ok;
}

static void yconv_free(yconv *c)
{
    /* Open levels are not attached to their parents yet: each is freed on its own. */
    for (size_t i = 0; i < c->depth; i++) {
        free(c->keys[i]);
        cJSON_Delete(c->stack[i]);
    }
    cJSON_Delete(c->root);
}

static k5_status yerr(k5_error *err, const char *name, size_t line, size_t col, k5_status st,
                      const char *msg)
{
    k5__kube_err(err, st, "%s", msg);
    if (err) {
        err->file = name;
        err->line = (uint32_t)line;
        err->column = (uint32_t)col;
    }
    return st;
}

static bool key_position(const yconv *c)
{
    return c->depth > 0 && cJSON_IsObject(c->stack[c->depth - 1]) && !c->keys[c->depth - 1];
}

static bool plain_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (n == 0 || (n == 1 && v[0] == '~') || (n == 4 && memcmp(v, "null", 4) == 0));
}

/* Handles one event; returns K5_OK or an error already written to err. */
static k5_status yevent(yconv *c, const yaml_event_t *ev, const char *name, k5_error *err)
{
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    cJSON *item = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return yerr(err, name, line, col, K5_EPARSE,
                    "YAML aliases are not supported in a kubeconfig");
    case YAML_SCALAR_EVENT:
        if (key_position(c)) {
            c->keys[c->depth - 1] =
                strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
            return c->keys[c->depth - 1] ? K5_OK
                                         : yerr(err, name, line, col, K5_ENOMEM, "out of memory");
        }
        if (++c->nodes > K5_KUBE_MAX_YAML_NODES)
            return yerr(err, name, line, col, K5_ELIMIT,
                        "more YAML nodes than K5_KUBE_MAX_YAML_NODES allows");
        if (plain_null(ev)) {
            item = cJSON_CreateNull();
        } else {
            char *s = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
            item = s ? cJSON_CreateString(s) : NULL;
            free(s);
        }
        if (!item || !attach(c, item))
            return yerr(err, name, line, col, K5_ENOMEM, "out of memory");
        return K5_OK;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (key_position(c))
            return yerr(err, name, line, col, K5_EPARSE,
                        "a map or sequence used as a key is not supported in a kubeconfig");
        if (c->depth >= K5_KUBE_MAX_YAML_DEPTH)
            return yerr(err, name, line, col, K5_ELIMIT,
                        "YAML nested deeper than K5_KUBE_MAX_YAML_DEPTH allows");
        if (++c->nodes > K5_KUBE_MAX_YAML_NODES)
            return yerr(err, name, line, col, K5_ELIMIT,
                        "more YAML nodes than K5_KUBE_MAX_YAML_NODES allows");
        item = ev->type == YAML_SEQUENCE_START_EVENT ? cJSON_CreateArray() : cJSON_CreateObject();
        if (!item)
            return yerr(err, name, line, col, K5_ENOMEM, "out of memory");
        c->stack[c->depth] = item;
        c->keys[c->depth] = NULL;
        c->depth++;
        return K5_OK;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        item = c->stack[--c->depth];
        free(c->keys[c->depth]);
        c->keys[c->depth] = NULL;
        return attach(c, item) ? K5_OK : yerr(err, name, line, col, K5_ENOMEM, "out of memory");
    default:
        return K5_OK;
    }
}

cJSON *k5__kube_yaml_parse(const char *name, const char *buf, size_t len, k5_status *st,
                           k5_error *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        *st = yerr(err, name, 0, 0, K5_ENOMEM, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    yconv c = {0};
    int docs = 0;
    *st = K5_OK;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            char msg[256];
            snprintf(msg, sizeof msg, "invalid YAML: %s", p.problem ? p.problem : "syntax error");
            *st = yerr(err, name, p.problem_mark.line + 1, p.problem_mark.column + 1, K5_EPARSE,
                       msg);
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            *st = yerr(err, name, ev.start_mark.line + 1, ev.start_mark.column + 1, K5_EPARSE,
                       "a kubeconfig is one YAML document, this file has several");
        else
            *st = yevent(&c, &ev, name, err);
        yaml_event_delete(&ev);
        if (end || *st != K5_OK)
            break;
    }
    yaml_parser_delete(&p);
    if (*st != K5_OK) {
        yconv_free(&c);
        return NULL;
    }
    if (!c.root)
        c.root = cJSON_CreateObject(); /* an empty file is an empty config */
    if (!c.root)
        *st = yerr(err, name, 0, 0, K5_ENOMEM, "out of memory");
    return c.root;
}

void k5__kube_group_version(const k5_kube_kind *kind, char *buf, size_t size)
{
    if (kind->group[0])
        snprintf(buf, size, "%s/%s", kind->group, kind->version);
    else
        snprintf(buf, size, "%s", kind->version);
}

void k5__kube_versions(const k5_kube_kind *kind, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const k5_kube_kind *k = kind; k && n < size; k = k->fallback) {
        char gv[128];
        k5__kube_group_version(k, gv, sizeof gv);
        int w = snprintf(buf + n, size - n, "%s%s", k == kind ? "" : ", ", gv);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

void k5__kube_trim(cJSON *obj, const k5_kube_kind *kind)
{
    if (!cJSON_IsObject(obj))
        return;
    if (kind) {
        char gv[128];
        k5__kube_group_version(kind, gv, sizeof gv);
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
        if (!cJSON_IsString(av) || !av->valuestring[0]) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
            cJSON_AddStringToObject(obj, "apiVersion", gv);
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
        if (!cJSON_IsString(k) || !k->valuestring[0]) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
            cJSON_AddStringToObject(obj, "kind", kind->kind);
        }
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (cJSON_IsObject(meta))
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
}
