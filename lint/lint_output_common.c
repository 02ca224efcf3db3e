/*
 * kube5xx CLI: what the output formats share. The engine's strings come from
 * the user's input and are only as valid as it is (a JSON manifest may carry
 * any byte), so every format repairs UTF-8 through fe_utf8_next (the layer
 * the webhook shares, frontend/fe.h) and then applies its own escaping on top.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
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

void lint_jw_raw(lint_jw *w, const char *s, size_t n)
{
    if (!jw_reserve(w, n))
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

void lint_jw_lit(lint_jw *w, const char *s)
{
    lint_jw_raw(w, s, strlen(s));
}

void lint_jw_str(lint_jw *w, const char *s, size_t n)
{
    if (!s)
        n = 0;
    /* What lint_json_strn gives cJSON: UTF-8 repaired, NUL as U+FFFD (fe_utf8_clean). Valid
     * text without NUL is its own repair, so only other text pays for the copy. */
    char *clean = NULL;
    if (n && (memchr(s, '\0', n) || !fe_utf8_valid(s, n))) {
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
    if (isnan(d) || isinf(d))
        n = snprintf(buf, sizeof buf, "null");
    else if (d == (double)vi)
        n = snprintf(buf, sizeof buf, "%d", vi);
    else {
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

/*
 * Items are rendered in chunks of RENDER_CHUNK, each into its own buffer, by up to `jobs`
 * threads (the writer among them); the writer writes the chunks in order, so the output is
 * the one-thread output byte for byte. A thread may render at most RENDER_AHEAD chunks past
 * the last one written, so memory stays that of a few chunks, whatever the number of items.
 */
#define RENDER_CHUNK 128u
#define RENDER_AHEAD 16u

typedef struct render_chunk {
    lint_jw w; /* the chunk's items, each followed by sep */
    bool done;
} render_chunk;

typedef struct render_crew {
    lint_json_item_fn item;
    void *ud;
    size_t n, nchunks;
    const char *sep;
    size_t seplen;
    render_chunk ring[RENDER_AHEAD];
    size_t next;    /* the next chunk to render */
    size_t written; /* chunks written so far */
    bool stop;      /* the writer gave up (a write or memory failed) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} render_crew;

/* Renders chunk k (items [k * RENDER_CHUNK, ...)) into c, each item followed by the separator. */
static void render_one(const render_crew *w, size_t k, render_chunk *c)
{
    size_t from = k * RENDER_CHUNK, to = from + RENDER_CHUNK < w->n ? from + RENDER_CHUNK : w->n;
    for (size_t i = from; i < to && !c->w.oom; i++)
        if (w->item(&c->w, w->ud, i))
            lint_jw_raw(&c->w, w->sep, w->seplen);
}

/* Takes the next chunk when it is within RENDER_AHEAD of the writer; called under mu. */
static bool claim(render_crew *w, size_t *k)
{
    if (w->stop || w->next >= w->nchunks || w->next >= w->written + RENDER_AHEAD)
        return false;
    *k = w->next++;
    return true;
}

static void render_claimed(render_crew *w, size_t k)
{
    render_chunk c = {0};
    pthread_mutex_unlock(&w->mu);
    render_one(w, k, &c);
    pthread_mutex_lock(&w->mu);
    c.done = true;
    w->ring[k % RENDER_AHEAD] = c;
    pthread_cond_broadcast(&w->cv);
}

static void *render_main(void *arg)
{
    render_crew *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        size_t k;
        if (claim(w, &k))
            render_claimed(w, k);
        else if (w->stop || w->next >= w->nchunks)
            break;
        else
            pthread_cond_wait(&w->cv, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/*
 * Writes the n items in order, each separated from the one before by sep. Returns false on
 * a write error or when out of memory (*oom set).
 */
static bool render_items(FILE *fp, lint_json_item_fn item, void *ud, size_t n, const char *sep,
                         unsigned jobs, bool *oom)
{
    render_crew w = {.item = item,
                     .ud = ud,
                     .n = n,
                     .nchunks = (n + RENDER_CHUNK - 1) / RENDER_CHUNK,
                     .sep = sep,
                     .seplen = strlen(sep),
                     .mu = PTHREAD_MUTEX_INITIALIZER,
                     .cv = PTHREAD_COND_INITIALIZER};
    pthread_t th[RENDER_AHEAD];
    unsigned started = 0;
    if (jobs > RENDER_AHEAD)
        jobs = RENDER_AHEAD;
    if (jobs > w.nchunks)
        jobs = (unsigned)w.nchunks;
    for (unsigned t = 1; t < jobs; t++)
        if (pthread_create(&th[started], NULL, render_main, &w) == 0)
            started++;
    bool first = true;
    pthread_mutex_lock(&w.mu);
    while (w.written < w.nchunks && !w.stop) {
        render_chunk *c = &w.ring[w.written % RENDER_AHEAD];
        size_t k;
        if (!c->done) {
            /* Not rendered yet: help, or wait for the thread rendering it. */
            if (claim(&w, &k))
                render_claimed(&w, k);
            else
                pthread_cond_wait(&w.cv, &w.mu);
            continue;
        }
        render_chunk mine = *c;
        *c = (render_chunk){0};
        w.written++;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.mu);
        /* Each item ends with sep: the last one of the whole list is written without it, and
         * sep goes before the first item of the next non-empty chunk instead. */
        if (mine.w.oom) {
            *oom = true;
        } else if (mine.w.len) {
            if (!first)
                fwrite(sep, 1, w.seplen, fp);
            fwrite(mine.w.p, 1, mine.w.len - w.seplen, fp);
            first = false;
        }
        free(mine.w.p);
        pthread_mutex_lock(&w.mu);
        if (*oom || ferror(fp)) {
            w.stop = true;
            pthread_cond_broadcast(&w.cv);
        }
    }
    pthread_mutex_unlock(&w.mu);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < RENDER_AHEAD; i++)
        free(w.ring[i].w.p);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return !*oom && !ferror(fp);
}

int lint_json_emit_items(FILE *fp, cJSON *root, cJSON *slot, bool pretty, bool oom,
                         lint_json_item_fn item, void *ud, size_t n, unsigned jobs)
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
    /* Chunks of items, written and freed one by one, so memory does not grow with the
     * number of findings. */
    if (!ferror(fp))
        render_items(fp, item, ud, n, pretty ? ",\n" : ",", jobs ? jobs : 1, &oom);
    fputs(at + strlen(SPLICE_TEXT), fp);
    fputc('\n', fp);
    cJSON_free(text);
    if (oom) {
        errno = ENOMEM;
        return -1;
    }
    return lint_output_finish(fp);
}
