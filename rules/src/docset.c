/*
 * The document set: files, line tables, positions, and the object model
 * built from loaded documents.
 */
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
    size_t lo = 0, hi = f->nlines;
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

static k5_status add_object(k5_docset *set, size_t file, const k5_node *root, k5_str source)
{
    k5_object *o = k5__arena_alloc(&set->arena, sizeof *o);
    if (!o)
        return K5_ENOMEM;
    memset(o, 0, sizeof *o);
    o->root = root;
    o->api_version = k5_node_str(k5_map_get(root, "apiVersion"));
    o->kind = k5_node_str(k5_map_get(root, "kind"));
    o->kind_id = k5_kind_from(o->api_version, o->kind);
    o->metadata = map_at(root, "metadata");
    o->labels = map_at(o->metadata, "labels");
    o->annotations = map_at(o->metadata, "annotations");
    const k5_node *name = k5_map_get(o->metadata, "name");
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
            tmpl = map_at(root, "spec.template");
        if (tmpl) {
            o->pod_metadata = map_at(tmpl, "metadata");
            o->pod_labels = map_at(o->pod_metadata, "labels");
            o->pod_annotations = map_at(o->pod_metadata, "annotations");
            o->pod_spec = map_at(tmpl, "spec");
        }
    }
    o->file = file;
    o->source = source;
    o->index = set->objects.len;
    if (!k5__vec_push(&set->objects, &o))
        return K5_ENOMEM;
    return K5_OK;
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

static k5_status note_duplicate(k5_docset *set, const k5_object *o)
{
    const k5_node *name = k5_map_get(o->metadata, "name");
    if (!k5_node_str(name).n || k5_node_kind(name) == K5_NODE_NULL)
        return K5_OK; /* generateName: a new object each time */
    if (o->kind_id == K5_KIND_OTHER)
        return K5_OK; /* no rule judges it: a duplicate ConfigMap changes no finding */
    char key[1024];
    int n = snprintf(key, sizeof key, "%.*s%c%.*s%c%.*s", (int)o->kind.n, o->kind.p, 0,
                     (int)o->namespace_.n, o->namespace_.p, 0, (int)o->name.n, o->name.p);
    if (n < 0 || (size_t)n >= sizeof key)
        return K5_OK;
    const k5__hentry *e = k5__hmap_get(&set->identities, key, (size_t)n);
    if (e && e->nvals && e->vals[0] < set->objects.len) {
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
    return k5__hmap_add(&set->identities, key, (size_t)n, (uint32_t)o->index);
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
    for (size_t i = first_obj; i < set->objects.len && st == K5_OK; i++) {
        k5_object *o = K5__VEC_AT(&set->objects, k5_object *, i);
        if (set->kustomizations.len)
            kustomize_object(set, o);
        st = note_duplicate(set, o);
    }
    return st;
}

static k5_status add_doc(k5_docset *set, size_t file, const k5__doc *d)
{
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

k5_status k5_docset_load(k5_docset *set, const char *name, char *buf, size_t len,
                         k5_format format, k5_error *err)
{
    if (err)
        err->msg[0] = '\0';
    k5__file f = {0};
    f.name = k5__arena_strndup(&set->arena, name ? name : "-", strlen(name ? name : "-"));
    f.buf = buf;
    f.len = len;
    if (!f.name || !k5__vec_push(&set->files, &f)) {
        free(buf);
        k5__err(err, name, 0, 0, "out of memory");
        return K5_ENOMEM;
    }
    size_t fidx = set->files.len - 1;
    k5__file *fp = &K5__VEC_AT(&set->files, k5__file, fidx);
    if (len > K5_MAX_FILE_BYTES) {
        k5__err(err, fp->name, 0, 0,
                "file is larger than %u MiB (limit K5_MAX_FILE_BYTES); split it",
                K5_MAX_FILE_BYTES / (1024u * 1024u));
        return K5_ELIMIT;
    }
    if (build_lines(fp) != K5_OK) {
        k5__err(err, fp->name, 0, 0, "out of memory");
        return K5_ENOMEM;
    }
    k5__vec docs = K5__VEC_INIT(k5__doc);
    k5_status st;
    if (format == K5_FORMAT_JSON) {
        st = k5__load_json(set, fidx, &docs, err);
    } else if (format == K5_FORMAT_AUTO && looks_like_json(buf, len)) {
        /* JSON is tried first; YAML (a superset for our purposes) gets the last word. */
        st = k5__load_json(set, fidx, &docs, err);
        if (st == K5_EPARSE) {
            docs.len = 0;
            if (err)
                err->msg[0] = '\0';
            st = k5__load_yaml(set, fidx, &docs, err);
        }
    } else {
        st = k5__load_yaml(set, fidx, &docs, err);
    }
    fp = &K5__VEC_AT(&set->files, k5__file, fidx);
    if (st == K5_OK && !set->first_root && docs.len)
        set->first_root = K5__VEC_AT(&docs, k5__doc, 0).root;
    size_t first_obj = set->objects.len, first_notice = set->notices.len;
    size_t nkust = set->kustomizations.len;
    for (size_t i = 0; st == K5_OK && i < docs.len; i++)
        st = add_doc(set, fidx, &K5__VEC_AT(&docs, k5__doc, i));
    k5__vec_free(&docs);
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

k5_status k5_docset_add_cjson(k5_docset *set, const char *name, const struct cJSON *obj,
                              k5_error *err)
{
    k5__file f = {0};
    f.name = k5__arena_strndup(&set->arena, name ? name : "request", strlen(name ? name : "request"));
    if (!f.name || !k5__vec_push(&set->files, &f))
        return K5_ENOMEM;
    size_t fidx = set->files.len - 1;
    k5_status st;
    const k5_node *root = k5__node_from_cjson(&set->arena, obj, 0, err, &st);
    if (!root)
        return st;
    k5__doc d = {root, 0, 0};
    st = add_doc(set, fidx, &d);
    if (st == K5_OK)
        K5__VEC_AT(&set->files, k5__file, fidx).ok = true;
    return st;
}

k5_status k5__docset_add_borrowed(k5_docset *set, const char *name, const k5_node *const *roots,
                                  size_t n)
{
    k5__file f = {0};
    f.name = k5__arena_strndup(&set->arena, name, strlen(name));
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
