/*
 * kube5xx-webhook: Prometheus metrics.
 *
 * Plain counters are C11 atomics. Labelled counters live in small families
 * (a few dozen series in practice) behind one mutex each; a lookup is a hash
 * compare over a short array, far below the cost of a TLS record.
 */
#include "wh_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 3

typedef struct series {
    uint64_t hash;
    uint64_t value;
    char labels[MAX_LABELS][WH_METRICS_LABEL_MAX];
} series;

typedef struct family {
    const char *name;
    const char *help;
    const char *keys[MAX_LABELS];
    size_t nkeys;
    pthread_mutex_t mu;
    series *s;
    size_t n, cap;
} family;

/* Upper bounds of the duration histogram, in nanoseconds (100 us to 1 s). */
static const int64_t k_bounds_ns[] = {100000,   200000,    500000,    1000000,   2000000,
                                      5000000,  10000000,  20000000,  50000000,  100000000,
                                      200000000, 500000000, 1000000000};
#define NBOUNDS (sizeof k_bounds_ns / sizeof k_bounds_ns[0])

struct wh_metrics {
    family requests;
    family findings;
    family http_errors;
    _Atomic uint64_t buckets[NBOUNDS + 1]; /* last one is +Inf */
    _Atomic uint64_t duration_count;
    _Atomic uint64_t duration_sum_ns;
    _Atomic int64_t in_flight;
    _Atomic int64_t cert_expiry;
    _Atomic uint64_t config_ok, config_fail;
    _Atomic uint64_t cert_ok, cert_fail;
    wh_metrics_source_fn source; /* more families (the cluster cache's), or NULL */
    void *source_ud;
};

static void family_init(family *f, const char *name, const char *help, const char *k0,
                        const char *k1, const char *k2)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    f->help = help;
    f->keys[0] = k0;
    f->keys[1] = k1;
    f->keys[2] = k2;
    f->nkeys = k2 ? 3 : k1 ? 2 : 1;
    pthread_mutex_init(&f->mu, NULL);
}

static void family_destroy(family *f)
{
    pthread_mutex_destroy(&f->mu);
    free(f->s);
    f->s = NULL;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (h ^ 0xff) * 1099511628211ull;
}

/* Copies a label value, cut to the label cap; NULL becomes "". */
static void label_copy(char *dst, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= WH_METRICS_LABEL_MAX)
        n = WH_METRICS_LABEL_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void family_add(family *f, const char *v0, const char *v1, const char *v2)
{
    char vals[MAX_LABELS][WH_METRICS_LABEL_MAX];
    const char *in[MAX_LABELS] = {v0, v1, v2};
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < f->nkeys; i++) {
        label_copy(vals[i], in[i]);
        h = fnv(h, vals[i]);
    }
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        series *s = &f->s[i];
        if (s->hash != h)
            continue;
        bool same = true;
        for (size_t k = 0; k < f->nkeys && same; k++)
            same = strcmp(s->labels[k], vals[k]) == 0;
        if (same) {
            s->value++;
            pthread_mutex_unlock(&f->mu);
            return;
        }
    }
    if (f->n >= WH_METRICS_MAX_SERIES) {
        /* Over the cap: count under "_other" in every label (one extra series). */
        h = 1469598103934665603ull;
        for (size_t i = 0; i < f->nkeys; i++) {
            label_copy(vals[i], "_other");
            h = fnv(h, vals[i]);
        }
        for (size_t i = 0; i < f->n; i++) {
            if (f->s[i].hash == h && strcmp(f->s[i].labels[0], "_other") == 0) {
                f->s[i].value++;
                pthread_mutex_unlock(&f->mu);
                return;
            }
        }
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        if (cap > WH_METRICS_MAX_SERIES + 1)
            cap = WH_METRICS_MAX_SERIES + 1;
        series *ns = cap > f->cap ? realloc(f->s, cap * sizeof *ns) : NULL;
        if (!ns) {
            /* Out of memory or out of room: losing one observation is the safe choice. */
            pthread_mutex_unlock(&f->mu);
            return;
        }
        f->s = ns;
        f->cap = cap;
    }
    series *s = &f->s[f->n++];
    memset(s, 0, sizeof *s);
    s->hash = h;
    s->value = 1;
    for (size_t i = 0; i < f->nkeys; i++)
        memcpy(s->labels[i], vals[i], sizeof vals[i]);
    pthread_mutex_unlock(&f->mu);
}

wh_status wh_metrics_new(wh_metrics **out)
{
    wh_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return WH_ENOMEM;
    family_init(&m->requests, "kube5xx_admission_requests_total",
                "AdmissionReviews answered, by object kind, operation and decision.", "kind",
                "operation", "decision");
    family_init(&m->findings, "kube5xx_rule_findings_total",
                "Rule findings at admission, by rule, effective severity and what was done.",
                "rule", "severity", "action");
    family_init(&m->http_errors, "kube5xx_http_errors_total",
                "Requests answered with an HTTP error status, by status code.", "code", NULL,
                NULL);
    *out = m;
    return WH_OK;
}

void wh_metrics_free(wh_metrics **pm)
{
    if (!pm || !*pm)
        return;
    wh_metrics *m = *pm;
    family_destroy(&m->requests);
    family_destroy(&m->findings);
    family_destroy(&m->http_errors);
    free(m);
    *pm = NULL;
}

void wh_metrics_review(wh_metrics *m, const char *kind, const char *operation,
                       const char *decision, int64_t duration_ns)
{
    if (!m)
        return;
    family_add(&m->requests, kind, operation, decision);
    size_t b = 0;
    while (b < NBOUNDS && duration_ns > k_bounds_ns[b])
        b++;
    atomic_fetch_add(&m->buckets[b], 1);
    atomic_fetch_add(&m->duration_count, 1);
    atomic_fetch_add(&m->duration_sum_ns, (uint64_t)(duration_ns > 0 ? duration_ns : 0));
}

void wh_metrics_finding(wh_metrics *m, const char *rule, const char *severity, const char *action)
{
    if (m)
        family_add(&m->findings, rule, severity, action);
}

void wh_metrics_in_flight(wh_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add(&m->in_flight, delta);
}

void wh_metrics_http_error(wh_metrics *m, int code)
{
    if (!m)
        return;
    char c[16];
    snprintf(c, sizeof c, "%d", code);
    family_add(&m->http_errors, c, NULL, NULL);
}

void wh_metrics_cert_expiry(wh_metrics *m, int64_t not_after)
{
    if (m)
        atomic_store(&m->cert_expiry, not_after);
}

void wh_metrics_config_reload(wh_metrics *m, bool ok)
{
    if (m)
        atomic_fetch_add(ok ? &m->config_ok : &m->config_fail, 1);
}

void wh_metrics_cert_reload(wh_metrics *m, bool ok)
{
    if (m)
        atomic_fetch_add(ok ? &m->cert_ok : &m->cert_fail, 1);
}

uint64_t wh_metrics_duration_le(const wh_metrics *m, int64_t le_ns)
{
    uint64_t n = 0;
    wh_metrics *mm = (wh_metrics *)m;
    for (size_t b = 0; b < NBOUNDS && k_bounds_ns[b] <= le_ns; b++)
        n += atomic_load(&mm->buckets[b]);
    return n;
}

/* A growable output buffer, capped so a render can never run away. */
typedef struct out {
    char *p;
    size_t len, cap;
    bool failed;
} out;

#define RENDER_MAX (4u * 1024u * 1024u)

static void out_printf(out *o, const char *fmt, ...) WH_PRINTF(2, 3);

static void out_printf(out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2;
        if (cap > RENDER_MAX) {
            o->failed = true;
            return;
        }
        char *np = realloc(o->p, cap);
        if (!np) {
            o->failed = true;
            return;
        }
        o->p = np;
        o->cap = cap;
        o->p[o->len] = '\0';
    }
}

/* Label values escaped as the exposition format requires (\\, \", \n). */
static void out_label(out *o, const char *v)
{
    char esc[WH_METRICS_LABEL_MAX * 2 + 1];
    size_t n = 0;
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            esc[n++] = '\\';
            esc[n++] = *v;
        } else if (*v == '\n') {
            esc[n++] = '\\';
            esc[n++] = 'n';
        } else {
            esc[n++] = *v;
        }
    }
    esc[n] = '\0';
    out_printf(o, "\"%s\"", esc);
}

static void render_family(out *o, family *f)
{
    out_printf(o, "# HELP %s %s\n# TYPE %s counter\n", f->name, f->help, f->name);
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        out_printf(o, "%s{", f->name);
        for (size_t k = 0; k < f->nkeys; k++) {
            out_printf(o, "%s%s=", k ? "," : "", f->keys[k]);
            out_label(o, f->s[i].labels[k]);
        }
        out_printf(o, "} %llu\n", (unsigned long long)f->s[i].value);
    }
    pthread_mutex_unlock(&f->mu);
}

wh_status wh_metrics_render(wh_metrics *m, char **outp, size_t *len)
{
    out o = {malloc(8192), 0, 8192, false};
    if (!o.p)
        return WH_ENOMEM;
    o.p[0] = '\0';
    render_family(&o, &m->requests);

    const char *h = "kube5xx_admission_duration_seconds";
    out_printf(&o,
               "# HELP %s Time to decide one AdmissionReview inside the process (parse, rules, "
               "response).\n# TYPE %s histogram\n",
               h, h);
    uint64_t cum = 0;
    for (size_t b = 0; b <= NBOUNDS; b++) {
        cum += atomic_load(&m->buckets[b]);
        if (b < NBOUNDS)
            out_printf(&o, "%s_bucket{le=\"%g\"} %llu\n", h, (double)k_bounds_ns[b] / 1e9,
                       (unsigned long long)cum);
        else
            out_printf(&o, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)cum);
    }
    out_printf(&o, "%s_sum %.9f\n%s_count %llu\n", h,
               (double)atomic_load(&m->duration_sum_ns) / 1e9, h,
               (unsigned long long)atomic_load(&m->duration_count));

    render_family(&o, &m->findings);
    out_printf(&o,
               "# HELP kube5xx_requests_in_flight Webhook requests being processed.\n"
               "# TYPE kube5xx_requests_in_flight gauge\nkube5xx_requests_in_flight %lld\n",
               (long long)atomic_load(&m->in_flight));
    render_family(&o, &m->http_errors);
    out_printf(&o,
               "# HELP kube5xx_tls_cert_expiry_timestamp_seconds Expiry (notAfter) of the "
               "serving certificate, as a Unix time.\n"
               "# TYPE kube5xx_tls_cert_expiry_timestamp_seconds gauge\n"
               "kube5xx_tls_cert_expiry_timestamp_seconds %lld\n",
               (long long)atomic_load(&m->cert_expiry));
    out_printf(&o,
               "# HELP kube5xx_config_reloads_total Configuration reloads, by result.\n"
               "# TYPE kube5xx_config_reloads_total counter\n"
               "kube5xx_config_reloads_total{result=\"success\"} %llu\n"
               "kube5xx_config_reloads_total{result=\"failure\"} %llu\n",
               (unsigned long long)atomic_load(&m->config_ok),
               (unsigned long long)atomic_load(&m->config_fail));
    out_printf(&o,
               "# HELP kube5xx_tls_cert_reloads_total Serving certificate reloads, by result.\n"
               "# TYPE kube5xx_tls_cert_reloads_total counter\n"
               "kube5xx_tls_cert_reloads_total{result=\"success\"} %llu\n"
               "kube5xx_tls_cert_reloads_total{result=\"failure\"} %llu\n",
               (unsigned long long)atomic_load(&m->cert_ok),
               (unsigned long long)atomic_load(&m->cert_fail));
    if (m->source) {
        char *more = m->source(m->source_ud);
        if (!more)
            o.failed = true;
        else
            out_printf(&o, "%s", more);
        free(more);
    }
    if (o.failed) {
        free(o.p);
        return WH_ENOMEM;
    }
    *outp = o.p;
    *len = o.len;
    return WH_OK;
}

void wh_metrics_set_source(wh_metrics *m, wh_metrics_source_fn fn, void *ud)
{
    m->source = fn;
    m->source_ud = ud;
}
