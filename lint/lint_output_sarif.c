/*
 * kube5xx CLI: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
 *
 * One run. tool.driver.rules lists every rule of the registry in registry
 * order, so a result's ruleIndex is the rule's registry index. Suppressed
 * findings are always included, with suppressions[{kind: "inSource"}]: that is
 * how GitHub learns that an alert was dismissed in the source rather than
 * fixed. Load errors become toolExecutionNotifications and set
 * executionSuccessful to false.
 *
 * partialFingerprints["kube5xx/v1"] hashes the rule id, the object's
 * apiVersion/kind/namespace/name and the field path but not the line, so an
 * alert keeps its identity when the lines above it change; ":<n>" numbers
 * findings that would otherwise share a fingerprint (GitHub's own
 * primaryLocationLineHash does the same).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lint_output_internal.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define FINGERPRINT_KEY "kube5xx/v1"

static const char *sarif_level(k5_severity s)
{
    switch (s) {
    case K5_SEV_ERROR:
        return "error";
    case K5_SEV_WARNING:
        return "warning";
    case K5_SEV_INFO:
        return "note";
    case K5_SEV_OFF:
        break;
    }
    return "none";
}

/* GitHub's problem.severity vocabulary. */
static const char *github_severity(k5_severity s)
{
    switch (s) {
    case K5_SEV_ERROR:
        return "error";
    case K5_SEV_WARNING:
        return "warning";
    default:
        return "recommendation";
    }
}

/* ---- a small growable string ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (!b->p || b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_adds(sbuf *b, const char *s)
{
    sb_add(b, s ? s : "", lint_strlen0(s));
}

static void sb_str(sbuf *b, k5_str s)
{
    sb_add(b, s.p ? s.p : "", s.p ? s.n : 0);
}

/* Empty but never NULL unless out of memory. */
static const char *sb_cstr(sbuf *b)
{
    if (!b->p)
        sb_add(b, "", 0);
    return b->oom ? NULL : b->p;
}

/* RFC 3986 unreserved characters, in ASCII whatever the locale. */
static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void add_encoded(sbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (unreserved(c) || c == '/') {
            sb_add(b, &p[i], 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", c);
            sb_add(b, hex, 3);
        }
    }
}

/*
 * Resolves "." and ".." segments of a relative path lexically into out (segments joined by
 * '/'). Returns false when the path climbs above its start.
 */
static bool normalize(const char *path, sbuf *out)
{
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (out->n == 0)
                return false;
            char *slash = memrchr(out->p, '/', out->n);
            out->n = slash ? (size_t)(slash - out->p) : 0;
            out->p[out->n] = '\0';
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out->n)
                sb_add(out, "/", 1);
            sb_add(out, p, n);
        }
        p += n + (e ? 1 : 0);
    }
    return true;
}

/*
 * An artifactLocation.uri for a path as the user gave it: RFC 3986, every byte outside the
 * unreserved set and '/' percent-encoded (so "a b#c.yaml" stays one path, and a ':' in the
 * first segment is not read as a scheme). A path inside the repository (o->srcroot) is made
 * relative to its root, whatever directory kube5xx ran in, with uriBaseId %SRCROOT% (as SARIF
 * says and GitHub code scanning expects); a path outside it is a file:// URI; without a
 * known root, relative paths stay as given. stdin is "<stdin>", percent-encoded.
 */
static void uri_for(const lint_output *o, sbuf *b, const char *file, bool *relative)
{
    *relative = false;
    if (!file || strcmp(file, LINT_STDIN_NAME) == 0) {
        sb_adds(b, "%3Cstdin%3E");
        return;
    }
    sbuf rel = {0};
    bool inside = false;
    if (o->srcroot) {
        /* The path from the root: cwd-relative paths get the cwd's place in the root first. */
        sbuf joined = {0};
        size_t rl = strlen(o->srcroot);
        if (file[0] == '/') {
            if (strncmp(file, o->srcroot, rl) == 0 && (file[rl] == '/' || file[rl] == '\0'))
                sb_adds(&joined, file + rl);
            else
                joined.oom = true; /* outside the root */
        } else {
            sb_adds(&joined, o->srcroot_cwd);
            sb_add(&joined, "/", 1);
            sb_adds(&joined, file);
        }
        inside = !joined.oom && joined.p && normalize(joined.p, &rel) && !rel.oom && rel.n > 0;
        free(joined.p);
    } else if (file[0] != '/') {
        const char *f = file;
        while (f[0] == '.' && f[1] == '/') {
            f += 2;
            while (*f == '/')
                f++;
        }
        sb_adds(&rel, f);
        inside = !rel.oom;
    }
    if (inside) {
        *relative = true;
        add_encoded(b, rel.p, rel.n);
    } else if (file[0] == '/') {
        sb_adds(b, "file://");
        add_encoded(b, file, strlen(file));
    } else {
        /* A relative path that leaves the root: absolute, from the cwd. */
        sb_adds(b, "file://");
        add_encoded(b, o->srcroot, strlen(o->srcroot));
        sb_add(b, "/", 1);
        if (o->srcroot_cwd[0]) {
            add_encoded(b, o->srcroot_cwd, strlen(o->srcroot_cwd));
            sb_add(b, "/", 1);
        }
        add_encoded(b, file, strlen(file));
    }
    free(rel.p);
}

int lint_sarif_srcroot(char **root, char **cwd_in_root)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    /* The repository root: the nearest directory with a .git (a directory, or a file in a
     * worktree or submodule); without one, the current directory. */
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s", cwd);
    size_t len = strlen(dir);
    for (;;) {
        char probe[PATH_MAX + 16];
        snprintf(probe, sizeof probe, "%s/.git", strcmp(dir, "/") == 0 ? "" : dir);
        if (access(probe, F_OK) == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            snprintf(dir, sizeof dir, "%s", cwd); /* no repository: the cwd is the root */
            len = strlen(dir);
            break;
        }
        *slash = '\0';
        len = (size_t)(slash - dir);
    }
    const char *rest = cwd + len;
    while (*rest == '/')
        rest++;
    *root = strdup(strcmp(dir, "/") == 0 ? "" : dir);
    *cwd_in_root = strdup(rest);
    if (!*root || !*cwd_in_root) {
        free(*root);
        free(*cwd_in_root);
        *root = *cwd_in_root = NULL;
        return -1;
    }
    return 0;
}

static void add_physical_location(const lint_output *o, cJSON *loc, const char *file,
                                  uint32_t line, uint32_t col, bool *oom)
{
    cJSON *phys = lint_json_obj(loc, "physicalLocation", oom);
    cJSON *art = lint_json_obj(phys, "artifactLocation", oom);
    sbuf uri = {0};
    bool relative;
    uri_for(o, &uri, file, &relative);
    const char *u = sb_cstr(&uri);
    if (!u)
        *oom = true;
    else
        lint_json_str(art, "uri", u, oom);
    free(uri.p);
    if (relative)
        lint_json_str(art, "uriBaseId", "%SRCROOT%", oom);
    if (line > 0) {
        cJSON *region = lint_json_obj(phys, "region", oom);
        lint_json_num(region, "startLine", line, oom);
        if (col > 0)
            lint_json_num(region, "startColumn", col, oom);
    }
}

/* "readiness-probe-missing" -> "ReadinessProbeMissing": SARIF's rule names are identifiers. */
static void rule_name(sbuf *b, const char *id)
{
    bool up = true;
    for (const char *p = id ? id : ""; *p; p++) {
        if (*p == '-' || *p == '_') {
            up = true;
            continue;
        }
        char c = (up && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        up = false;
        sb_add(b, &c, 1);
    }
}

static void add_rule(cJSON *rules, const k5_rule *r, bool *oom)
{
    cJSON *j = lint_json_obj(rules, NULL, oom);
    lint_json_str(j, "id", r->id, oom);

    sbuf b = {0};
    rule_name(&b, r->id);
    const char *name = sb_cstr(&b);
    if (!name)
        *oom = true;
    else
        lint_json_str(j, "name", name, oom);
    free(b.p);

    lint_json_str(lint_json_obj(j, "shortDescription", oom), "text", r->summary, oom);
    lint_json_str(lint_json_obj(j, "fullDescription", oom), "text", r->explanation, oom);

    cJSON *help = lint_json_obj(j, "help", oom);
    sbuf text = {0}, md = {0};
    sb_adds(&text, r->explanation);
    sb_adds(&text, "\n\n");
    sb_adds(&text, r->remediation);
    sb_adds(&md, r->explanation);
    sb_adds(&md, "\n\n");
    sb_adds(&md, r->remediation);
    if (r->example && r->example[0]) {
        size_t n = strlen(r->example);
        sb_adds(&text, "\n\nExample:\n");
        sb_adds(&text, r->example);
        sb_adds(&md, "\n\n```yaml\n");
        sb_adds(&md, r->example);
        if (r->example[n - 1] != '\n')
            sb_adds(&md, "\n");
        sb_adds(&md, "```");
    }
    const char *t = sb_cstr(&text), *m = sb_cstr(&md);
    if (!t || !m)
        *oom = true;
    lint_json_str(help, "text", t ? t : "", oom);
    lint_json_str(help, "markdown", m ? m : "", oom);
    free(text.p);
    free(md.p);

    cJSON *conf = lint_json_obj(j, "defaultConfiguration", oom);
    lint_json_str(conf, "level", sarif_level(r->severity), oom);
    if (r->severity == K5_SEV_OFF)
        lint_json_bool(conf, "enabled", false, oom);

    cJSON *props = lint_json_obj(j, "properties", oom);
    cJSON *tags = lint_json_arr(props, "tags", oom);
    lint_json_str(tags, NULL, "kubernetes", oom);
    lint_json_str(tags, NULL, "reliability", oom);
    lint_json_str(tags, NULL, "5xx", oom);
    lint_json_str(tags, NULL, r->scope == K5_SCOPE_CROSS ? "cross-object" : "single-object", oom);
    lint_json_str(props, "problem.severity", github_severity(r->severity), oom);
    lint_json_str(props, "scope", k5_scope_str(r->scope), oom);
}

static size_t rule_index(const k5_rule *r)
{
    size_t i = k5_rule_index(r);
    if (i < k5_rule_count() && k5_rule_at(i) == r)
        return i;
    for (i = 0; i < k5_rule_count(); i++)
        if (k5_rule_at(i) == r)
            return i;
    return SIZE_MAX;
}

/*
 * How many findings so far had each fingerprint, for the ":<n>" occurrence numbers: the n-th
 * finding (in the report's order) with a fingerprint gets n. A set of the fingerprints seen
 * (8 bytes a slot, linear probing, at most 7/8 full) and a small map from a fingerprint seen
 * more than once to its count: memory is about 9-18 bytes per distinct fingerprint, not the
 * findings. The empty slot is 0, so fingerprint 0 is counted apart.
 */
typedef struct fp_seen {
    uint64_t *set;
    size_t cap, len; /* cap is 0 or a power of two */
    uint64_t *rkey;  /* fingerprints seen twice or more, with their counts */
    size_t *rcount;
    size_t rcap, rlen;
    size_t zeros;
} fp_seen;

static size_t fp_slot(uint64_t h, size_t cap)
{
    /* Fibonacci hashing: FNV-1a's low bits alone are not mixed enough for a power of two. */
    return (size_t)((h * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* Inserts h into set (cap a power of two, room left); returns false when it was there. */
static bool fp_put(uint64_t *set, size_t cap, uint64_t h)
{
    for (size_t i = fp_slot(h, cap);; i = (i + 1) & (cap - 1)) {
        if (set[i] == h)
            return false;
        if (!set[i]) {
            set[i] = h;
            return true;
        }
    }
}

static bool fp_grow(fp_seen *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    uint64_t *set = calloc(cap, sizeof *set);
    if (!set)
        return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->set[i])
            (void)fp_put(set, cap, t->set[i]);
    free(t->set);
    t->set = set;
    t->cap = cap;
    return true;
}

/* The count of h after counting it once more (1 the first time); 0 when out of memory. */
static size_t fp_bump(fp_seen *t, uint64_t h)
{
    if (!h)
        return ++t->zeros;
    if (t->len + 1 > t->cap - t->cap / 8 || !t->cap) {
        if (!fp_grow(t))
            return 0;
    }
    if (fp_put(t->set, t->cap, h)) {
        t->len++;
        return 1;
    }
    /* A repeat: rare (one rule, one object, one path, or the same object in two files). */
    if (t->rlen + 1 > t->rcap / 2) {
        size_t cap = t->rcap ? t->rcap * 2 : 64;
        uint64_t *k = calloc(cap, sizeof *k);
        size_t *c = calloc(cap, sizeof *c);
        if (!k || !c) {
            free(k);
            free(c);
            return 0;
        }
        for (size_t i = 0; i < t->rcap; i++) {
            if (!t->rkey[i])
                continue;
            size_t at = fp_slot(t->rkey[i], cap);
            while (k[at])
                at = (at + 1) & (cap - 1);
            k[at] = t->rkey[i];
            c[at] = t->rcount[i];
        }
        free(t->rkey);
        free(t->rcount);
        t->rkey = k;
        t->rcount = c;
        t->rcap = cap;
    }
    size_t at = fp_slot(h, t->rcap);
    while (t->rkey[at] && t->rkey[at] != h)
        at = (at + 1) & (t->rcap - 1);
    if (!t->rkey[at]) {
        t->rkey[at] = h;
        t->rcount[at] = 1;
        t->rlen++;
    }
    return ++t->rcount[at];
}

static void fp_seen_free(fp_seen *t)
{
    free(t->set);
    free(t->rkey);
    free(t->rcount);
}

/* The artifactLocation text of the last file written (a file's findings come together). */
typedef struct uri_memo {
    const char *file; /* the finding's file name pointer it was made for */
    lint_jw text;     /* "physicalLocation":{"artifactLocation":{...} */
} uri_memo;

/* physicalLocation's members (artifactLocation, region), as add_physical_location builds them. */
static void write_physical_location(const lint_output *o, lint_jw *w, const char *file,
                                    uint32_t line, uint32_t col, uri_memo *memo)
{
    if (!memo->text.len || memo->file != file || !file) {
        memo->text.len = 0;
        memo->file = file;
        sbuf uri = {0};
        bool relative;
        uri_for(o, &uri, file, &relative);
        const char *u = sb_cstr(&uri);
        if (!u)
            memo->text.oom = true;
        lint_jw_lit(&memo->text, "\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
        lint_jw_cstr(&memo->text, u);
        free(uri.p);
        if (relative)
            lint_jw_lit(&memo->text, ",\"uriBaseId\":\"%SRCROOT%\"");
        lint_jw_lit(&memo->text, "}");
        if (memo->text.oom) {
            w->oom = true;
            memo->text.oom = false;
            memo->text.len = 0;
            return;
        }
    }
    lint_jw_raw(w, memo->text.p, memo->text.len);
    if (line > 0) {
        lint_jw_lit(w, ",\"region\":{\"startLine\":");
        lint_jw_num(w, line);
        if (col > 0) {
            lint_jw_lit(w, ",\"startColumn\":");
            lint_jw_num(w, col);
        }
        lint_jw_lit(w, "}");
    }
    lint_jw_lit(w, "}");
}

/* Text a result builds before escaping it, kept between results: a malloc and free per result
 * was a measurable part of the format on large inputs. */
typedef struct rule_head {
    const k5_rule *rule;
    k5_severity severity;
    bool valid;
    lint_jw text;
} rule_head;

typedef struct scratch {
    rule_head heads[64]; /* a result's start, by rule and severity */
    sbuf msg, fq;
    lint_jw path; /* the finding's path, escaped once, copied three times */
    /* What depends only on the finding's object (a few findings in a row share it), made
     * once for it: valid for obj within one batch (a batch's objects outlive it). */
    const k5_object *obj;
    bool obj_valid, oid_plain;
    char oid[1024];     /* lint_object_id */
    size_t oidn;
    lint_jw oid_esc;    /* the object id escaped, quotes included */
    lint_jw resource;   /* its logicalLocation: {"name":..,"fullyQualifiedName":..,"kind":..} */
    lint_jw ident;      /* ,"object":{"apiVersion":..,"name":..} */
    bool msg_plain;     /* kind, namespace and name plain ASCII (lint_plain_ascii) */
    lint_jw msg_obj;    /* then " (Kind namespace/name" escaped, what a message adds */
} scratch;


/* One result, written as cJSON would print the tree of its keys in this order. */
static void add_result(const lint_output *o, lint_jw *w, const k5_finding *f, uint64_t hash,
                       size_t occurrence, bool cluster, uri_memo *memo, scratch *sc)
{
    /* {"ruleId":..,"ruleIndex":..,"level":.. depends on the rule and the severity only. */
    rule_head *rh = &sc->heads[(((uintptr_t)f->rule >> 4) * 4 + (unsigned)f->severity) & 63];
    if (!rh->valid || rh->rule != f->rule || rh->severity != f->severity) {
        rh->valid = false;
        rh->text.len = 0;
        lint_jw_lit(&rh->text, "{\"ruleId\":");
        lint_jw_cstr(&rh->text, f->rule ? f->rule->id : "");
        size_t ri = f->rule ? rule_index(f->rule) : SIZE_MAX;
        if (ri != SIZE_MAX) {
            lint_jw_lit(&rh->text, ",\"ruleIndex\":");
            lint_jw_num(&rh->text, (double)ri);
        }
        lint_jw_lit(&rh->text, ",\"level\":");
        lint_jw_cstr(&rh->text, sarif_level(f->severity));
        if (rh->text.oom) {
            rh->text.oom = false;
            w->oom = true;
            return;
        }
        rh->rule = f->rule;
        rh->severity = f->severity;
        rh->valid = true;
    }
    lint_jw_raw(w, rh->text.p, rh->text.len);

    if (!sc->obj_valid || sc->obj != f->object) {
        sc->obj = f->object;
        sc->obj_valid = true;
        lint_object_id(f->object, sc->oid, sizeof sc->oid);
        sc->oidn = strlen(sc->oid);
        sc->oid_plain = lint_plain_ascii(sc->oid, sc->oidn);
        sc->oid_esc.len = sc->resource.len = sc->ident.len = sc->msg_obj.len = 0;
        lint_jw_str(&sc->oid_esc, sc->oid, sc->oidn);
        if (f->object) {
            lint_jw_lit(&sc->resource, "{\"name\":");
            lint_jw_str(&sc->resource, f->object->name.p, f->object->name.n);
            lint_jw_lit(&sc->resource, ",\"fullyQualifiedName\":");
            lint_jw_str(&sc->resource, sc->oid, sc->oidn);
            lint_jw_lit(&sc->resource, ",\"kind\":\"resource\"}");
            lint_jw_lit(&sc->ident, ",\"object\":{");
            lint_jw_object_ident(&sc->ident, f->object);
            lint_jw_lit(&sc->ident, "}");
        }
        /* The message's " (Kind namespace/name" escaped, when its pieces are plain. */
        const k5_object *ob = f->object;
        k5_str part[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
        if (ob) {
            part[0] = ob->kind;
            part[1] = ob->namespace_;
            part[2] = ob->name;
        }
        sc->msg_plain = ob != NULL;
        for (int k = 0; k < 3; k++) {
            if (!part[k].p)
                part[k].n = 0;
            sc->msg_plain = sc->msg_plain && lint_plain_ascii(part[k].p, part[k].n);
        }
        if (sc->msg_plain) {
            lint_jw_raw(&sc->msg_obj, " (", 2);
            lint_jw_esc(&sc->msg_obj, part[0].p, part[0].n);
            lint_jw_raw(&sc->msg_obj, " ", 1);
            lint_jw_esc(&sc->msg_obj, part[1].p, part[1].n);
            lint_jw_raw(&sc->msg_obj, "/", 1);
            lint_jw_esc(&sc->msg_obj, part[2].p, part[2].n);
        }
        if (sc->oid_esc.oom || sc->resource.oom || sc->ident.oom || sc->msg_obj.oom) {
            sc->oid_esc.oom = sc->resource.oom = sc->ident.oom = sc->msg_obj.oom = false;
            sc->obj_valid = false;
            w->oom = true;
            return;
        }
    }

    /* The message names the object too: code scanning shows little else. When every piece is
     * plain ASCII (lint_jw_esc), the pieces are escaped into place one after another, the
     * object's once for all its findings; else the message is joined first and written whole
     * (repaired, and cut at a NUL of the object's strings, as it always was). */
    size_t ml = lint_strlen0(f->message), sl = lint_strlen0(f->source);
    if ((!f->object || sc->msg_plain) && lint_plain_ascii(f->message, ml) &&
        (!f->object || lint_plain_ascii(f->source, sl))) {
        lint_jw_lit(w, ",\"message\":{\"text\":\"");
        lint_jw_esc(w, f->message, ml);
        if (f->object) {
            lint_jw_raw(w, sc->msg_obj.p, sc->msg_obj.len);
            if (f->source) {
                lint_jw_lit(w, ", from ");
                lint_jw_esc(w, f->source, sl);
            }
            lint_jw_raw(w, ")", 1);
        }
        lint_jw_raw(w, "\"", 1);
    } else {
        sbuf *msg = &sc->msg;
        msg->n = 0;
        sb_adds(msg, f->message);
        if (f->object) {
            sb_adds(msg, " (");
            sb_str(msg, f->object->kind);
            sb_adds(msg, " ");
            sb_str(msg, f->object->namespace_);
            sb_adds(msg, "/");
            sb_str(msg, f->object->name);
            if (f->source) {
                sb_adds(msg, ", from ");
                sb_adds(msg, f->source);
            }
            sb_adds(msg, ")");
        }
        const char *m = sb_cstr(msg);
        if (!m)
            w->oom = true;
        lint_jw_lit(w, ",\"message\":{\"text\":");
        lint_jw_cstr(w, m);

    }

    lint_jw_lit(w, "},\"locations\":[{");
    /* An object of a live cluster (kube5xx audit) is no file: logical locations only. */
    if (!cluster) {
        write_physical_location(o, w, f->file, f->line, f->column, memo);
        lint_jw_lit(w, ",");
    }
    const char *oid = sc->oid;
    size_t pathn = lint_strlen0(f->path);
    /* The path is written three times and the object id twice (alone and before the path):
     * each is escaped once and copied. */
    lint_jw *pe = &sc->path, *oe = &sc->oid_esc;
    pe->len = 0;
    lint_jw_str(pe, f->path, pathn);
    if (pe->oom) {
        pe->oom = false;
        w->oom = true;
        return;
    }
    lint_jw_lit(w, "\"logicalLocations\":[");
    if (f->object)
        lint_jw_raw(w, sc->resource.p, sc->resource.len);
    if (pathn) {
        lint_jw_lit(w, f->object ? ",{\"name\":" : "{\"name\":");
        lint_jw_raw(w, pe->p, pe->len);
        lint_jw_lit(w, ",\"fullyQualifiedName\":");
        if (sc->oid_plain && lint_plain_ascii(f->path, pathn)) {
            /* "<oid>" + ":" + "<path>" without the quotes between them. */
            lint_jw_raw(w, oe->p, oe->len - 1);
            lint_jw_raw(w, ":", 1);
            lint_jw_raw(w, pe->p + 1, pe->len - 1);
        } else {
            sbuf *fq = &sc->fq;
            fq->n = 0;
            sb_adds(fq, oid);
            sb_adds(fq, ":");
            sb_adds(fq, f->path);
            const char *q = sb_cstr(fq);
            if (!q)
                w->oom = true;
            lint_jw_cstr(w, q);
        }
        lint_jw_lit(w, ",\"kind\":\"property\"}");
    }

    /* "%016llx:%zu", without printf (once per result). */
    char fpr[64];
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++)
        fpr[k] = hex[(hash >> (60 - 4 * k)) & 0xF];
    fpr[16] = ':';
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + occurrence % 10);
        occurrence /= 10;
    } while (occurrence);
    for (size_t k = 0; k < nd; k++)
        fpr[17 + k] = digits[nd - 1 - k];
    fpr[17 + nd] = '\0';
    lint_jw_lit(w, "]}],\"partialFingerprints\":{\"" FINGERPRINT_KEY "\":");
    lint_jw_raw(w, "\"", 1); /* hex digits, ':' and digits: nothing to escape */
    lint_jw_raw(w, fpr, 17 + nd);
    lint_jw_raw(w, "\"", 1);
    lint_jw_lit(w, "}");

    if (f->suppressed) {
        lint_jw_lit(w, ",\"suppressions\":[{\"kind\":\"inSource\"");
        if (f->suppress_reason) {
            lint_jw_lit(w, ",\"justification\":");
            lint_jw_cstr(w, f->suppress_reason);
        }
        lint_jw_lit(w, "}]");
    }

    lint_jw_lit(w, ",\"properties\":{\"path\":");
    lint_jw_raw(w, pe->p, pe->len);
    if (f->source) {
        lint_jw_lit(w, ",\"helmTemplate\":");
        lint_jw_cstr(w, f->source);
    }
    if (f->object) {
        lint_jw_raw(w, sc->ident.p, sc->ident.len);
    }
    lint_jw_lit(w, "}}");
}

/*
 * lint_finding_fingerprint for a batch, the same values computed faster. That hash is FNV-1a
 * over "rule\0apiVersion\0kind\0namespace\0name\0path\0" (its fnv1a() ends each piece
 * with the step of a NUL byte); a byte's step waits on the multiply of the byte before, so one
 * finding's hash is a chain of ~100 dependent multiplies. Here the state after each rule's id
 * is remembered, the rest of four findings is laid out flat and their four chains are stepped
 * side by side, so the multiplies overlap instead of waiting on each other.
 */
#define FNV_PRIME 0x100000001b3ull
#define FNV_BASIS 0xcbf29ce484222325ull

typedef struct fp_batch {
    struct {
        const k5_rule *rule;
        uint64_t h;
    } rules[64];          /* the state after a rule's id, by its address */
    unsigned char *flat;  /* four findings' bytes after the rule id */
    size_t cap;
} fp_batch;

static uint64_t fnv_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

static uint64_t rule_state(fp_batch *b, const k5_rule *r)
{
    const char *id = r ? r->id : NULL;
    size_t slot = ((uintptr_t)r >> 4) & 63;
    if (r && b->rules[slot].rule == r)
        return b->rules[slot].h;
    uint64_t h = fnv_bytes(FNV_BASIS, (const unsigned char *)id, lint_strlen0(id)) * FNV_PRIME;
    if (r) {
        b->rules[slot].rule = r;
        b->rules[slot].h = h;
    }
    return h;
}

static size_t flat_len(const k5_finding *f)
{
    size_t n = lint_strlen0(f->path) + 1;
    if (f->object)
        n += f->object->api_version.n + f->object->kind.n + f->object->namespace_.n +
             f->object->name.n + 4;
    return n;
}

static unsigned char *put_piece(unsigned char *p, const char *s, size_t n)
{
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p + n + 1;
}

static unsigned char *flatten(unsigned char *p, const k5_finding *f)
{
    if (f->object) {
        p = put_piece(p, f->object->api_version.p, f->object->api_version.n);
        p = put_piece(p, f->object->kind.p, f->object->kind.n);
        p = put_piece(p, f->object->namespace_.p, f->object->namespace_.n);
        p = put_piece(p, f->object->name.p, f->object->name.n);
    }
    return put_piece(p, f->path, lint_strlen0(f->path));
}

static int fingerprints(fp_batch *b, const k5_finding *f, size_t n, uint64_t *out)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        size_t len[4], total = 0;
        for (int k = 0; k < 4; k++)
            total += len[k] = flat_len(&f[i + k]);
        if (total > b->cap) {
            unsigned char *p = realloc(b->flat, total);
            if (!p)
                return -1;
            b->flat = p;
            b->cap = total;
        }
        const unsigned char *at[4];
        unsigned char *p = b->flat;
        uint64_t h[4];
        for (int k = 0; k < 4; k++) {
            at[k] = p;
            p = flatten(p, &f[i + k]);
            h[k] = rule_state(b, f[i + k].rule);
        }
        size_t common = len[0];
        for (int k = 1; k < 4; k++)
            common = len[k] < common ? len[k] : common;
        for (size_t j = 0; j < common; j++) {
            h[0] = (h[0] ^ at[0][j]) * FNV_PRIME;
            h[1] = (h[1] ^ at[1][j]) * FNV_PRIME;
            h[2] = (h[2] ^ at[2][j]) * FNV_PRIME;
            h[3] = (h[3] ^ at[3][j]) * FNV_PRIME;
        }
        for (int k = 0; k < 4; k++)
            out[i + k] = fnv_bytes(h[k], at[k] + common, len[k] - common);
    }
    for (; i < n; i++)
        out[i] = lint_finding_fingerprint(&f[i]);
    return 0;
}

/* What a sarif stream keeps between batches. */
typedef struct sarif_stream {
    char *tail;       /* the text after the results array */
    fp_seen seen;     /* fingerprints so far, for occurrence numbers */
    lint_jw w;        /* a batch's text, reused */
    uri_memo uri;     /* the last file's artifactLocation */
    scratch sc;       /* a result's message and qualified name, reused */
    uint64_t *hashes; /* a batch's fingerprints */
    size_t hcap;      /* their room */
    bool first;       /* no result written yet */
    fp_batch fpb;     /* the fingerprints' scratch */
    int fd;           /* the report's file descriptor, or -1: written through its FILE */
    bool direct;      /* the FILE's buffer was flushed before the first write(2) */
} sarif_stream;

/* Results are written in chunks of 64 KiB, each from the buffer it was rendered in by one
 * write(2), not through stdio's buffer (which copied it and wrote it in two calls). Larger
 * chunks (1-4 MiB) measured no better to a file: the chunk leaves the caches before the kernel
 * copies it into the page cache. */
#define SARIF_CHUNK (1u << 16)

/* Writes the rendered results out: straight to the descriptor when there is one (the head
 * went through the FILE, so that is flushed first), else through the FILE. */
static int sarif_flush(sarif_stream *ss, FILE *fp)
{
    if (ss->fd < 0 || ss->w.len == 0) {
        lint_jw_flush(&ss->w, fp);
        return ferror(fp) ? -1 : 0;
    }
    if (!ss->direct) {
        if (fflush(fp) != 0)
            return -1;
        ss->direct = true;
    }
    const char *p = ss->w.p;
    size_t n = ss->w.len;
    ss->w.len = 0;
    while (n) {
        ssize_t k = write(ss->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The log up to its one run's results, which is the run's last member: the rules, the
 * invocation and its load errors are all known before the first finding. */
static int sarif_open(lint_stream *s)
{
    const lint_output *o = s->o;
    sarif_stream *ss = calloc(1, sizeof *ss);
    if (!ss) {
        errno = ENOMEM;
        return -1;
    }
    ss->first = true;
    ss->fd = fileno(o->fp);
    s->state = ss;
    bool oom = false;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        oom = true;

    lint_json_str(root, "$schema", SARIF_SCHEMA, &oom);
    lint_json_str(root, "version", "2.1.0", &oom);
    cJSON *run = lint_json_obj(lint_json_arr(root, "runs", &oom), NULL, &oom);

    cJSON *driver = lint_json_obj(lint_json_obj(run, "tool", &oom), "driver", &oom);
    lint_json_str(driver, "name", "kube5xx", &oom);
    lint_json_str(driver, "version", KUBE5XX_VERSION, &oom);
    lint_json_str(driver, "semanticVersion", KUBE5XX_VERSION, &oom);
    lint_json_str(driver, "informationUri", LINT_INFORMATION_URI, &oom);
    cJSON *rules = lint_json_arr(driver, "rules", &oom);
    for (size_t i = 0; i < k5_rule_count() && !oom; i++)
        add_rule(rules, k5_rule_at(i), &oom);

    if (o->srcroot) {
        /* Where %SRCROOT% is: the repository root, as an absolute file URI ending in '/'. */
        sbuf u = {0};
        sb_adds(&u, "file://");
        add_encoded(&u, o->srcroot, strlen(o->srcroot));
        sb_add(&u, "/", 1);
        const char *us = sb_cstr(&u);
        if (!us)
            oom = true;
        cJSON *bases = lint_json_obj(run, "originalUriBaseIds", &oom);
        lint_json_str(lint_json_obj(bases, "%SRCROOT%", &oom), "uri", us ? us : "", &oom);
        free(u.p);
    }
    cJSON *inv = lint_json_obj(lint_json_arr(run, "invocations", &oom), NULL, &oom);
    lint_json_bool(inv, "executionSuccessful", o->nerrors == 0, &oom);
    if (o->nerrors > 0) {
        cJSON *notes = lint_json_arr(inv, "toolExecutionNotifications", &oom);
        for (size_t i = 0; i < o->nerrors && !oom; i++) {
            const lint_load_error *e = &o->errors[i];
            cJSON *nj = lint_json_obj(notes, NULL, &oom);
            lint_json_str(nj, "level", "error", &oom);
            lint_json_str(lint_json_obj(nj, "message", &oom), "text", e->message, &oom);
            cJSON *locs = lint_json_arr(nj, "locations", &oom);
            add_physical_location(o, lint_json_obj(locs, NULL, &oom), e->file, e->line,
                                  e->column, &oom);
        }
    }

    /* The engine counts columns in characters, not bytes or UTF-16 units. */
    lint_json_str(run, "columnKind", "unicodeCodePoints", &oom);

    cJSON *results = lint_json_arr(run, "results", &oom);
    char *head = NULL;
    if (lint_json_split(root, results, true, oom, &head, &ss->tail) != 0)
        return -1;
    errno = 0;
    fputs(head, o->fp);
    free(head);
    return ferror(o->fp) ? -1 : 0;
}

static int sarif_findings(lint_stream *s, const k5_finding *f, size_t n)
{
    sarif_stream *ss = s->state;
    const lint_output *o = s->o;
    ss->sc.obj_valid = false; /* the last batch's objects may be gone */
    /* The batch's fingerprints first, room in the set for all of them, then each one's slot
     * fetched a few findings ahead of its count: on a large report the set is far bigger
     * than the caches and a count waited on memory. Hints only: the counts are the same. */
    if (n > ss->hcap) {
        uint64_t *h = realloc(ss->hashes, n * sizeof *h);
        if (!h) {
            errno = ENOMEM;
            return -1;
        }
        ss->hashes = h;
        ss->hcap = n;
    }
    if (fingerprints(&ss->fpb, f, n, ss->hashes) != 0) {
        errno = ENOMEM;
        return -1;
    }
    while (ss->seen.len + n > ss->seen.cap - ss->seen.cap / 8 || !ss->seen.cap) {
        if (!fp_grow(&ss->seen)) {
            errno = ENOMEM;
            return -1;
        }
    }
    enum { AHEAD = 8 };
    for (size_t i = 0; i < n && i < AHEAD; i++)
        __builtin_prefetch(&ss->seen.set[fp_slot(ss->hashes[i], ss->seen.cap)]);
    for (size_t i = 0; i < n && !ss->w.oom; i++) {
        if (i + AHEAD < n)
            __builtin_prefetch(&ss->seen.set[fp_slot(ss->hashes[i + AHEAD], ss->seen.cap)]);
        uint64_t hash = ss->hashes[i];
        size_t occurrence = fp_bump(&ss->seen, hash);
        if (!occurrence) {
            ss->w.oom = true;
            break;
        }
        if (!ss->first)
            lint_jw_raw(&ss->w, ",\n", 2);
        ss->first = false;
        add_result(o, &ss->w, &f[i], hash, occurrence, o->cluster, &ss->uri, &ss->sc);
        if (ss->w.len >= SARIF_CHUNK && sarif_flush(ss, o->fp) != 0)
            return -1;
    }
    if (ss->w.oom) {
        errno = ENOMEM;
        return -1;
    }
    /* Without a descriptor, each batch goes to the FILE as before; with one, what is left
     * waits for the next batch or the close. */
    if (ss->fd < 0)
        return sarif_flush(ss, o->fp);
    return 0;
}

static int sarif_close(lint_stream *s, k5_summary sum)
{
    (void)sum;
    sarif_stream *ss = s->state;
    errno = 0;
    if (sarif_flush(ss, s->o->fp) != 0)
        return -1;
    fputs(ss->tail, s->o->fp);
    return lint_output_finish(s->o->fp);
}

static void sarif_free(lint_stream *s)
{
    sarif_stream *ss = s->state;
    if (ss) {
        free(ss->tail);
        fp_seen_free(&ss->seen);
        free(ss->w.p);
        free(ss->uri.text.p);
        free(ss->sc.msg.p);
        free(ss->sc.fq.p);
        free(ss->sc.path.p);
        free(ss->sc.oid_esc.p);
        free(ss->sc.resource.p);
        free(ss->sc.ident.p);
        free(ss->sc.msg_obj.p);
        for (size_t i = 0; i < 64; i++)
            free(ss->sc.heads[i].text.p);
        free(ss->hashes);
        free(ss->fpb.flat);
    }
    free(ss);
    s->state = NULL;
}

int lint_output_sarif(const lint_output *o)
{
    return lint_stream_report(o, &lint_sarif_ops);
}

const lint_stream_ops lint_sarif_ops = {"sarif",        lint_output_sarif, sarif_open,
                                        sarif_findings, sarif_close,       sarif_free};
