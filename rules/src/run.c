/*
 * The run loop: kind matching, exemptions, suppression, severity overrides,
 * parameters and positions are all handled here, once, for every rule.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k5_index.h"

struct k5_report {
    k5__arena arena;
    k5__vec findings; /* k5_finding */
    k5_summary sum;
};

/* What kube5xx/ignore on the object or its pod template says. */
typedef struct suppression {
    const k5_node *lists[2];
    const k5_node *reasons[2];
} suppression;

/*
 * The index, built the first time a check asks for it: most single-object
 * rules never do, and the webhook (one object, single-object rules only)
 * then skips building seven hash maps per review.
 */
typedef struct lazy_index {
    const k5_docset *set;
    k5_index *idx;
    k5_status st;  /* K5_ENOMEM once building it failed: the run fails */
    unsigned jobs; /* threads the build may use */
} lazy_index;

/* Per object, what several rules ask alike (k5__check_serving_get). */
typedef struct check_memo {
    bool serving_known;
    bool twin_known, twin_copies;
    k5__serving serving;
    const k5_object *twin;
} check_memo;

struct k5_check {
    const k5_rule *rule;
    size_t rule_index; /* in the registry */
    k5_severity severity;
    const k5_config *cfg;
    lazy_index *lz;
    const k5_docset *set;
    const k5_object *obj;
    k5_report *rep;
    const suppression *sup;
    size_t obj_findings;
    check_memo *memo; /* NULL: nothing is remembered */
    /* A dry run (k5__check_dry_begin): reports are counted in dry_hits, not kept. */
    bool dry;
    size_t dry_hits;
};

void k5__check_dry_begin(k5_check *c)
{
    c->dry = true;
    c->dry_hits = 0;
}

bool k5__check_dry_end(k5_check *c)
{
    c->dry = false;
    return c->dry_hits != 0;
}

bool k5__check_serving_get(const k5_check *c, const k5_object *obj, k5__serving *out)
{
    if (!c || !c->memo || obj != c->obj || !c->memo->serving_known)
        return false;
    *out = c->memo->serving;
    return true;
}

void k5__check_serving_put(const k5_check *c, const k5_object *obj, const k5__serving *s)
{
    if (!c || !c->memo || obj != c->obj)
        return;
    c->memo->serving = *s;
    c->memo->serving_known = true;
}

bool k5__check_twin_get(const k5_check *c, const k5_object *obj, const k5_object **copy,
                        bool *copies)
{
    if (!c || !c->memo || obj != c->obj || !c->memo->twin_known)
        return false;
    *copy = c->memo->twin;
    *copies = c->memo->twin_copies;
    return true;
}

void k5__check_twin_put(const k5_check *c, const k5_object *obj, const k5_object *copy,
                        bool copies)
{
    if (!c || !c->memo || obj != c->obj)
        return;
    c->memo->twin = copy;
    c->memo->twin_copies = copies;
    c->memo->twin_known = true;
}

#define K5_ANNOTATION_IGNORE "kube5xx/ignore"
#define K5_ANNOTATION_IGNORE_REASON "kube5xx/ignore-reason"

bool k5_check_from_cluster(const k5_check *c, const k5_object *o)
{
    return o->file < c->set->files.len && K5__VEC_AT(&c->set->files, k5__file, o->file).cluster;
}

int64_t k5_check_param(const k5_check *c, size_t i)
{
    return i < k5_rule_nparams(c->rule) ? k5__config_param_at(c->cfg, c->rule_index, i) : 0;
}

const char *k5_check_param_names(const k5_check *c, size_t i)
{
    return i < k5_rule_nparams(c->rule) ? k5__config_names_at(c->cfg, c->rule_index, i) : NULL;
}

const char *k5_check_param_names_of(const k5_check *c, const k5_rule *owner, size_t i)
{
    return k5_config_param_names(c->cfg, owner, i);
}

int64_t k5_check_param_of(const k5_check *c, const k5_rule *owner, size_t i)
{
    return k5_config_param(c->cfg, owner, i);
}

const k5_index *k5_check_index(const k5_check *c)
{
    /* Handed out when building failed: it finds nothing, and k5_run reports the failure. */
    static const k5_index empty;
    lazy_index *lz = c->lz;
    if (!lz->idx && lz->st == K5_OK)
        lz->st = k5__index_build(&lz->idx, lz->set, lz->jobs);
    return lz->idx ? lz->idx : &empty;
}

bool k5_check_alone(const k5_check *c)
{
    return k5_docset_object_count(c->set) <= 1;
}

/* True when the comma-separated list names the rule id. */
static bool list_names(const k5_node *list, const char *id)
{
    k5_str s = k5_node_str(list);
    size_t idn = strlen(id);
    size_t i = 0;
    while (i < s.n) {
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == ','))
            i++;
        size_t b = i;
        while (i < s.n && s.p[i] != ',')
            i++;
        size_t e = i;
        while (e > b && s.p[e - 1] == ' ')
            e--;
        if (e - b == idn && memcmp(s.p + b, id, idn) == 0)
            return true;
    }
    return false;
}

static const k5_node *suppressed_by(const suppression *sup, const char *id, const k5_node **reason)
{
    for (int i = 0; i < 2; i++)
        if (sup->lists[i] && list_names(sup->lists[i], id)) {
            *reason = sup->reasons[i];
            return sup->lists[i];
        }
    return NULL;
}

bool k5_check_inputs_failed(const k5_check *c)
{
    return k5_docset_files_ok(c->set) < k5_docset_file_count(c->set);
}

static bool text_has(const char *buf, size_t len, k5_str w)
{
    if (!w.n || w.n > len)
        return w.n == 0;
    for (size_t i = 0; i + w.n <= len; i++)
        if (buf[i] == w.p[0] && memcmp(buf + i, w.p, w.n) == 0)
            return true;
    return false;
}

bool k5_check_failed_input_mentions(const k5_check *c, const k5_str *words, size_t n)
{
    if (!k5_check_inputs_failed(c))
        return false;
    for (size_t f = 0; f < c->set->files.len; f++) {
        const k5__file *file = &K5__VEC_AT(&c->set->files, k5__file, f);
        if (file->ok || !file->buf)
            continue;
        size_t i = 0;
        while (i < n && text_has(file->buf, file->len, words[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

bool k5_check_object_full(const k5_check *c)
{
    return c->obj_findings >= K5_MAX_FINDINGS_PER_OBJECT;
}

/* A message as vsnprintf(out, cap, ...) writes it (truncated the same way), for what the rules'
 * messages use: %s, %.*s, %lld, %zu and %%. Anything else (a flag, a width, another
 * conversion, a NULL string) returns false and the caller gives the message to vsnprintf.
 * glibc's printf was ~15% of a lint's instructions on a large input: one message a finding.
 * k5__format_msg is not static only so that test_format_msg can hold it to snprintf. */
typedef struct msg_out {
    char *p;
    size_t cap, n; /* n: the length vsnprintf would return */
} msg_out;

static void msg_put(msg_out *m, const char *s, size_t n)
{
    /* n + 1 < cap, not n < cap - 1: a cap of 0 writes nothing, as vsnprintf(out, 0) does. */
    if (m->n + 1 < m->cap) {
        size_t room = m->cap - 1 - m->n;
        memcpy(m->p + m->n, s, n < room ? n : room);
    }
    m->n += n;
}

static void msg_unsigned(msg_out *m, unsigned long long u, bool negative)
{
    char buf[24], *e = buf + sizeof buf, *d = e;
    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative)
        *--d = '-';
    msg_put(m, d, (size_t)(e - d));
}

static bool format_n(char *out, size_t cap, const char *fmt, va_list ap, size_t *len)
{
    msg_out m = {out, cap, 0};
    const char *f = fmt;
    while (*f) {
        const char *pct = strchr(f, '%');
        if (!pct) {
            msg_put(&m, f, strlen(f));
            break;
        }
        msg_put(&m, f, (size_t)(pct - f));
        f = pct + 1;
        if (f[0] == '%') {
            msg_put(&m, "%", 1);
            f++;
        } else if (f[0] == 's') {
            const char *str = va_arg(ap, const char *);
            if (!str)
                return false;
            msg_put(&m, str, strlen(str));
            f++;
        } else if (f[0] == '.' && f[1] == '*' && f[2] == 's') {
            int prec = va_arg(ap, int);
            const char *str = va_arg(ap, const char *);
            if (!str || prec < 0)
                return false;
            msg_put(&m, str, strnlen(str, (size_t)prec));
            f += 3;
        } else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'd') {
            long long v = va_arg(ap, long long);
            msg_unsigned(&m, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0);
            f += 3;
        } else if (f[0] == 'z' && f[1] == 'u') {
            msg_unsigned(&m, va_arg(ap, size_t), false);
            f += 2;
        } else {
            return false;
        }
    }
    if (cap)
        out[m.n < cap - 1 ? m.n : cap - 1] = '\0';
    *len = m.n;
    return true;
}

bool k5__format_msg(char *out, size_t cap, const char *fmt, va_list ap)
{
    size_t len;
    return format_n(out, cap, fmt, ap, &len);
}

int k5__snprintf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    size_t len;
    int n;
    if (format_n(out, cap, fmt, again, &len) && len <= INT_MAX)
        n = (int)len;
    else
        n = vsnprintf(out, cap, fmt, ap);
    va_end(again);
    va_end(ap);
    return n;
}

static k5_status report_v(k5_check *c, k5_severity max, bool absence, const k5_node *at,
                          const char *missing, const char *fmt, va_list ap)
{
    if (c->dry) {
        c->dry_hits++; /* whatever the cap: the question is whether the check would report */
        return K5_OK;
    }
    if (c->obj_findings >= K5_MAX_FINDINGS_PER_OBJECT)
        return K5_OK;
    k5_report *r = c->rep;
    char msg[1024];
    va_list again;
    va_copy(again, ap);
    if (!k5__format_msg(msg, sizeof msg, fmt, again))
        vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(again);

    char path[1024];
    const k5_node *key = NULL;
    bool unique = c->obj->file < c->set->files.len &&
                  K5__VEC_AT(&c->set->files, k5__file, c->obj->file).tree_unique;
    if (!at || !k5__node_path(c->obj->root, at, unique, path, sizeof path, &key)) {
        path[0] = '\0';
        at = at ? at : c->obj->root;
    }
    if (missing) {
        size_t len = strlen(path);
        /* snprintf(path + len, sizeof path - len, "%s%s", len ? "." : "", missing) */
        msg_out m = {path + len, sizeof path - len, 0};
        if (len)
            msg_put(&m, ".", 1);
        msg_put(&m, missing, strlen(missing));
        path[len + (m.n < m.cap - 1 ? m.n : m.cap - 1)] = '\0';
    }
    /* A field missing from a map is reported at the map's own key (`lifecycle:`), which is
     * where a person looks; a map's node starts at its first child. A list item (a container)
     * is reported where the item starts. */
    const k5_node *shown = missing && key && k5_node_is_map(at) && key->pos ? key : at;
    k5_position pos = k5_docset_position(c->set, c->obj->file, shown);
    if (!pos.line)
        pos = k5_docset_position(c->set, c->obj->file, c->obj->root);

    k5_finding f;
    memset(&f, 0, sizeof f);
    f.rule = c->rule;
    f.severity = c->severity < max ? c->severity : max;
    f.message = k5__arena_strndup(&r->arena, msg, strlen(msg));
    f.path = k5__arena_strndup(&r->arena, path, strlen(path));
    f.file = k5_docset_file_name(c->set, c->obj->file);
    f.line = pos.line;
    f.column = pos.column;
    if (c->obj->source.p)
        f.source = k5__arena_strndup(&r->arena, c->obj->source.p, c->obj->source.n);
    f.object = c->obj;
    f.absence = absence;
    const k5_node *reason = NULL;
    if (suppressed_by(c->sup, c->rule->id, &reason)) {
        f.suppressed = true;
        if (reason) {
            k5_str rs = k5_node_str(reason);
            f.suppress_reason = k5__arena_strndup(&r->arena, rs.p ? rs.p : "", rs.n);
        }
    }
    if (!f.message || !f.path || (c->obj->source.p && !f.source))
        return K5_ENOMEM;
    if (!k5__vec_push(&r->findings, &f))
        return K5_ENOMEM;
    c->obj_findings++;
    if (f.suppressed)
        r->sum.suppressed++;
    else if (f.severity == K5_SEV_ERROR)
        r->sum.errors++;
    else if (f.severity == K5_SEV_WARNING)
        r->sum.warnings++;
    else
        r->sum.infos++;
    return K5_OK;
}

k5_status k5_check_report(k5_check *c, const k5_node *at, const char *missing, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    k5_status st = report_v(c, K5_SEV_ERROR, false, at, missing, fmt, ap);
    va_end(ap);
    return st;
}

k5_status k5_check_report_capped(k5_check *c, k5_severity max, const k5_node *at,
                                 const char *missing, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    k5_status st = report_v(c, max, false, at, missing, fmt, ap);
    va_end(ap);
    return st;
}

k5_status k5_check_report_absence(k5_check *c, k5_severity max, const k5_node *at,
                                  const char *missing, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    k5_status st = report_v(c, max, true, at, missing, fmt, ap);
    va_end(ap);
    return st;
}

const k5_node *k5__path_at(const k5_node *from, const char *path, const char **missing)
{
    const k5_node *n = from;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const k5_node *next = k5_map_getn(n, p, len);
        /* An explicit null is as absent as a missing key (the API server drops it). */
        if (!next || k5_node_kind(next) == K5_NODE_NULL || (dot && !k5_node_is_map(next)))
            break;
        n = next;
        p += len + (dot ? 1 : 0);
    }
    if (missing)
        *missing = *p ? p : NULL;
    return n;
}

k5_status k5__report_at_path(k5_check *c, const k5_node *from, const char *path,
                             const char *fmt, ...)
{
    const char *missing;
    const k5_node *at = k5__path_at(from, path, &missing);
    va_list ap;
    va_start(ap, fmt);
    k5_status st = report_v(c, K5_SEV_ERROR, false, at, missing, fmt, ap);
    va_end(ap);
    return st;
}

static int cmp_finding(const void *a, const void *b)
{
    const k5_finding *x = a, *y = b;
    if (x->object->file != y->object->file)
        return x->object->file < y->object->file ? -1 : 1;
    if (x->object->index != y->object->index)
        return x->object->index < y->object->index ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    int c = strcmp(x->rule->id, y->rule->id);
    if (c)
        return c;
    c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->message, y->message);
}

/*
 * Sorts a report's findings as qsort with cmp_finding does. The rules append them object by
 * object, and objects come in order, so each object's own run is sorted here (a few findings:
 * by insertion, stable as glibc's merge sort is) and a linear pass then confirms the whole;
 * only an array out of order across objects goes to qsort. qsort of every slice's ~1,000
 * findings (strcmp of ids, paths and messages) was 7% of a lint of the JSON List.
 */
static void sort_findings(k5_finding *f, size_t n, size_t from)
{
    if (n - from > 16) {
        qsort(f + from, n - from, sizeof *f, cmp_finding);
        return;
    }
    for (size_t i = from + 1; i < n; i++) {
        k5_finding x = f[i];
        size_t j = i;
        for (; j > from && cmp_finding(&f[j - 1], &x) > 0; j--)
            f[j] = f[j - 1];
        if (j != i)
            f[j] = x;
    }
}

static void sort_report(k5__vec *findings)
{
    k5_finding *f = findings->data;
    for (size_t i = 1; i < findings->len; i++)
        if (cmp_finding(&f[i - 1], &f[i]) > 0) {
            qsort(f, findings->len, sizeof *f, cmp_finding);
            return;
        }
}

/*
 * A bare Pod that runs to completion (restartPolicy Never or OnFailure: a `helm test` hook,
 * a test fixture, a one-off task) serves nothing and is gone once it ends: no rule judges it
 * (docs/accuracy.md). Pods default to Always.
 */
static bool one_shot_pod(const k5_object *obj)
{
    if (obj->kind_id != K5_KIND_POD)
        return false;
    const k5_node *rp = k5_map_get(obj->pod_spec, "restartPolicy");
    return k5_node_is(rp, "Never") || k5_node_is(rp, "OnFailure");
}

/* Runs the rules over objects [from, to) into r; stops at the first failure. */
static k5_status run_objects(const k5_docset *set, const k5_config *cfg, unsigned flags,
                             lazy_index *lz, k5_report *r, size_t from, size_t to)
{
    k5_status st = K5_OK;
    size_t nr = k5_rule_count();
    for (size_t o = from; o < to && st == K5_OK; o++) {
        const k5_object *obj = k5_docset_object(set, o);
        if (k5_config_exempt(cfg, obj) || one_shot_pod(obj))
            continue;
        suppression sup = {{k5_map_get(obj->annotations, K5_ANNOTATION_IGNORE),
                            k5_map_get(obj->pod_annotations, K5_ANNOTATION_IGNORE)},
                           {k5_map_get(obj->annotations, K5_ANNOTATION_IGNORE_REASON),
                            k5_map_get(obj->pod_annotations, K5_ANNOTATION_IGNORE_REASON)}};
        check_memo memo = {false, false, false, {false, false, 0, NULL, 0}, NULL};
        k5_check c = {NULL, 0, K5_SEV_OFF, cfg, lz, set, obj, r, &sup, 0, &memo, false, 0};
        size_t first = r->findings.len;
        for (size_t i = 0; i < nr && st == K5_OK; i++) {
            const k5_rule *rule = k5_rule_at(i);
            k5_severity sev = k5__config_severity_at(cfg, i);
            if (sev == K5_SEV_OFF || !(rule->kinds & obj->kind_id))
                continue;
            if ((flags & K5_RUN_SINGLE_ONLY) && rule->scope == K5_SCOPE_CROSS)
                continue;
            if ((flags & K5_RUN_PARTNERS_CROSS_ONLY) && o > 0 && rule->scope != K5_SCOPE_CROSS &&
                !rule->on_partners)
                continue;
            c.rule = rule;
            c.rule_index = i;
            c.severity = sev;
            st = rule->check(&c, obj);
            if (st == K5_OK)
                st = lz->st;
        }
        if (r->findings.len - first > 1)
            sort_findings(r->findings.data, r->findings.len, first);
    }
    return st;
}

/*
 * Several threads: the objects are cut into slices of k5__run_slice, taken in turn by the
 * threads, each slice reporting into its own report. The slices' findings are then joined in
 * slice order, which is the order one thread appends them in (object by object), so the sort
 * below sees the same array and the report is the one-thread report, byte for byte.
 *
 * Streaming (k5_run_each), on one thread or several: each slice's findings are sorted on
 * their own and handed to the sink in slice order, then freed. A slice is a range of
 * consecutive objects and every finding belongs to the object being checked, so when the
 * objects' files never go back (the loader appends them file by file) every finding of a
 * slice sorts before every finding of the next: slice order plus a sort per slice is the
 * report's order. Otherwise the whole run is one slice.
 */
size_t k5__run_slice = 256;

typedef struct run_slice {
    k5_report rep;
    k5_status st;
    bool done; /* streaming: finished and sorted, waiting for its turn */
} run_slice;

typedef struct run_crew {
    const k5_docset *set;
    const k5_config *cfg;
    unsigned flags;
    lazy_index *lz;
    run_slice *slices;
    size_t nobj, nslices, per; /* objects, slices, objects per slice */
    _Atomic size_t next;
    _Atomic bool failed;
    /* Streaming only: the sink, and under `mu` the slices handed to it so far. */
    k5_finding_sink sink;
    void *ctx;
    pthread_mutex_t mu;
    size_t emitted;
    bool sink_stopped;
    k5_summary sum;
} run_crew;

static void slice_free(run_slice *sl)
{
    k5__vec_free(&sl->rep.findings);
    k5__arena_free(&sl->rep.arena);
}

/* A finished slice (streaming): sorted here, then it and every finished slice after it hand
 * their findings to the sink while the slices before them are all handed over. The sink runs
 * under the lock on purpose: a thread that finishes a slice while another is in the sink waits
 * for it, and that is what keeps finished slices from piling up when the sink is slower than
 * the rules. Run outside the lock (one emitter at a time), the 63 MiB JSON List in sarif at
 * --jobs 2 peaked at 290-314 MiB instead of 245 (4.5-4.9x its bytes instead of 3.8-3.9x). */
static void emit(run_crew *w, size_t s)
{
    run_slice *sl = &w->slices[s];
    if (sl->st == K5_OK)
        sort_report(&sl->rep.findings);
    pthread_mutex_lock(&w->mu);
    sl->done = true;
    while (w->emitted < w->nslices && w->slices[w->emitted].done) {
        run_slice *e = &w->slices[w->emitted];
        if (e->st == K5_OK && !w->sink_stopped) {
            if (e->rep.findings.len &&
                w->sink(w->ctx, e->rep.findings.data, e->rep.findings.len) != 0) {
                w->sink_stopped = true;
                atomic_store(&w->failed, true);
            } else {
                w->sum.errors += e->rep.sum.errors;
                w->sum.warnings += e->rep.sum.warnings;
                w->sum.infos += e->rep.sum.infos;
                w->sum.suppressed += e->rep.sum.suppressed;
            }
        }
        slice_free(e);
        w->emitted++;
    }
    pthread_mutex_unlock(&w->mu);
}

static void *run_crew_main(void *arg)
{
    run_crew *w = arg;
    for (;;) {
        size_t s = atomic_fetch_add(&w->next, 1);
        if (s >= w->nslices || atomic_load(&w->failed))
            break;
        run_slice *sl = &w->slices[s];
        size_t from = s * w->per;
        size_t to = from + w->per < w->nobj ? from + w->per : w->nobj;
        sl->rep.findings.elem = sizeof(k5_finding);
        sl->st = run_objects(w->set, w->cfg, w->flags, w->lz, &sl->rep, from, to);
        if (sl->st != K5_OK)
            atomic_store(&w->failed, true);
        if (w->sink)
            emit(w, s);
    }
    return NULL;
}

/* Runs the crew on this thread and up to jobs - 1 more; the index is built first when
 * several threads share it (its indexes across namespaces are built under a lock on first
 * use, index.c). Returns the first failing slice's status, as one thread stops there. */
static k5_status run_crew_go(run_crew *w, unsigned jobs)
{
    if (jobs > K5_MAX_JOBS)
        jobs = K5_MAX_JOBS;
    if (jobs > w->nslices)
        jobs = w->nslices ? (unsigned)w->nslices : 1;
    if (jobs > 1) {
        k5_check probe = {NULL, 0, K5_SEV_OFF, w->cfg, w->lz, w->set, NULL, NULL, NULL, 0, NULL, false, 0};
        (void)k5_check_index(&probe);
        if (w->lz->st != K5_OK)
            return w->lz->st;
    }
    pthread_t th[K5_MAX_JOBS];
    unsigned started = 0;
    for (unsigned t = 1; t < jobs; t++)
        if (pthread_create(&th[started], NULL, run_crew_main, w) == 0)
            started++;
    run_crew_main(w);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t s = 0; s < w->nslices; s++)
        if (w->slices[s].st != K5_OK)
            return w->slices[s].st;
    return K5_OK;
}

static k5_status run_threads(const k5_docset *set, const k5_config *cfg, unsigned flags,
                             lazy_index *lz, k5_report *r, size_t nobj, unsigned jobs)
{
    size_t per = k5__run_slice;
    run_crew w = {set,  cfg,   flags, lz,   NULL, nobj, (nobj + per - 1) / per,
                  per,  0,     false, NULL, NULL, PTHREAD_MUTEX_INITIALIZER,
                  0,    false, {0, 0, 0, 0, 0, 0}};
    w.slices = calloc(w.nslices, sizeof *w.slices);
    if (!w.slices)
        return K5_ENOMEM;
    k5_status st = run_crew_go(&w, jobs);
    /* Joined in slice order. */
    for (size_t s = 0; s < w.nslices; s++) {
        k5_report *sl = &w.slices[s].rep;
        if (st == K5_OK && sl->findings.len) {
            size_t need = r->findings.len + sl->findings.len;
            if (need > r->findings.cap) {
                size_t ncap = r->findings.cap ? r->findings.cap : 64;
                while (ncap < need)
                    ncap *= 2;
                void *nd = realloc(r->findings.data, ncap * sizeof(k5_finding));
                if (!nd)
                    st = K5_ENOMEM;
                else {
                    r->findings.data = nd;
                    r->findings.cap = ncap;
                }
            }
            if (st == K5_OK) {
                memcpy((k5_finding *)r->findings.data + r->findings.len, sl->findings.data,
                       sl->findings.len * sizeof(k5_finding));
                r->findings.len = need;
                r->sum.errors += sl->sum.errors;
                r->sum.warnings += sl->sum.warnings;
                r->sum.infos += sl->sum.infos;
                r->sum.suppressed += sl->sum.suppressed;
            }
        }
        k5__vec_free(&sl->findings);
        k5__arena_adopt(&r->arena, &sl->arena);
    }
    free(w.slices);
    return st;
}

/* Without a config, the defaults: made once so that checks read parameters from arrays
 * instead of parsing default strings on every call. */
static k5_status config_or_defaults(const k5_config **cfg, k5_config **defaults, k5_error *err)
{
    *defaults = NULL;
    if (*cfg)
        return K5_OK;
    if (k5_config_new(defaults) != K5_OK) {
        k5__err(err, NULL, 0, 0, "out of memory");
        return K5_ENOMEM;
    }
    *cfg = *defaults;
    return K5_OK;
}

/* The run's status into err (the index's failure first: a run cannot go on without it). */
static k5_status run_status(k5_status st, const lazy_index *lz, k5_error *err)
{
    if (lz->st != K5_OK) {
        k5__err(err, NULL, 0, 0, "out of memory while indexing");
        return lz->st;
    }
    if (st != K5_OK)
        k5__err(err, NULL, 0, 0, "%s while running the rules", k5_status_str(st));
    return st;
}

k5_status k5_run_each(const k5_docset *set, const k5_config *cfg, unsigned flags, unsigned jobs,
                      k5_finding_sink sink, void *ctx, k5_summary *sum, k5_error *err)
{
    k5_config *defaults;
    k5_status st = config_or_defaults(&cfg, &defaults, err);
    if (st != K5_OK)
        return st;
    lazy_index lz = {set, NULL, K5_OK, jobs};
    size_t nobj = k5_docset_object_count(set);
    size_t per = k5__run_slice;
    for (size_t o = 1; o < nobj && per < nobj; o++)
        if (k5_docset_object(set, o)->file < k5_docset_object(set, o - 1)->file)
            per = nobj;
    run_crew w = {set, cfg, flags, &lz, NULL, nobj, nobj ? (nobj + per - 1) / per : 0, per,
                  0, false, sink, ctx, PTHREAD_MUTEX_INITIALIZER, 0, false, {0, 0, 0, 0, 0, 0}};
    if (w.nslices && !(w.slices = calloc(w.nslices, sizeof *w.slices)))
        st = K5_ENOMEM;
    /* Threads pay off only with enough objects to share. */
    if (st == K5_OK)
        st = run_crew_go(&w, nobj >= 2 * k5__run_slice ? jobs : 1);
    for (size_t s = w.emitted; s < w.nslices; s++)
        slice_free(&w.slices[s]);
    free(w.slices);
    pthread_mutex_destroy(&w.mu);
    k5__index_free(&lz.idx);
    k5_config_free(&defaults);
    if (st == K5_OK && w.sink_stopped) {
        k5__err(err, NULL, 0, 0, "the findings could not be written");
        return K5_EINVAL;
    }
    st = run_status(st, &lz, err);
    if (st != K5_OK)
        return st;
    w.sum.files = k5_docset_files_ok(set);
    w.sum.objects = nobj;
    *sum = w.sum;
    return K5_OK;
}

k5_status k5_run_jobs(const k5_docset *set, const k5_config *cfg, unsigned flags, unsigned jobs,
                      k5_report **out, k5_error *err)
{
    k5_report *r = calloc(1, sizeof *r);
    if (!r)
        return K5_ENOMEM;
    r->findings.elem = sizeof(k5_finding);
    k5_config *defaults;
    k5_status st = config_or_defaults(&cfg, &defaults, err);
    if (st != K5_OK) {
        free(r);
        return st;
    }
    lazy_index lz = {set, NULL, K5_OK, jobs};
    size_t nobj = k5_docset_object_count(set);
    /* Threads pay off only with enough objects to share; the webhook runs one thread. */
    if (jobs > 1 && nobj >= 2 * k5__run_slice)
        st = run_threads(set, cfg, flags, &lz, r, nobj, jobs);
    else
        st = run_objects(set, cfg, flags, &lz, r, 0, nobj);
    k5__index_free(&lz.idx);
    k5_config_free(&defaults);
    st = run_status(st, &lz, err);
    if (st != K5_OK) {
        k5_report_free(&r);
        return st;
    }
    sort_report(&r->findings);
    r->sum.files = k5_docset_files_ok(set);
    r->sum.objects = nobj;
    *out = r;
    return K5_OK;
}

k5_status k5_run(const k5_docset *set, const k5_config *cfg, unsigned flags, k5_report **out,
                 k5_error *err)
{
    return k5_run_jobs(set, cfg, flags, 1, out, err);
}

void k5_report_free(k5_report **report)
{
    if (!report || !*report)
        return;
    k5__vec_free(&(*report)->findings);
    k5__arena_free(&(*report)->arena);
    free(*report);
    *report = NULL;
}

size_t k5_report_count(const k5_report *r)
{
    return r ? r->findings.len : 0;
}

const k5_finding *k5_report_at(const k5_report *r, size_t i)
{
    return r && i < r->findings.len ? &K5__VEC_AT(&r->findings, k5_finding, i) : NULL;
}

k5_summary k5_report_summary(const k5_report *r)
{
    k5_summary s = {0, 0, 0, 0, 0, 0};
    return r ? r->sum : s;
}
