/*
 * The document set: files, line tables, positions, and the object model
 * built from loaded documents.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "k5_internal.h"

k5_status k5_docset_new(k5_docset **out, const char *default_namespace)
{
    k5_docset *s = calloc(1, sizeof *s);
    if (!s)
        return K5_ENOMEM;
    s->files.elem = sizeof(k5__file);
    s->objects.elem = sizeof(k5_object *);
    s->notices.elem = sizeof(k5_notice);
    s->kustomizations.elem = sizeof(k5__kustomization);
    s->identities.arena = &s->ident_arena;
    const char *ns = default_namespace && *default_namespace ? default_namespace : "default";
    s->default_ns = k5__arena_strndup(&s->arena, ns, strlen(ns));
    s->default_ns_chosen = default_namespace && *default_namespace;
    if (!s->default_ns) {
        free(s);
        return K5_ENOMEM;
    }
    *out = s;
    return K5_OK;
}

void k5_docset_free(k5_docset **set)
{
    if (!set || !*set)
        return;
    k5_docset *s = *set;
    for (size_t i = 0; i < s->files.len; i++) {
        k5__file *f = &K5__VEC_AT(&s->files, k5__file, i);
        free(f->buf);
        free(f->lines);
        free(f->chars);
    }
    k5__vec_free(&s->files);
    k5__vec_free(&s->objects);
    k5__vec_free(&s->notices);
    k5__vec_free(&s->kustomizations);
    k5__hmap_free(&s->identities);
    k5__arena_free(&s->ident_arena);
    k5__arena_free(&s->arena);
    free(s);
    *set = NULL;
}

/* Appends a line start, growing the table. */
static bool push_line(uint32_t **lines, size_t *n, size_t *cap, size_t off)
{
    if (*n == *cap) {
        uint32_t *nl = realloc(*lines, *cap * 2 * sizeof *nl);
        if (!nl)
            return false;
        *lines = nl;
        *cap *= 2;
    }
    (*lines)[(*n)++] = (uint32_t)off;
    return true;
}

/* Line starts: '\n', and a '\r' not followed by '\n', end a line (as libyaml counts them). */
static k5_status build_lines(k5__file *f)
{
    size_t cap = 64, n = 0;
    uint32_t *lines = malloc(cap * sizeof *lines);
    if (!lines)
        return K5_ENOMEM;
    lines[n++] = 0;
    const unsigned char *b = (const unsigned char *)f->buf;
    /* Most manifests are ASCII with '\n' endings: check that a word at a time and find line
     * ends with memchr; input with '\r' takes the byte-by-byte path. */
    bool ascii = true, cr = f->len && memchr(b, '\r', f->len) != NULL, ok = true;
    size_t i = 0;
    for (; i + 8 <= f->len; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w & 0x8080808080808080ULL) {
            ascii = false;
            break;
        }
    }
    for (; ascii && i < f->len; i++)
        if (b[i] >= 0x80)
            ascii = false;
    for (size_t pos = 0; ok && !cr && pos < f->len;) {
        const unsigned char *nl = memchr(b + pos, '\n', f->len - pos);
        if (!nl)
            break;
        pos = (size_t)(nl - b) + 1;
        ok = push_line(&lines, &n, &cap, pos);
    }
    for (size_t j = 0; ok && cr && j < f->len; j++) {
        unsigned char c = b[j];
        if (c == '\n' || (c == '\r' && (j + 1 >= f->len || b[j + 1] != '\n')))
            ok = push_line(&lines, &n, &cap, j + 1);
    }
    uint32_t *chars = NULL;
    if (ok && !ascii) {
        size_t nblocks = f->len / K5__CHAR_STRIDE + 1;
        chars = malloc(nblocks * sizeof *chars);
        ok = chars != NULL;
        uint32_t count = 0;
        for (size_t blk = 0; ok && blk < nblocks; blk++) {
            chars[blk] = count;
            size_t end = (blk + 1) * K5__CHAR_STRIDE < f->len ? (blk + 1) * K5__CHAR_STRIDE : f->len;
            for (size_t j = blk * K5__CHAR_STRIDE; j < end; j++)
                count += (b[j] & 0xC0) != 0x80;
        }
    }
    if (!ok) {
        free(lines);
        free(chars);
        return K5_ENOMEM;
    }
    f->chars = chars;
    f->lines = lines;
    f->nlines = n;
    f->ascii = ascii;
    return K5_OK;
}

/* Characters (UTF-8 lead bytes, and stray bytes) before byte offset off: O(stride). */
static uint32_t chars_before(const k5__file *f, size_t off)
{
    size_t blk = off / K5__CHAR_STRIDE;
    uint32_t n = f->chars[blk];
    const unsigned char *b = (const unsigned char *)f->buf;
    for (size_t j = blk * K5__CHAR_STRIDE; j < off; j++)
        n += (b[j] & 0xC0) != 0x80;
    return n;
}

k5_position k5__file_position(const k5__file *f, const k5_node *n)
{
    k5_position p = {0, 0};
    if (!n || !n->pos || !f->lines)
        return p;
    size_t off = n->pos - 1;
    /* The line holding off: lines[lo] <= off < lines[hi] (hi = nlines: past the end). A
     * binary search over a big file's million lines missed the cache on most of its ~20
     * steps, once per finding; lines are about evenly long, so the search starts where off
     * would be if they were and widens from there, doubling its step, to a short range. */
    size_t lo = 0, hi = f->nlines;
    if (f->nlines > 64 && f->len) {
        size_t g = (size_t)((double)off / (double)f->len * (double)f->nlines);
        if (g >= f->nlines)
            g = f->nlines - 1;
        size_t step = 1;
        if (f->lines[g] <= off) {
            lo = g;
            while (lo + step < f->nlines && f->lines[lo + step] <= off) {
                lo += step;
                step *= 2;
            }
            if (lo + step < f->nlines)
                hi = lo + step;
        } else {
            hi = g;
            while (hi >= step && f->lines[hi - step] > off) {
                hi -= step;
                step *= 2;
            }
            lo = hi >= step ? hi - step : 0;
        }
    }
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (f->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    p.line = (uint32_t)lo + 1;
    size_t start = f->lines[lo];
    if (off > f->len)
        off = f->len;
    if (f->ascii || !f->chars) {
        p.column = (uint32_t)(off - start) + 1;
        return p;
    }
    if (lo == 0 && f->len >= 3 && memcmp(f->buf, "\xEF\xBB\xBF", 3) == 0)
        start = 3;
    if (off < start)
        off = start;
    p.column = chars_before(f, off) - chars_before(f, start) + 1;
    return p;
}

k5_position k5_docset_position(const k5_docset *set, size_t file, const k5_node *n)
{
    k5_position p = {0, 0};
    if (file >= set->files.len)
        return p;
    return k5__file_position(&K5__VEC_AT(&set->files, k5__file, file), n);
}

k5_status k5__notice(k5_docset *set, size_t file, uint32_t pos, const char *fmt, ...)
{
    char msg[1024]; /* room for two file names (a duplicate's notice) */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k5__file *f = &K5__VEC_AT(&set->files, k5__file, file);
    k5_node at = {{NULL}, pos, 0};
    k5_position p = k5__file_position(f, &at);
    k5_notice nt = {f->name, p.line, p.column, k5__arena_strndup(&set->arena, msg, strlen(msg))};
    if (!nt.message || !k5__vec_push(&set->notices, &nt))
        return K5_ENOMEM;
    return K5_OK;
}

/* Helm writes "# Source: chart/templates/x.yaml" before each document it renders. */
static k5_str helm_source(const k5__file *f, uint32_t start, uint32_t end)
{
    k5_str none = {NULL, 0};
    static const char tag[] = "# Source: ";
    const size_t tl = sizeof tag - 1;
    if (!f->buf || end > f->len || start >= end)
        return none;
    k5_str found = none;
    const char *p = f->buf + start, *e = f->buf + end;
    while (p < e) {
        const char *hit = memmem(p, (size_t)(e - p), tag, tl);
        if (!hit)
            break;
        const char *v = hit + tl, *nl = v;
        while (nl < e && *nl != '\n' && *nl != '\r')
            nl++;
        found.p = v;
        found.n = (size_t)(nl - v);
        while (found.n && (found.p[found.n - 1] == ' ' || found.p[found.n - 1] == '\t'))
            found.n--;
        p = nl;
    }
    return found;
}

static const k5_node *map_at(const k5_node *n, const char *path)
{
    const k5_node *v = k5_node_at(n, path);
    return k5_node_is_map(v) ? v : NULL;
}

/* map_at of one key: the key a literal, looked up inline (k5_map_get). */
static inline const k5_node *map_in(const k5_node *n, const char *key)
{
    const k5_node *v = k5_map_get(n, key);
    return k5_node_is_map(v) ? v : NULL;
}

/* An object's fields from its root: everything but its index in the set. Reads only the
 * root and what the set was made with, so parsing threads call it too (prebuild). */
static void fill_object(const k5_docset *set, k5_object *o, size_t file, const k5_node *root,
                        k5_str source)
{
    memset(o, 0, sizeof *o);
    o->root = root;
    o->api_version = k5_node_str(k5_map_get(root, "apiVersion"));
    o->kind = k5_node_str(k5_map_get(root, "kind"));
    o->kind_id = k5_kind_from(o->api_version, o->kind);
    o->metadata = map_in(root, "metadata");
    o->labels = map_in(o->metadata, "labels");
    o->annotations = map_in(o->metadata, "annotations");
    const k5_node *name = k5_map_get(o->metadata, "name");
    o->named = k5_node_str(name).n && k5_node_kind(name) != K5_NODE_NULL;
    if (!k5_node_is_scalar(name) || k5_node_kind(name) == K5_NODE_NULL)
        name = k5_map_get(o->metadata, "generateName");
    o->name = k5_node_str(name);
    if (!o->name.p)
        o->name.p = "";
    const k5_node *ns = k5_map_get(o->metadata, "namespace");
    o->namespace_ = k5_node_str(ns);
    if (!o->namespace_.n || k5_node_kind(ns) == K5_NODE_NULL) {
        o->namespace_.p = set->default_ns;
        o->namespace_.n = strlen(set->default_ns);
        o->namespace_implicit = !set->default_ns_chosen;
    }
    if (o->kind_id & K5_KINDS_WORKLOAD) {
        const k5_node *tmpl = NULL;
        if (o->kind_id == K5_KIND_POD)
            tmpl = root;
        else if (o->kind_id == K5_KIND_CRONJOB)
            tmpl = map_at(root, "spec.jobTemplate.spec.template");
        else
            tmpl = map_in(k5_map_get(root, "spec"), "template");
        if (tmpl) {
            o->pod_metadata = map_in(tmpl, "metadata");
            o->pod_labels = map_in(o->pod_metadata, "labels");
            o->pod_annotations = map_in(o->pod_metadata, "annotations");
            o->pod_spec = map_in(tmpl, "spec");
        }
    }
    o->file = file;
    o->source = source;
}

/* Appends an object filled by fill_object: its index is its place in the set. */
static k5_status push_object(k5_docset *set, k5_object *o)
{
    o->index = set->objects.len;
    if (!k5__vec_push(&set->objects, &o))
        return K5_ENOMEM;
    return K5_OK;
}

static k5_status add_object(k5_docset *set, size_t file, const k5_node *root, k5_str source)
{
    k5_object *o = k5__arena_alloc(&set->arena, sizeof *o);
    if (!o)
        return K5_ENOMEM;
    fill_object(set, o, file, root, source);
    return push_object(set, o);
}

static bool has_type_fields(const k5_node *root)
{
    return k5_node_kind(k5_map_get(root, "apiVersion")) == K5_NODE_STR &&
           k5_node_kind(k5_map_get(root, "kind")) == K5_NODE_STR &&
           k5_node_len(k5_map_get(root, "kind")) > 0;
}


/* ---- kustomization.yaml: its namespace, for the files it lists ---- */

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static bool is_kustomization_file(const char *path)
{
    const char *b = base_name(path);
    return strcmp(b, "kustomization.yaml") == 0 || strcmp(b, "kustomization.yml") == 0 ||
           strcmp(b, "Kustomization") == 0;
}

/*
 * Writes dir (dlen bytes, may be 0) joined with rel, with "." and "x/.." segments removed,
 * into out. An absolute rel ignores dir. False when it does not fit.
 */
static bool norm_path(const char *dir, size_t dlen, const char *rel, size_t rlen, char *out,
                      size_t size)
{
    char tmp[2048];
    size_t n = 0;
    if (rlen && rel[0] == '/')
        dlen = 0;
    if (dlen + 1 + rlen + 1 > sizeof tmp)
        return false;
    memcpy(tmp, dir, dlen);
    n = dlen;
    if (dlen)
        tmp[n++] = '/';
    memcpy(tmp + n, rel, rlen);
    n += rlen;
    tmp[n] = '\0';
    size_t o = 0;
    bool abs = tmp[0] == '/';
    if (abs) {
        if (size < 2)
            return false;
        out[o++] = '/';
    }
    size_t root = o; /* ".." never climbs above this */
    size_t i = 0;
    while (i < n) {
        while (i < n && tmp[i] == '/')
            i++;
        size_t b = i;
        while (i < n && tmp[i] != '/')
            i++;
        size_t len = i - b;
        if (!len || (len == 1 && tmp[b] == '.'))
            continue;
        if (len == 2 && tmp[b] == '.' && tmp[b + 1] == '.' && o > root) {
            while (o > root && out[o - 1] != '/')
                o--;
            if (o > root)
                o--;
            /* a leading ".." that cannot be removed stays */
            continue;
        }
        if (o + (o > root) + len + 1 > size)
            return false;
        if (o > root)
            out[o++] = '/';
        memcpy(out + o, tmp + b, len);
        o += len;
    }
    out[o] = '\0';
    return true;
}

/* True when the file `path` is `res` (a normalized resources entry) or lies under it. */
static bool listed(const char *path, const char *res)
{
    size_t n = strlen(res);
    return strncmp(path, res, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Gives obj the namespace of the outermost kustomization listing its file, if it names none. */
static void kustomize_object(k5_docset *set, k5_object *o)
{
    const k5_node *ns = k5_map_get(o->metadata, "namespace");
    if (k5_node_str(ns).n && k5_node_kind(ns) != K5_NODE_NULL)
        return;
    const char *fname = K5__VEC_AT(&set->files, k5__file, o->file).name;
    char path[2048], res[2048];
    if (!norm_path("", 0, fname, strlen(fname), path, sizeof path))
        return;
    const k5__kustomization *best = NULL;
    for (size_t k = 0; k < set->kustomizations.len; k++) {
        const k5__kustomization *kz = &K5__VEC_AT(&set->kustomizations, k5__kustomization, k);
        if (best && kz->dirlen >= best->dirlen)
            continue;
        const char *kname = K5__VEC_AT(&set->files, k5__file, kz->file).name;
        for (size_t i = 0; i < k5_node_len(kz->resources); i++) {
            k5_str r = k5_node_str(k5_seq_at(kz->resources, i));
            if (!r.n || !norm_path(kname, kz->dirlen, r.p, r.n, res, sizeof res))
                continue;
            if (listed(path, res)) {
                best = kz;
                break;
            }
        }
    }
    if (best) {
        o->namespace_ = best->ns;
        o->namespace_implicit = false;
    }
}

static k5_status add_kustomization(k5_docset *set, size_t file, const k5_node *root)
{
    const k5_node *ns = k5_map_get(root, "namespace");
    const k5_node *res = k5_map_get(root, "resources");
    k5_str nss = k5_node_str(ns);
    if (k5_node_kind(ns) != K5_NODE_STR || !nss.n || !k5_node_is_seq(res))
        return K5_OK; /* nothing we apply: no namespace, or no resources */
    const char *name = K5__VEC_AT(&set->files, k5__file, file).name;
    const char *b = base_name(name);
    k5__kustomization kz = {file, nss, res, b > name ? (size_t)(b - name - 1) : 0};
    if (!k5__vec_push(&set->kustomizations, &kz))
        return K5_ENOMEM;
    return k5__notice(set, file, ns->pos,
                      "namespace \"%.*s\" of this kustomization applied to the objects of the "
                      "files its resources list that name none; patches, overlays and "
                      "generators are not evaluated: for exact results, "
                      "`kubectl kustomize %.*s | kube5xx lint -`",
                      (int)nss.n, nss.p, kz.dirlen ? (int)kz.dirlen : 1,
                      kz.dirlen ? name : ".");
}

/* ---- duplicates: one Kind/namespace/name in several places ---- */

/* The key an object's identity is tracked under; false when it is not tracked. */
static bool identity_key(const k5_object *o, k5__key *k)
{
    if (!o->named)
        return false; /* generateName: a new object each time */
    if (o->kind_id == K5_KIND_OTHER)
        return false; /* no rule judges it: a duplicate ConfigMap changes no finding */
    k->n = 0;
    k5__key_add(k, o->kind.p, o->kind.n);
    k5__key_add(k, o->namespace_.p, o->namespace_.n);
    k5__key_add(k, o->name.p, o->name.n);
    return k->n < sizeof k->buf; /* longer is too long to be a Kubernetes name */
}

void k5_docset_loaded(k5_docset *set)
{
    if (!set || set->identities_dropped)
        return;
    k5__hmap_free(&set->identities);
    k5__arena_free(&set->ident_arena);
    set->identities_dropped = true;
}

static k5_status note_duplicate(k5_docset *set, const k5_object *o)
{
    k5__key k;
    if (set->identities_dropped) {
        /* Loading after k5_docset_loaded: the objects before this one, tracked again. */
        set->identities_dropped = false;
        for (size_t i = 0; i < o->index; i++) {
            const k5_object *p = K5__VEC_AT(&set->objects, k5_object *, i);
            if (identity_key(p, &k) &&
                k5__hmap_add(&set->identities, k.buf, k.n, (uint32_t)i) != K5_OK)
                return K5_ENOMEM;
        }
    }
    if (!identity_key(o, &k))
        return K5_OK;
    const k5__hentry *e;
    k5_status st = k5__hmap_find_or_add(&set->identities, k.buf, k.n, (uint32_t)o->index, &e);
    if (st != K5_OK || !e)
        return st; /* a new identity, added */
    if (e->nvals && e->vals[0] < set->objects.len) {
        const k5_object *first = K5__VEC_AT(&set->objects, k5_object *, e->vals[0]);
        const k5__file *ff = &K5__VEC_AT(&set->files, k5__file, first->file);
        k5_position p = k5__file_position(ff, first->root);
        return k5__notice(set, o->file, o->root->pos,
                          "duplicate object: %.*s \"%.*s/%.*s\" is also defined at %s:%u:%u; "
                          "both are judged, and cross-object rules prefer partners from the "
                          "same file",
                          (int)o->kind.n, o->kind.p, (int)o->namespace_.n, o->namespace_.p,
                          (int)o->name.n, o->name.p, ff->name, p.line, p.column);
    }
    return k5__hmap_add(&set->identities, k.buf, k.n, (uint32_t)o->index);
}

/* After a file loaded: kustomization namespaces, then duplicates, for its objects. */
static k5_status after_load(k5_docset *set, size_t file, size_t first_obj, size_t nkust)
{
    /* A kustomization read now applies to the objects read before it too. */
    if (set->kustomizations.len > nkust)
        for (size_t i = 0; i < first_obj; i++)
            kustomize_object(set, K5__VEC_AT(&set->objects, k5_object *, i));
    (void)file;
    k5_status st = K5_OK;
    if (!set->identities_dropped) {
        /* The file's identities in one step (a 63 MiB List is 110,000 of them). */
        size_t more = 0;
        for (size_t i = first_obj; i < set->objects.len; i++) {
            const k5_object *o = K5__VEC_AT(&set->objects, k5_object *, i);
            more += o->named && o->kind_id != K5_KIND_OTHER;
        }
        st = k5__hmap_reserve(&set->identities, set->identities.len + more);
    }
    for (size_t i = first_obj; i < set->objects.len && st == K5_OK; i++) {
        k5_object *o = K5__VEC_AT(&set->objects, k5_object *, i);
        /* The identity slot of an object a few ahead, fetched while this one is checked (a
         * cache miss per object in a map of many MiB); a kustomization may still change its
         * namespace, and then the hint is only wasted. */
        k5__key ahead;
        if (i + 8 < set->objects.len && !set->identities_dropped &&
            identity_key(K5__VEC_AT(&set->objects, k5_object *, i + 8), &ahead))
            k5__hmap_prefetch(&set->identities, ahead.buf, ahead.n);
        if (set->kustomizations.len)
            kustomize_object(set, o);
        st = note_duplicate(set, o);
    }
    return st;
}

/*
 * The object a document is, filled on the thread that parsed it (the merge, on one thread,
 * then only appends it): NULL for every document add_doc must judge itself (empty, not an
 * object, a List, a kustomization) and for one whose Helm source span the merge may still
 * change (`fixed_start` false). Allocated in the unit's arena, which the set adopts.
 */
static k5_object *prebuild(const k5_docset *set, k5__arena *a, size_t file, const k5__file *f,
                           const k5__doc *d, bool fixed_start)
{
    const k5_node *root = d->root;
    if (!fixed_start || !k5_node_is_map(root) || is_kustomization_file(f->name) ||
        !has_type_fields(root))
        return NULL;
    k5_str kind = k5_node_str(k5_map_get(root, "kind"));
    if (kind.n >= 4 && memcmp(kind.p + kind.n - 4, "List", 4) == 0 &&
        k5_node_is_seq(k5_map_get(root, "items")))
        return NULL;
    k5_object *o = k5__arena_alloc(a, sizeof *o);
    if (o)
        fill_object(set, o, file, root, helm_source(f, d->start, d->end));
    return o;
}

static k5_status add_doc(k5_docset *set, size_t file, const k5__doc *d, k5_object *pre)
{
    if (pre)
        return push_object(set, pre); /* what the code below makes of it, made already */
    const k5_node *root = d->root;
    const k5__file *f = &K5__VEC_AT(&set->files, k5__file, file);
    if (k5_node_kind(root) == K5_NODE_NULL)
        return K5_OK; /* empty document: skipped silently */
    if (is_kustomization_file(f->name) && k5_node_is_map(root))
        return add_kustomization(set, file, root);
    if (!k5_node_is_map(root) || !has_type_fields(root))
        return k5__notice(set, file, root->pos,
                          "skipped a document without apiVersion and kind (not a Kubernetes object)");
    k5_str source = helm_source(f, d->start, d->end);
    k5_str kind = k5_node_str(k5_map_get(root, "kind"));
    const k5_node *items = k5_map_get(root, "items");
    if (kind.n >= 4 && memcmp(kind.p + kind.n - 4, "List", 4) == 0 && k5_node_is_seq(items)) {
        /* v1 List, ConfigMapList, ...: every item is an object of its own. */
        for (size_t i = 0; i < k5_node_len(items); i++) {
            const k5_node *it = k5_seq_at(items, i);
            k5_status st;
            if (!k5_node_is_map(it) || !has_type_fields(it))
                st = k5__notice(set, file, it->pos,
                                "skipped a %.*s item without apiVersion and kind", (int)kind.n,
                                kind.p);
            else
                st = add_object(set, file, it, source);
            if (st != K5_OK)
                return st;
        }
        return K5_OK;
    }
    return add_object(set, file, root, source);
}

static bool looks_like_json(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        return c == '{' || c == '[';
    }
    return false;
}

/* ---- loading: files and parts of files parsed on several threads, merged in order ---- */

/*
 * A YAML stream of at least K5__SPLIT_MIN bytes is cut into parts of about K5__SPLIT_PART
 * bytes at column-0 `---` lines when more than one thread loads. A `---` (or `...`) at the
 * start of a line, followed by a blank or the line's end, always ends a document (YAML 1.2
 * c-forbidden; libyaml scans it as a document marker wherever it is not inside a scalar, and
 * a block scalar's content is indented by at least one space), so each part parses as the
 * whole file would. Parts start only at `---` lines, never after `...`: after an explicit end
 * libyaml wants `---` before the next document, which a part starting there would not check.
 * A stream with a directive (`%YAML`, `%TAG`, a line starting with `%`) is not split: its
 * directives belong to the document after them. Whatever a part cannot judge alone (a parse
 * error, the per-file document and alias limits) makes the file load again whole, so errors
 * and their positions are those of a one-thread run.
 */
#define K5__SPLIT_MIN (2u * 1024u * 1024u)
#define K5__SPLIT_PART (1024u * 1024u)
/* Variables only so that the differential fuzzer (fuzz_loader) can split tiny inputs. */
size_t k5__split_min = K5__SPLIT_MIN;
size_t k5__split_part = K5__SPLIT_PART;
bool k5__json_reference = false;

typedef struct unit {
    size_t item;
    bool json; /* the JSON loader (then YAML on a parse error, for K5_FORMAT_AUTO) */
    bool json_tree; /* the documents are the JSON loader's (k5__file.tree_unique) */
    k5__yaml_part part;
    k5__arena arena;
    k5__vec docs; /* k5__doc */
    k5__vec pre;  /* k5_object *: per document, its object prebuilt (prebuild) or NULL */
    k5_status st;
    k5_error err;
} unit;

typedef struct loading {
    k5_docset *set;
    k5_load_item *items;
    size_t nitems;
    size_t *fidx;    /* items[i]'s file index in the set */
    bool *parse;     /* items[i] gets parsed (it passed the size check) */
    k5__vec *splits; /* per item: size_t offsets where its parts start (beyond 0) */
    bool split;      /* more than one thread: split large streams */
    unit *units;
    size_t *order; /* units in the order the threads take them (plan_units) */
    size_t nunits;
    /* Parsing and merging overlap: threads take units in `order`, and the caller merges each
     * item, in input order, as soon as all of its units are parsed. */
    _Atomic size_t next;  /* the next entry of order to take */
    _Atomic size_t *left; /* per item: units not parsed yet */
    pthread_mutex_t mu;   /* with cv: an item's last unit is parsed */
    pthread_cond_t cv;
} loading;

static bool item_is_json(const k5_load_item *it, const k5__file *f)
{
    return it->format == K5_FORMAT_JSON ||
           (it->format == K5_FORMAT_AUTO && looks_like_json(f->buf, f->len));
}

/* Where a stream can be cut: starts of column-0 `---` lines, about every K5__SPLIT_PART bytes. */
static k5_status find_splits(const k5__file *f, k5__vec *out)
{
    const char *b = f->buf, *end = b + f->len;
    if (f->len && b[0] == '%')
        return K5_OK;
    size_t last = 0;
    bool directive = false;
    k5__vec cuts = K5__VEC_INIT(size_t);
    for (const char *p = b; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl + 1 >= end)
            break;
        p = nl + 1;
        if (*p == '%') {
            directive = true;
            break;
        }
        if (*p != '-' || end - p < 3 || p[1] != '-' || p[2] != '-')
            continue;
        if (end - p > 3 && p[3] != ' ' && p[3] != '\t' && p[3] != '\r' && p[3] != '\n')
            continue;
        size_t off = (size_t)(p - b);
        if (off - last >= k5__split_part && f->len - off >= k5__split_part / 2) {
            if (!k5__vec_push(&cuts, &off)) {
                k5__vec_free(&cuts);
                return K5_ENOMEM;
            }
            last = off;
        }
    }
    if (directive)
        k5__vec_free(&cuts);
    *out = cuts;
    return K5_OK;
}

/* Runs fn(ld, i) for i in [0, n) on up to `jobs` threads (the caller's among them). */
typedef void (*work_fn)(loading *ld, size_t i);
typedef struct crew {
    loading *ld;
    work_fn fn;
    size_t n;
    _Atomic size_t next;
} crew;

static void *crew_main(void *arg)
{
    crew *c = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n)
            break;
        c->fn(c->ld, i);
    }
    return NULL;
}

static void run_crew(loading *ld, work_fn fn, size_t n, unsigned jobs)
{
    crew c = {ld, fn, n, 0};
    pthread_t th[K5_MAX_JOBS];
    unsigned started = 0;
    if (jobs > K5_MAX_JOBS)
        jobs = K5_MAX_JOBS;
    if (jobs > n)
        jobs = (unsigned)n;
    /* A thread that cannot start leaves its share to the others: same result, slower. */
    for (unsigned t = 1; t < jobs; t++)
        if (pthread_create(&th[started], NULL, crew_main, &c) == 0)
            started++;
    crew_main(&c);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
}

/* Per file: the line table, and where a large stream may be cut. */
static void prepare_file(loading *ld, size_t i)
{
    if (!ld->parse[i])
        return;
    k5__file *f = &K5__VEC_AT(&ld->set->files, k5__file, ld->fidx[i]);
    k5_status st = build_lines(f);
    if (st == K5_OK && ld->split && f->len >= k5__split_min && !item_is_json(&ld->items[i], f))
        st = find_splits(f, &ld->splits[i]);
    if (st != K5_OK) {
        ld->items[i].status = st;
        ld->parse[i] = false;
    }
}

static void parse_unit(loading *ld, size_t k)
{
    unit *u = &ld->units[ld->order[k]];
    const k5_load_item *it = &ld->items[u->item];
    const k5__file *f = &K5__VEC_AT(&ld->set->files, k5__file, ld->fidx[u->item]);
    if (u->json) {
        u->st = k5__json_reference ? k5__load_json_cjson(&u->arena, f, &u->docs, &u->err)
                                   : k5__load_json(&u->arena, f, &u->docs, &u->err);
        u->json_tree = u->st == K5_OK;
        if (u->st == K5_EPARSE && it->format == K5_FORMAT_AUTO) {
            /* JSON is tried first; YAML (a superset for our purposes) gets the last word. */
            k5__arena_free(&u->arena);
            u->docs.len = 0;
            u->err.msg[0] = '\0';
            u->part.start = 0;
            u->part.end = f->len;
            u->st = k5__load_yaml(&u->arena, f, &u->part, &u->docs, &u->err);
        }
    } else {
        u->st = k5__load_yaml(&u->arena, f, &u->part, &u->docs, &u->err);
    }
    /* The documents' objects, here on the parsing thread rather than in the merge, which
     * runs on one thread (the last file's after every other thread is done). The first
     * document of a part after the first may get its source span from the part before. */
    if (u->st != K5_OK)
        return;
    bool first_fixed = u->part.start == 0 || !u->part.first_initial;
    for (size_t d = 0; d < u->docs.len; d++) {
        k5_object *o = prebuild(ld->set, &u->arena, ld->fidx[u->item], f,
                                &K5__VEC_AT(&u->docs, k5__doc, d), d > 0 || first_fixed);
        if (!k5__vec_push(&u->pre, &o)) {
            k5__vec_free(&u->pre); /* the merge makes them all, as without */
            return;
        }
    }
}

/* Parses the next unit in take order, if any is left; false when none is. */
static bool parse_next(loading *ld)
{
    size_t k = atomic_fetch_add(&ld->next, 1);
    if (k >= ld->nunits)
        return false;
    parse_unit(ld, k);
    size_t item = ld->units[ld->order[k]].item;
    if (atomic_fetch_sub(&ld->left[item], 1) == 1) {
        pthread_mutex_lock(&ld->mu);
        pthread_cond_broadcast(&ld->cv);
        pthread_mutex_unlock(&ld->mu);
    }
    return true;
}

static void *parse_main(void *arg)
{
    loading *ld = arg;
    while (parse_next(ld))
        ;
    return NULL;
}

/* Returns once item i's units are all parsed, parsing units (its own or others') meanwhile. */
static void await_item(loading *ld, size_t i)
{
    while (atomic_load(&ld->left[i]) > 0) {
        if (parse_next(ld))
            continue;
        /* Nothing left to take: the other threads are parsing the rest of item i. */
        pthread_mutex_lock(&ld->mu);
        while (atomic_load(&ld->left[i]) > 0)
            pthread_cond_wait(&ld->cv, &ld->mu);
        pthread_mutex_unlock(&ld->mu);
    }
}

static void unit_clear(unit *u)
{
    k5__arena_free(&u->arena);
    k5__vec_free(&u->docs);
    k5__vec_free(&u->pre);
}

/* The unit's d-th document's prebuilt object, or NULL. */
static k5_object *unit_pre(const unit *u, size_t d)
{
    return d < u->pre.len ? K5__VEC_AT(&u->pre, k5_object *, d) : NULL;
}

/*
 * Units bigger than a split stream's largest part (files that are not cut: JSON, a stream
 * with a directive) first, largest first, so that no thread is left with one at the end;
 * then the others in input order, so that items finish in the order they are merged in.
 */
static int by_take_order(const void *a, const void *b, void *ctx)
{
    const unit *u = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    size_t sa = u[ia].part.end - u[ia].part.start, sb = u[ib].part.end - u[ib].part.start;
    bool big_a = sa >= k5__split_min, big_b = sb >= k5__split_min;
    if (big_a != big_b)
        return big_a ? -1 : 1;
    if (big_a && sa != sb)
        return sa > sb ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

/*
 * The parts of one file, parsed, as one whole-file parse: documents in order, each document's
 * source span as the whole parse gives it. False when a part cannot stand for its share of the
 * file (an error, or the per-file limits summed over the parts): the file is then parsed whole.
 */
static bool parts_agree(const unit *u, size_t n)
{
    size_t ndocs = 0;
    uint64_t alias = 0;
    for (size_t p = 0; p < n; p++) {
        if (u[p].st != K5_OK)
            return false;
        ndocs += u[p].part.ndocs;
        alias += u[p].part.alias_nodes;
    }
    return ndocs <= K5_MAX_DOCUMENTS && alias <= K5_MAX_ALIAS_NODES;
}

static k5_status merge_parts(k5_docset *set, unit *u, size_t n, k5__vec *docs, k5__vec *pres)
{
    uint32_t carry = 0; /* where the last document before this part ended */
    for (size_t p = 0; p < n; p++) {
        for (size_t d = 0; d < u[p].docs.len; d++) {
            k5__doc doc = K5__VEC_AT(&u[p].docs, k5__doc, d);
            k5_object *pre = unit_pre(&u[p], d);
            if (d == 0 && p > 0 && u[p].part.first_initial)
                doc.start = carry; /* never prebuilt (parse_unit) */
            if (!k5__vec_push(docs, &doc) || !k5__vec_push(pres, &pre))
                return K5_ENOMEM;
        }
        if (u[p].part.any_end)
            carry = u[p].part.last_end;
        k5__arena_adopt(&set->arena, &u[p].arena);
    }
    return K5_OK;
}

/* After parsing: the file's documents become objects, as the one-file load always did;
 * pres holds their prebuilt objects (or NULL), one per document, or nothing. */
static k5_status add_parsed(k5_docset *set, size_t fidx, k5__vec *docs, const k5__vec *pres,
                            k5_status st, k5_error *err)
{
    k5__file *fp = &K5__VEC_AT(&set->files, k5__file, fidx);
    if (st == K5_OK && !set->first_root && docs->len)
        set->first_root = K5__VEC_AT(docs, k5__doc, 0).root;
    size_t first_obj = set->objects.len, first_notice = set->notices.len;
    size_t nkust = set->kustomizations.len;
    for (size_t i = 0; st == K5_OK && i < docs->len; i++)
        st = add_doc(set, fidx, &K5__VEC_AT(docs, k5__doc, i),
                     i < pres->len ? K5__VEC_AT(pres, k5_object *, i) : NULL);
    if (st == K5_OK)
        st = after_load(set, fidx, first_obj, nkust);
    if (st != K5_OK) {
        /* A file that fails contributes nothing: objects are all or none. */
        set->objects.len = first_obj;
        set->notices.len = first_notice;
        set->kustomizations.len = nkust;
        if (err && !err->msg[0])
            k5__err(err, fp->name, 0, 0, "%s", k5_status_str(st));
        return st;
    }
    fp->ok = true;
    return K5_OK;
}

/* Registers the files, in order, before any thread runs: the file table never moves after. */
static k5_status register_files(loading *ld)
{
    k5_docset *set = ld->set;
    for (size_t i = 0; i < ld->nitems; i++) {
        k5_load_item *it = &ld->items[i];
        it->status = K5_OK;
        it->err.file = NULL;
        it->err.line = it->err.column = 0;
        it->err.msg[0] = '\0';
        const char *name = it->name ? it->name : "-";
        k5__file f = {0};
        f.name = k5__arena_strndup(&set->arena, name, strlen(name));
        f.buf = it->buf;
        f.len = it->len;
        it->buf = NULL; /* the set owns it now */
        if (!f.name || !k5__vec_push(&set->files, &f)) {
            free(f.buf);
            for (size_t j = i + 1; j < ld->nitems; j++) {
                free(ld->items[j].buf);
                ld->items[j].buf = NULL;
            }
            for (size_t j = i; j < ld->nitems; j++) {
                ld->items[j].status = K5_ENOMEM;
                k5__err(&ld->items[j].err, ld->items[j].name, 0, 0, "out of memory");
            }
            return K5_ENOMEM;
        }
        ld->fidx[i] = set->files.len - 1;
        ld->parse[i] = true;
        if (it->len > K5_MAX_FILE_BYTES) {
            k5__err(&it->err, K5__VEC_AT(&set->files, k5__file, ld->fidx[i]).name, 0, 0,
                    "file is larger than %u MiB (limit K5_MAX_FILE_BYTES); split it",
                    K5_MAX_FILE_BYTES / (1024u * 1024u));
            it->status = K5_ELIMIT;
            ld->parse[i] = false;
        }
    }
    return K5_OK;
}

/* The units to parse: one per file, or one per part of a split stream. */
static k5_status plan_units(loading *ld, size_t **first_unit)
{
    size_t n = 0;
    for (size_t i = 0; i < ld->nitems; i++)
        n += ld->parse[i] ? 1 + ld->splits[i].len : 0;
    ld->units = calloc(n ? n : 1, sizeof *ld->units);
    ld->order = malloc((n ? n : 1) * sizeof *ld->order);
    *first_unit = malloc((ld->nitems + 1) * sizeof **first_unit);
    if (!ld->units || !ld->order || !*first_unit)
        return K5_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < ld->nitems; i++) {
        (*first_unit)[i] = k;
        if (!ld->parse[i])
            continue;
        const k5__file *f = &K5__VEC_AT(&ld->set->files, k5__file, ld->fidx[i]);
        size_t nparts = 1 + ld->splits[i].len;
        for (size_t p = 0; p < nparts; p++, k++) {
            unit *u = &ld->units[k];
            u->item = i;
            u->json = nparts == 1 && item_is_json(&ld->items[i], f);
            u->part.start = p ? K5__VEC_AT(&ld->splits[i], size_t, p - 1) : 0;
            u->part.end = p + 1 < nparts ? K5__VEC_AT(&ld->splits[i], size_t, p) : f->len;
            u->docs.elem = sizeof(k5__doc);
            u->pre.elem = sizeof(k5_object *);
            ld->order[k] = k;
        }
    }
    (*first_unit)[ld->nitems] = k;
    ld->nunits = k;
    qsort_r(ld->order, k, sizeof *ld->order, by_take_order, ld->units);
    ld->left = calloc(ld->nitems ? ld->nitems : 1, sizeof *ld->left);
    if (!ld->left)
        return K5_ENOMEM;
    for (size_t i = 0; i < ld->nitems; i++)
        atomic_init(&ld->left[i], (*first_unit)[i + 1] - (*first_unit)[i]);
    return K5_OK;
}

k5_status k5_docset_load_all(k5_docset *set, k5_load_item *items, size_t n, unsigned jobs)
{
    loading ld = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    ld.set = set;
    ld.items = items;
    ld.nitems = n;
    ld.split = jobs > 1;
    size_t *first_unit = NULL;
    ld.fidx = calloc(n ? n : 1, sizeof *ld.fidx);
    ld.parse = calloc(n ? n : 1, sizeof *ld.parse);
    ld.splits = calloc(n ? n : 1, sizeof *ld.splits);
    k5_status st = K5_ENOMEM;
    if (!ld.fidx || !ld.parse || !ld.splits) {
        for (size_t i = 0; i < n; i++) {
            free(items[i].buf);
            items[i].buf = NULL;
            items[i].status = K5_ENOMEM;
            k5__err(&items[i].err, items[i].name, 0, 0, "out of memory");
        }
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ld.splits[i].elem = sizeof(size_t);
    if ((st = register_files(&ld)) != K5_OK)
        goto out;
    run_crew(&ld, prepare_file, n, jobs ? jobs : 1);
    for (size_t i = 0; i < n; i++)
        if (items[i].status == K5_ENOMEM)
            k5__err(&items[i].err, K5__VEC_AT(&set->files, k5__file, ld.fidx[i]).name, 0, 0,
                    "out of memory");
    if ((st = plan_units(&ld, &first_unit)) != K5_OK) {
        for (size_t i = 0; i < n; i++) {
            if (ld.parse[i]) {
                items[i].status = K5_ENOMEM;
                k5__err(&items[i].err, items[i].name, 0, 0, "out of memory");
            }
        }
        goto out;
    }
    /* The other threads parse; this one parses too, and merges each item, in input order on
     * this thread (objects, notices and duplicates as one by one), once its units are in. */
    pthread_t th[K5_MAX_JOBS];
    unsigned started = 0;
    if (jobs > K5_MAX_JOBS)
        jobs = K5_MAX_JOBS;
    for (unsigned t = 1; t < jobs && t < ld.nunits; t++)
        if (pthread_create(&th[started], NULL, parse_main, &ld) == 0)
            started++;
    for (size_t i = 0; i < n; i++) {
        if (!ld.parse[i])
            continue;
        await_item(&ld, i);
        unit *u = &ld.units[first_unit[i]];
        size_t nparts = first_unit[i + 1] - first_unit[i];
        k5__vec docs = K5__VEC_INIT(k5__doc);
        k5__vec pres = K5__VEC_INIT(k5_object *);
        k5_status fst;
        if (nparts > 1 && !parts_agree(u, nparts)) {
            /* The whole file again, as one part: its errors as a one-thread run says them. */
            for (size_t p = 0; p < nparts; p++)
                unit_clear(&u[p]);
            const k5__file *f = &K5__VEC_AT(&set->files, k5__file, ld.fidx[i]);
            k5__yaml_part whole = {0, f->len, 0, 0, false, false, 0};
            k5__arena a = {0};
            fst = k5__load_yaml(&a, f, &whole, &docs, &items[i].err);
            k5__arena_adopt(&set->arena, &a);
        } else if (nparts > 1) {
            fst = merge_parts(set, u, nparts, &docs, &pres);
        } else {
            fst = u->st;
            items[i].err = u->err;
            K5__VEC_AT(&set->files, k5__file, ld.fidx[i]).tree_unique = u->json_tree;
            for (size_t d = 0; d < u->docs.len && fst == K5_OK; d++)
                if (!k5__vec_push(&docs, &K5__VEC_AT(&u->docs, k5__doc, d)))
                    fst = K5_ENOMEM;
            /* Moved, not copied: the unit is done with them. */
            pres = u->pre;
            u->pre = (k5__vec)K5__VEC_INIT(k5_object *);
            k5__arena_adopt(&set->arena, &u->arena);
        }
        items[i].status = add_parsed(set, ld.fidx[i], &docs, &pres, fst, &items[i].err);
        k5__vec_free(&docs);
        k5__vec_free(&pres);
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    st = K5_OK;
out:
    for (size_t k = 0; ld.units && k < ld.nunits; k++)
        unit_clear(&ld.units[k]);
    for (size_t i = 0; ld.splits && i < n; i++)
        k5__vec_free(&ld.splits[i]);
    free(ld.units);
    free(ld.order);
    free(ld.left);
    pthread_mutex_destroy(&ld.mu);
    pthread_cond_destroy(&ld.cv);
    free(first_unit);
    free(ld.fidx);
    free(ld.parse);
    free(ld.splits);
    return st;
}

k5_status k5_docset_load(k5_docset *set, const char *name, char *buf, size_t len,
                         k5_format format, k5_error *err)
{
    k5_load_item it = {name, buf, len, format, K5_OK, {0}};
    k5_status st = k5_docset_load_all(set, &it, 1, 1);
    if (st == K5_OK)
        st = it.status;
    if (err)
        *err = it.err;
    return st;
}

static k5_status add_cjson(k5_docset *set, const char *name, const struct cJSON *obj,
                          bool borrowed, k5_error *err)
{
    k5__file f = {0};
    f.name = k5__arena_strndup(&set->arena, name ? name : "request", strlen(name ? name : "request"));
    if (!f.name || !k5__vec_push(&set->files, &f))
        return K5_ENOMEM;
    size_t fidx = set->files.len - 1;
    k5_status st;
    const k5_node *root = borrowed ? k5__node_from_cjson_borrowed(&set->arena, obj, err, &st)
                                   : k5__node_from_cjson(&set->arena, obj, 0, err, &st);
    if (!root)
        return st;
    k5__doc d = {root, 0, 0};
    st = add_doc(set, fidx, &d, NULL);
    if (st == K5_OK)
        K5__VEC_AT(&set->files, k5__file, fidx).ok = true;
    return st;
}

k5_status k5_docset_add_cjson(k5_docset *set, const char *name, const struct cJSON *obj,
                              k5_error *err)
{
    return add_cjson(set, name, obj, false, err);
}

k5_status k5_docset_add_cjson_borrowed(k5_docset *set, const char *name, const struct cJSON *obj,
                                       k5_error *err)
{
    return add_cjson(set, name, obj, true, err);
}

k5_status k5__docset_add_borrowed(k5_docset *set, const char *name, const k5_node *const *roots,
                                  size_t n)
{
    k5__file f = {0};
    f.name = k5__arena_strndup(&set->arena, name, strlen(name));
    f.cluster = true;
    if (!f.name || !k5__vec_push(&set->files, &f))
        return K5_ENOMEM;
    size_t fidx = set->files.len - 1;
    k5_str none = {NULL, 0};
    for (size_t i = 0; i < n; i++) {
        k5_status st = add_object(set, fidx, roots[i], none);
        if (st != K5_OK)
            return st;
    }
    K5__VEC_AT(&set->files, k5__file, fidx).ok = true;
    return K5_OK;
}

size_t k5_docset_file_count(const k5_docset *set)
{
    return set->files.len;
}

size_t k5_docset_files_ok(const k5_docset *set)
{
    size_t n = 0;
    for (size_t i = 0; i < set->files.len; i++)
        n += K5__VEC_AT(&set->files, k5__file, i).ok;
    return n;
}

const char *k5_docset_file_name(const k5_docset *set, size_t file)
{
    return file < set->files.len ? K5__VEC_AT(&set->files, k5__file, file).name : NULL;
}

size_t k5_docset_object_count(const k5_docset *set)
{
    return set->objects.len;
}

const k5_object *k5_docset_object(const k5_docset *set, size_t i)
{
    return i < set->objects.len ? K5__VEC_AT(&set->objects, k5_object *, i) : NULL;
}

size_t k5_docset_notice_count(const k5_docset *set)
{
    return set->notices.len;
}

const k5_notice *k5_docset_notice(const k5_docset *set, size_t i)
{
    return i < set->notices.len ? &K5__VEC_AT(&set->notices, k5_notice, i) : NULL;
}

const char *k5_docset_default_namespace(const k5_docset *set)
{
    return set->default_ns;
}

const k5_node *k5__docset_first_root(const k5_docset *set)
{
    return set->first_root;
}
