/*
 * kube5xx-webhook: AdmissionReview in, AdmissionReview out (see wh_admission.h).
 */
#include "wh_admission.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_cache.h"
#include "wh_json_arena.h"
#include "wh_json_parse.h"
#include "wh_kinds.h"
#include "wh_log.h"

const char *wh_decision_str(wh_decision d)
{
    switch (d) {
    case WH_DECISION_ALLOWED: return "allowed";
    case WH_DECISION_WARNED: return "warned";
    case WH_DECISION_DENIED: return "denied";
    case WH_DECISION_SKIPPED: return "skipped";
    case WH_DECISION_EXEMPT: return "exempt";
    case WH_DECISION_AUDITED: return "audited";
    case WH_DECISION_INVALID: return "invalid";
    case WH_DECISION_ERROR: return "error";
    }
    return "error";
}

const char *wh_action_str(wh_action a)
{
    switch (a) {
    case WH_ACTION_DENY: return "deny";
    case WH_ACTION_WARN: return "warn";
    case WH_ACTION_RATCHET: return "ratchet";
    case WH_ACTION_AUDIT: return "audit";
    case WH_ACTION_INFO: return "info";
    case WH_ACTION_SUPPRESSED: return "suppressed";
    }
    return "info";
}

void wh_review_clear(wh_review *rv)
{
    free(rv->body);
    memset(rv, 0, sizeof *rv);
}

static const cJSON *jget(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = jget(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A clean, bounded copy of a request string for the log line and metric labels. */
static void field(char *dst, size_t size, const char *src)
{
    wh_buf b;
    wh_buf_init(&b, dst, size);
    if (src)
        wh_clean_line(&b, src, strlen(src), size - 1);
}

static bool listed(const k5_strlist *l, const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < l->n; i++)
        /* '*' matches any run ("system:serviceaccount:kube-system:*"), ':' included. */
        if (k5_glob_match(l->items[i], s, strlen(s), '\0'))
            return true;
    return false;
}

/* Text replies (400, 500) carry a one-line message. */
static wh_status text_reply(wh_review *rv, int status, wh_decision d, const char *fmt, ...)
    WH_PRINTF(4, 5);

static wh_status text_reply(wh_review *rv, int status, wh_decision d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rv->detail, sizeof rv->detail, fmt, ap);
    va_end(ap);
    rv->http_status = status;
    rv->decision = d;
    rv->content_type = "text/plain; charset=utf-8";
    size_t n = strlen(rv->detail);
    rv->body = malloc(n + 2);
    if (!rv->body)
        return WH_ENOMEM;
    memcpy(rv->body, rv->detail, n);
    rv->body[n] = '\n';
    rv->body[n + 1] = '\0';
    rv->body_len = n + 1;
    return WH_OK;
}

/*
 * Objects in a review carry apiVersion and kind; if one does not, take them
 * from request.kind so the engine still recognises it.
 */
static bool ensure_type(cJSON *obj, const cJSON *gvk)
{
    const char *group = jstr(gvk, "group"), *version = jstr(gvk, "version"),
               *kind = jstr(gvk, "kind");
    if (!jstr(obj, "apiVersion") && version) {
        char av[256];
        if (group && *group)
            snprintf(av, sizeof av, "%s/%s", group, version);
        else
            snprintf(av, sizeof av, "%s", version);
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
        if (!cJSON_AddStringToObject(obj, "apiVersion", av))
            return false;
    }
    if (!jstr(obj, "kind") && kind) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
        if (!cJSON_AddStringToObject(obj, "kind", kind))
            return false;
    }
    return true;
}

/* Findings the old object already had: rule id and field path. */
static bool had_before(const k5_report *old, const k5_finding *f)
{
    if (!old)
        return false;
    size_t n = k5_report_count(old);
    for (size_t i = 0; i < n; i++) {
        const k5_finding *o = k5_report_at(old, i);
        if (o->object->index == 0 && o->rule == f->rule &&
            strcmp(o->path ? o->path : "", f->path ? f->path : "") == 0)
            return true;
    }
    return false;
}

static bool same_object(const k5_object *a, const k5_object *b)
{
    return a->kind_id == b->kind_id && a->name.n == b->name.n &&
           a->namespace_.n == b->namespace_.n && memcmp(a->name.p, b->name.p, a->name.n) == 0 &&
           memcmp(a->namespace_.p, b->namespace_.p, a->namespace_.n) == 0;
}

/* A partner's finding that the cluster without this change had too (same object, rule, path). */
static bool partner_had_before(const k5_report *old, const k5_finding *f)
{
    size_t n = k5_report_count(old);
    for (size_t i = 0; i < n; i++) {
        const k5_finding *o = k5_report_at(old, i);
        if (o->rule == f->rule && same_object(o->object, f->object) &&
            strcmp(o->path ? o->path : "", f->path ? f->path : "") == 0)
            return true;
    }
    return false;
}

/*
 * Rules that report an absence: at admission the missing object may simply
 * come later in the same `kubectl apply -f dir/` (a Service before its
 * Deployment is normal), so with the cluster around they only warn.
 * networkpolicy-blocks-ingress is one: NetworkPolicies add up, so what it
 * reports is the absence of a policy admitting the ingress controller, and
 * `00-default-deny.yaml` is routinely applied before `10-allow-ingress.yaml`.
 */
static const char *const absence_rules[] = {"service-selects-nothing", "pdb-selects-nothing",
                                            "ingress-backend-service-missing", "pdb-missing",
                                            "hpa-target-missing", "route-backend-service-missing",
                                            "route-parent-missing", "networkpolicy-blocks-ingress",
                                            "ingress-class-missing", NULL};

/* An absence: a rule listed above, or a finding its rule marked (k5_check_report_absence). */
static bool is_absence(const k5_finding *f)
{
    if (f->absence)
        return true;
    const k5_rule *rule = f->rule;
    for (const char *const *a = absence_rules; *a; a++)
        if (strcmp(rule->id, *a) == 0)
            return true;
    return false;
}

/* Warnings: one clean line each, deduplicated, the total capped. */
typedef struct warnings {
    char buf[WH_WARNINGS_TOTAL_BYTES];
    size_t used;
    const char *items[WH_MAX_FIRED + 1];
    size_t n;
    size_t dropped;
} warnings;

/*
 * Writes the n strings one after the other into buf, cut at size - 1 bytes and terminated, as
 * snprintf(buf, size, "%s%s...") would; returns the length written. A review formats each
 * warning twice (with and without its path), and printf showed in the profile.
 */
static size_t concat(char *buf, size_t size, const char *const *parts, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        size_t k = strlen(parts[i]);
        if (k > size - 1 - used)
            k = size - 1 - used;
        memcpy(buf + used, parts[i], k);
        used += k;
    }
    buf[used] = '\0';
    return used;
}

static void warnings_add(warnings *w, const k5_finding *f, const char *note)
{
    char raw[2048], line[WH_WARNING_MAX_CHARS * 4 + 8];
    const char *msg = f->message ? f->message : "";
    const char *path = f->path && *f->path ? f->path : NULL;
    wh_buf b;
    size_t chars = 0;
    /*
     * With the field path when it fits the soft limit, without it otherwise. The line without
     * the path is a prefix of the one with it, so when it alone passes the soft limit (the
     * usual case: messages name their values) the longer one is not even formatted.
     */
    const char *parts[4] = {f->rule->id, ": ", note, msg};
    size_t rawn = concat(raw, sizeof raw, parts, 4);
    wh_buf_init(&b, line, sizeof line);
    chars = wh_clean_line(&b, raw, rawn, WH_WARNING_MAX_CHARS);
    if (path && chars <= WH_WARNING_SOFT_CHARS) {
        char with[sizeof line];
        wh_buf wb;
        /* The line without the path is this one's prefix: only the path and ")" are added. */
        const char *tail[3] = {" (at ", path, ")"};
        rawn += concat(raw + rawn, sizeof raw - rawn, tail, 3);
        wh_buf_init(&wb, with, sizeof with);
        if (wh_clean_line(&wb, raw, rawn, WH_WARNING_MAX_CHARS) <= WH_WARNING_SOFT_CHARS) {
            memcpy(line, with, wb.len + 1);
            b = wb;
            b.p = line;
        }
    }
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->items[i], line) == 0)
            return;
    /* Keep room for the closing "N more" line. */
    if (w->n >= WH_MAX_FIRED || w->used + b.len + 1 > sizeof w->buf - 96) {
        w->dropped++;
        return;
    }
    memcpy(w->buf + w->used, line, b.len + 1);
    w->items[w->n++] = w->buf + w->used;
    w->used += b.len + 1;
}

static void warnings_finish(warnings *w)
{
    if (!w->dropped)
        return;
    char *p = w->buf + w->used;
    int n = snprintf(p, sizeof w->buf - w->used,
                     "kube5xx: %zu more warning%s not shown (see the webhook log)", w->dropped,
                     w->dropped == 1 ? "" : "s");
    if (n > 0 && (size_t)n < sizeof w->buf - w->used) {
        w->items[w->n++] = p;
        w->used += (size_t)n + 1;
    }
}

/* The first sentence of a remediation, for the denial message. */
static void first_sentence(wh_buf *b, const char *s)
{
    size_t n = strlen(s);
    const char *dot = strstr(s, ". ");
    if (dot)
        n = (size_t)(dot - s) + 1;
    wh_clean_line(b, s, n, 200);
}

/* Characters kept at the end of the denial message for the "N more" note. */
#define DENY_TAIL_CHARS 96u
/* An explanation that does not fit whole is cut only when this much room is left. */
#define DENY_MIN_CUT_CHARS 80u
/* The explanations kept for the denial message, raw; far more than its cap can show. */
#define DENY_TEXT_BYTES 24576u

/*
 * The denied findings of one review, in the engine's order (position, then rule id). Each
 * explanation is formatted when the finding is added, as a partner's finding is a copy that
 * does not outlive the loop; `total` counts them all, kept or not.
 */
typedef struct denials {
    struct {
        const k5_rule *rule;
        size_t off, len; /* in text */
    } item[WH_MAX_FIRED];
    size_t n, total;
    const k5_rule *rules[WH_MAX_FIRED]; /* every distinct denied rule, of all `total` */
    size_t nrules;
    char text[DENY_TEXT_BYTES];
    size_t used;
} denials;

/* One denied finding explained: "rule-id: message. Fix: first sentence of the remedy". */
static void denials_add(denials *d, const k5_finding *f)
{
    d->total++;
    bool known = false;
    for (size_t i = 0; i < d->nrules && !known; i++)
        known = d->rules[i] == f->rule;
    if (!known && d->nrules < WH_MAX_FIRED)
        d->rules[d->nrules++] = f->rule;
    char raw[2048], fix[1024];
    wh_buf fb;
    wh_buf_init(&fb, fix, sizeof fix);
    first_sentence(&fb, f->rule->remediation ? f->rule->remediation : "");
    const char *m = f->message ? f->message : "";
    size_t ml = strlen(m);
    int n = snprintf(raw, sizeof raw, "%s: %s%s%s", f->rule->id, m,
                     !fix[0] ? "" : (ml && m[ml - 1] == '.') ? " Fix: " : ". Fix: ", fix);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1;
    if (d->n >= WH_MAX_FIRED || len > sizeof d->text - d->used)
        return; /* counted, named by its rule id, not explained */
    memcpy(d->text + d->used, raw, len);
    d->item[d->n].rule = f->rule;
    d->item[d->n].off = d->used;
    d->item[d->n].len = len;
    d->n++;
    d->used += len;
}

/* Explanation k of the message: "(k) " and the kept text, cleaned, at most max_chars. */
static size_t deny_item(wh_buf *b, size_t k, const denials *d, size_t i, size_t max_chars)
{
    char raw[2048 + 32];
    int n = snprintf(raw, sizeof raw, "(%zu) %.*s", k, (int)d->item[i].len,
                     d->text + d->item[i].off);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1;
    return wh_clean_line(b, raw, len, max_chars);
}

/*
 * The denial message, at most WH_DENY_MESSAGE_MAX_CHARS characters: the number of problems
 * and EVERY denied rule id first (so no rule is hidden from the user however long the
 * explanations are), then as many whole explanations as fit, then how many were left out.
 * Rule ids are static kebab-case ASCII, so their length in bytes is their length in characters.
 */
static void deny_message(wh_buf *mb, const char *kind, const denials *d)
{
    const size_t cap = WH_DENY_MESSAGE_MAX_CHARS;
    char raw[256];
    snprintf(raw, sizeof raw, "kube5xx: this %s would cause HTTP 5xx errors (%zu problem%s:",
             kind && *kind ? kind : "object", d->total, d->total == 1 ? "" : "s");
    size_t used = wh_clean_line(mb, raw, strlen(raw), 200) + 1;
    wh_buf_puts(mb, " "); /* after the cleaning, which trims the ends */

    /*
     * Every distinct rule id, in order of first appearance. The explanations follow in the
     * same order: the first finding of each rule, then the repeats, so a rule that fires once
     * per container does not crowd the others out.
     */
    size_t order[WH_MAX_FIRED], nfirst = 0;
    bool first[WH_MAX_FIRED];
    for (size_t i = 0; i < d->n; i++) {
        first[i] = true;
        for (size_t k = 0; k < i && first[i]; k++)
            first[i] = d->item[k].rule != d->item[i].rule;
        nfirst += first[i];
    }
    for (size_t i = 0, a = 0, b = nfirst; i < d->n; i++)
        order[first[i] ? a++ : b++] = i;
    size_t nid = 0, left_ids = 0;
    for (size_t i = 0; i < d->nrules; i++) {
        size_t idl = strlen(d->rules[i]->id);
        if (left_ids || used + idl + 2 > cap - 2 * DENY_TAIL_CHARS) {
            left_ids++;
            continue;
        }
        if (nid++) {
            wh_buf_puts(mb, ", ");
            used += 2;
        }
        wh_buf_puts(mb, d->rules[i]->id);
        used += idl;
    }
    if (left_ids) {
        int w = snprintf(raw, sizeof raw, " and %zu more rule%s", left_ids,
                         left_ids == 1 ? "" : "s");
        wh_buf_puts(mb, raw);
        used += (size_t)w;
    }
    wh_buf_puts(mb, "): ");
    used += 3;

    /* Then the explanations, whole, while they fit. */
    size_t shown = 0;
    for (size_t i = 0; i < d->n; i++) {
        char one[WH_DENY_MESSAGE_MAX_CHARS * 4 + 8];
        wh_buf ob;
        wh_buf_init(&ob, one, sizeof one);
        size_t sep = shown ? 2 : 0;
        size_t reserve = i + 1 < d->total ? DENY_TAIL_CHARS : 0;
        size_t room = used + sep + reserve < cap ? cap - used - sep - reserve : 0;
        size_t chars = deny_item(&ob, i + 1, d, order[i], room + 1);
        if (chars > room) {
            /* Too long for what is left: cut the first one rather than explain nothing. */
            if (shown || room < DENY_MIN_CUT_CHARS)
                break;
            wh_buf_init(&ob, one, sizeof one);
            chars = deny_item(&ob, i + 1, d, order[i], room);
        }
        if (sep)
            wh_buf_puts(mb, "; ");
        wh_buf_putn(mb, one, ob.len);
        used += sep + chars;
        shown++;
    }
    if (shown < d->total) {
        snprintf(raw, sizeof raw,
                 "%s%zu more not explained here (kube5xx lint explains every finding)",
                 shown ? "; " : "", d->total - shown);
        wh_buf_puts(mb, raw);
    }
}

/* s as a JSON string body, as cJSON_PrintUnformatted writes it (the shared escaper). */
static char *put_json_str(char *p, const char *s)
{
    return fe_json_escape(p, s, strlen(s));
}

static char *put_lit(char *p, const char *lit)
{
    size_t n = strlen(lit);
    memcpy(p, lit, n);
    return p + n;
}

/*
 * The AdmissionReview answer, written straight into one buffer sized for the
 * worst case (every byte escaped as \u00XX): this runs once per review and
 * building a cJSON tree to print it cost more than the rules' own formatting.
 */
static wh_status respond(wh_review *rv, const char *api_version, const char *uid, bool allowed,
                         const char *message, const warnings *w)
{
    size_t var = strlen(api_version) + strlen(uid) + (allowed ? 0 : strlen(message));
    size_t items = 0;
    for (size_t i = 0; w && i < w->n; i++)
        items += strlen(w->items[i]) * 6 + 3;
    char *text = malloc(256 + var * 6 + items);
    if (!text)
        return WH_ENOMEM;
    char *p = text;
    p = put_lit(p, "{\"apiVersion\":\"");
    p = put_json_str(p, api_version);
    p = put_lit(p, "\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"");
    p = put_json_str(p, uid);
    p = put_lit(p, allowed ? "\",\"allowed\":true" : "\",\"allowed\":false");
    if (!allowed) {
        p = put_lit(p, ",\"status\":{\"code\":403,\"status\":\"Failure\",\"reason\":\"Forbidden\","
                       "\"message\":\"");
        p = put_json_str(p, message);
        p = put_lit(p, "\"}");
    }
    if (w && w->n) {
        p = put_lit(p, ",\"warnings\":[");
        for (size_t i = 0; i < w->n; i++) {
            p = put_lit(p, i ? ",\"" : "\"");
            p = put_json_str(p, w->items[i]);
            *p++ = '"';
        }
        *p++ = ']';
    }
    p = put_lit(p, "}}");
    *p = '\0';
    rv->http_status = 200;
    rv->content_type = "application/json";
    rv->body = text;
    rv->body_len = (size_t)(p - text);
    return WH_OK;
}

static void fire(wh_review *rv, const k5_finding *f, wh_action a)
{
    if (rv->nfired < WH_MAX_FIRED)
        rv->fired[rv->nfired++] = (wh_fired){f->rule->id, f->severity, a};
}

/*
 * One review, stage by stage: parse -> skip/exempt -> evaluate -> decide ->
 * render. Each stage reads what the earlier ones left in `review` and either
 * hands on or answers (sets `done`, the reply written); only the last stage
 * always answers.
 */
typedef struct review {
    wh_review *rv; /* the answer and what the log and metrics need */
    const k5_config *cfg;
    const k5_webhook_config *wc;
    int64_t deadline_ns;
    unsigned flags;
    bool done;  /* the reply is written: later stages do nothing */
    bool arena; /* the cJSON tree lives in the thread's JSON arena */
    /* parse */
    cJSON *root;
    cJSON *obj, *old;
    const cJSON *gvk, *user;
    const char *api_version, *uid, *op, *ns, *username, *sub;
    k5_wh_mode mode; /* the config's, or warn on the advisory entry point */
    /* evaluate */
    k5_docset *set, *old_set;
    k5_report *rep, *old_rep; /* old_rep: the old object's, for the ratchet (or NULL) */
    /* evaluate, with the cluster around (cache trusted or stale) */
    wh_cache *cache;           /* NULL: --cluster-cache=off */
    bool cross;                /* judged with partners from the cache */
    bool stale;                /* the cache is stale: cross-object errors only warn */
    bool truncated;            /* partners were left out: cross-object errors only warn */
    bool old_subject;          /* old_set's first object is the old object (an UPDATE) */
    bool locked;               /* holding the cache's read lock */
    k5_partners *partners;
} review;

/* What the findings add up to; the render stage turns it into the answer. */
typedef struct verdict {
    size_t ndeny, nwarn, naudit;
    denials d; /* the denied findings, for the message */
    char msg[WH_DENY_MESSAGE_MAX_CHARS * 4 + 64]; /* the denial message, cleaned and capped */
    warnings w;
} verdict;

static wh_status reply_text(review *r, int status, wh_decision d, const char *what)
{
    r->done = true;
    return text_reply(r->rv, status, d, "%s", what);
}

static wh_status reply_allowed(review *r, wh_decision d)
{
    r->done = true;
    r->rv->decision = d;
    return respond(r->rv, r->api_version, r->uid, true, NULL, NULL);
}

/* Stage 1: the body is an AdmissionReview with a request and a uid; pick out its fields. */
static wh_status parse(review *r, const char *body, size_t len)
{
    wh_review *rv = r->rv;
    /* cJSON_GetErrorPtr is global state: ParseWithLengthOpts hands back the position instead. */
    const char *end = NULL;
    /* The one-pass parser builds cJSON's tree for well-formed bodies; cJSON has the last word. */
    r->root = r->arena ? wh_json_parse_fast(body, len, &end) : NULL;
    if (!r->root)
        r->root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!r->root) {
        size_t off = end && end >= body ? (size_t)(end - body) : 0;
        r->done = true;
        return text_reply(rv, 400, WH_DECISION_INVALID,
                          "invalid JSON in the request body near byte %zu of %zu", off, len);
    }
    r->api_version = jstr(r->root, "apiVersion");
    if (!r->api_version || (strcmp(r->api_version, "admission.k8s.io/v1") != 0 &&
                            strcmp(r->api_version, "admission.k8s.io/v1beta1") != 0))
        return reply_text(r, 400, WH_DECISION_INVALID,
                          "not an AdmissionReview: apiVersion must be admission.k8s.io/v1 or "
                          "admission.k8s.io/v1beta1");
    const char *kind = jstr(r->root, "kind");
    if (!kind || strcmp(kind, "AdmissionReview") != 0)
        return reply_text(r, 400, WH_DECISION_INVALID,
                          "not an AdmissionReview: kind must be AdmissionReview");
    cJSON *req = cJSON_GetObjectItemCaseSensitive(r->root, "request");
    if (!cJSON_IsObject(req))
        return reply_text(r, 400, WH_DECISION_INVALID, "the AdmissionReview has no request");
    r->uid = jstr(req, "uid");
    if (!r->uid || !*r->uid)
        return reply_text(r, 400, WH_DECISION_INVALID, "request.uid is missing");
    /* The uid is echoed in the answer: it must survive as JSON, whole (never quoted back here). */
    if (!fe_utf8_valid(r->uid, strlen(r->uid)) || wh_json_member_has_nul(body, len, "uid", r->uid))
        return reply_text(r, 400, WH_DECISION_INVALID,
                          "request.uid must be valid UTF-8 without NUL characters");
    r->gvk = jget(req, "kind");
    r->op = jstr(req, "operation");
    r->ns = jstr(req, "namespace");
    r->user = jget(req, "userInfo");
    r->username = jstr(r->user, "username");
    r->sub = jstr(req, "subResource");
    r->obj = cJSON_GetObjectItemCaseSensitive(req, "object");
    r->old = cJSON_GetObjectItemCaseSensitive(req, "oldObject");
    rv->dry_run = cJSON_IsTrue(jget(req, "dryRun"));
    field(rv->uid, sizeof rv->uid, r->uid);
    field(rv->kind, sizeof rv->kind, jstr(r->gvk, "kind"));
    field(rv->operation, sizeof rv->operation, r->op);
    field(rv->namespace_, sizeof rv->namespace_, r->ns);
    field(rv->name, sizeof rv->name, jstr(req, "name"));
    field(rv->user, sizeof rv->user, r->username);
    /* The advisory entry point never denies; audit stays audit. */
    r->mode = r->wc->mode;
    if ((r->flags & WH_REVIEW_WARN_ONLY) && r->mode == K5_WH_ENFORCE)
        r->mode = K5_WH_WARN;
    return WH_OK;
}

static bool is_exempt(const review *r)
{
    const k5_webhook_config *wc = r->wc;
    if (listed(&wc->exempt_namespaces, r->ns) || listed(&wc->exempt_usernames, r->username))
        return true;
    const cJSON *groups = jget(r->user, "groups");
    for (const cJSON *g = cJSON_IsArray(groups) ? groups->child : NULL; g; g = g->next)
        if (cJSON_IsString(g) && listed(&wc->exempt_groups, g->valuestring))
            return true;
    return false;
}

/* Stage 2: what is not judged is allowed at once (skipped operations first, then exemptions). */
static wh_status skip_or_exempt(review *r)
{
    bool judged_op = r->op && (strcmp(r->op, "CREATE") == 0 || strcmp(r->op, "UPDATE") == 0);
    if (!judged_op || (r->sub && *r->sub) || !cJSON_IsObject(r->obj))
        return reply_allowed(r, WH_DECISION_SKIPPED);
    /* Only the kind table's K5_KF_WEBHOOK kinds are judged, whatever a hand-edited
     * configuration sends: judging Pods, say, would deny the pods a Deployment's ReplicaSet
     * creates and turn one finding into an outage. */
    if (!wh_kind_admitted(r->gvk, r->obj))
        return reply_allowed(r, WH_DECISION_SKIPPED);
    if (is_exempt(r))
        return reply_allowed(r, WH_DECISION_EXEMPT);
    return WH_OK;
}

/* Runs the single-object rules over one object. */
static wh_status run_rules(const review *r, const cJSON *obj, k5_docset **set, k5_report **rep,
                           char *err, size_t errsz)
{
    k5_error e;
    memset(&e, 0, sizeof e);
    k5_status ks = k5_docset_new(set, r->ns && *r->ns ? r->ns : "default");
    if (ks != K5_OK) {
        snprintf(err, errsz, "cannot create a document set: %s", k5_status_str(ks));
        return WH_EENGINE;
    }
    ks = k5_docset_add_cjson_borrowed(*set, "request", obj, &e);
    if (ks == K5_OK)
        ks = k5_run(*set, r->cfg, K5_RUN_SINGLE_ONLY, rep, &e);
    if (ks != K5_OK) {
        snprintf(err, errsz, "rule engine: %s%s%.400s", k5_status_str(ks), e.msg[0] ? ": " : "",
                 e.msg);
        k5_docset_free(set);
        return WH_EENGINE;
    }
    return WH_OK;
}

static bool past(const review *r)
{
    return r->deadline_ns && wh_now_ns() > r->deadline_ns;
}

/*
 * Stage 3: the rules over the object and, for the ratchet, over the old
 * object (only when the new one has errors: most updates need one run).
 */
static wh_status evaluate_cross(review *r);

static wh_status evaluate(review *r)
{
    char err[sizeof r->rv->detail];
    if (past(r))
        return reply_text(r, 500, WH_DECISION_ERROR, "deadline exceeded before evaluation");
    if (!ensure_type(r->obj, r->gvk))
        return WH_ENOMEM;
    if (r->cache) {
        wh_cache_state cs = wh_cache_state_at(r->cache, wh_now_ns());
        r->rv->cache_state = wh_cache_state_str(cs);
        r->cross = cs == WH_CACHE_TRUSTED || cs == WH_CACHE_STALE;
        r->stale = cs == WH_CACHE_STALE;
    }
    if (r->cross)
        return evaluate_cross(r);
    if (run_rules(r, r->obj, &r->set, &r->rep, err, sizeof err) != WH_OK)
        return reply_text(r, 500, WH_DECISION_ERROR, err);
    if (r->wc->ratchet && strcmp(r->op, "UPDATE") == 0 && cJSON_IsObject(r->old) &&
        k5_report_summary(r->rep).errors > 0) {
        if (!ensure_type(r->old, r->gvk))
            return WH_ENOMEM;
        if (run_rules(r, r->old, &r->old_set, &r->old_rep, err, sizeof err) != WH_OK)
            return reply_text(r, 500, WH_DECISION_ERROR, err);
    }
    if (past(r))
        return reply_text(r, 500, WH_DECISION_ERROR, "deadline exceeded during evaluation");
    return WH_OK;
}

/* One object (the reviewed one or its old version) first in a new docset. */
static k5_status subject_set(const review *r, const cJSON *obj, k5_docset **set, k5_error *e)
{
    k5_status ks = k5_docset_new(set, r->ns && *r->ns ? r->ns : "default");
    if (ks == K5_OK && obj)
        ks = k5_docset_add_cjson_borrowed(*set, "request", obj, e);
    return ks;
}

/*
 * Stage 3 with the cluster around: the object and its partners from the
 * cache (the reviewed object replaces its cached copy), every rule on the
 * object and the cross-object ones on the partners. When there are partners,
 * the same partners are judged once more with the old object (an UPDATE) or
 * without it (a CREATE): a partner finding only the new run has is one this
 * change causes. The old run also serves the ratchet. The cache stays read
 * locked until the review is done, because the partners are borrowed.
 */
static wh_status evaluate_cross(review *r)
{
    k5_error e;
    memset(&e, 0, sizeof e);
    bool update = strcmp(r->op, "UPDATE") == 0 && cJSON_IsObject(r->old);
    if (update && !ensure_type(r->old, r->gvk))
        return WH_ENOMEM;
    k5_status ks = subject_set(r, r->obj, &r->set, &e);
    if (ks == K5_OK)
        ks = subject_set(r, update ? r->old : NULL, &r->old_set, &e);
    const k5_cluster *cl = NULL;
    if (ks == K5_OK) {
        cl = wh_cache_read_begin(r->cache);
        r->locked = true;
        r->old_subject = update && k5_docset_object_count(r->old_set) > 0;
        const k5_object *subjects[2] = {k5_docset_object(r->set, 0),
                                        r->old_subject ? k5_docset_object(r->old_set, 0) : NULL};
        size_t n = subjects[0] ? 1 + (subjects[1] != NULL) : 0;
        if (n)
            ks = k5_cluster_partners(cl, r->cfg, subjects[0] ? subjects : subjects + 1, n,
                                     &r->partners);
    }
    if (ks == K5_OK)
        ks = k5_docset_add_partners(r->set, r->partners);
    if (ks == K5_OK)
        ks = k5_run(r->set, r->cfg, K5_RUN_PARTNERS_CROSS_ONLY, &r->rep, &e);
    r->rv->partners = k5_partners_count(r->partners);
    /* More partners than K5_CLUSTER_MAX_PARTNERS: the rest were left out, and one of them
     * could be what resolves a finding (the workload declaring the port). */
    r->truncated = k5_partners_truncated(r->partners);
    bool ratchet = r->wc->ratchet && r->old_subject && k5_report_summary(r->rep).errors > 0;
    if (ks == K5_OK && (k5_partners_count(r->partners) > 0 || ratchet)) {
        ks = k5_docset_add_partners(r->old_set, r->partners);
        if (ks == K5_OK)
            ks = k5_run(r->old_set, r->cfg, K5_RUN_PARTNERS_CROSS_ONLY, &r->old_rep, &e);
    }
    if (ks != K5_OK) {
        char err[sizeof r->rv->detail];
        snprintf(err, sizeof err, "rule engine: %s%s%.400s", k5_status_str(ks),
                 e.msg[0] ? ": " : "", e.msg);
        return reply_text(r, 500, WH_DECISION_ERROR, err);
    }
    if (past(r))
        return reply_text(r, 500, WH_DECISION_ERROR, "deadline exceeded during evaluation");
    return WH_OK;
}

/*
 * pdb-blocks-eviction at admission. The registry makes it a warning, because
 * over files alone the rule often cannot see every pod a budget covers. With
 * a trusted cluster cache the webhook judges the budget against the workloads
 * it really selects, and a minAvailable (an integer, or a percentage below
 * 100%) that still leaves no pod evictable contradicts them: a drain can
 * never proceed, so it denies, as the "a PDB that can never allow an
 * eviction" asks. maxUnavailable 0 and minAvailable 100% state their intent on
 * their face (Kubernetes documents them as the way to require manual
 * intervention before an eviction): those stay warnings. A config that sets
 * the rule's severity to anything but its default keeps that severity.
 */
static bool pdb_contradiction(const review *r, const k5_finding *f)
{
    if (!r->cross || r->stale || r->truncated || f->severity != K5_SEV_WARNING ||
        strcmp(f->rule->id, "pdb-blocks-eviction") != 0 ||
        k5_config_severity(r->cfg, f->rule) != f->rule->severity || !f->path ||
        strcmp(f->path, "spec.minAvailable") != 0)
        return false;
    k5_intstr v;
    if (!k5_intstr_get(k5_node_at(f->object->root, "spec.minAvailable"), &v))
        return false;
    int64_t pct = 100;
    return v.is_int || (k5_intstr_scaled(&v, 100, true, &pct) && pct < 100);
}

/*
 * The severity a finding has at admission: with the cluster around, an
 * absence only warns, and while the cache is stale so does every
 * cross-object error. *note prefixes its warning.
 */
static k5_severity admission_severity(const review *r, const k5_finding *f, bool partner,
                                      const char **note)
{
    if (f->severity != K5_SEV_ERROR || !r->cross)
        return f->severity;
    if (is_absence(f)) {
        *note = "(not blocking: an absence may be filled later in the same apply) ";
        return K5_SEV_WARNING;
    }
    if (r->stale && (partner || f->rule->scope == K5_SCOPE_CROSS)) {
        *note = "(not blocking: the cluster cache is stale) ";
        return K5_SEV_WARNING;
    }
    if (r->truncated && (partner || f->rule->scope == K5_SCOPE_CROSS)) {
        *note = "(not blocking: this review has more partners than the webhook judges with) ";
        return K5_SEV_WARNING;
    }
    return K5_SEV_ERROR;
}

/* What happens to one finding under the mode and the ratchet; *note prefixes its warning. */
static wh_action action_for(const review *r, const k5_finding *f, bool partner,
                            const char **note)
{
    wh_action a;
    *note = "";
    k5_severity sev = admission_severity(r, f, partner, note);
    if (sev == K5_SEV_ERROR) {
        if (!partner && r->wc->ratchet && (!r->cross || r->old_subject) &&
            had_before(r->old_rep, f)) {
            a = WH_ACTION_RATCHET;
            *note = "(pre-existing, not blocking) ";
        } else if (r->mode == K5_WH_WARN) {
            a = WH_ACTION_WARN;
            *note = "(would deny) ";
        } else {
            a = WH_ACTION_DENY;
        }
    } else if (sev == K5_SEV_WARNING) {
        a = WH_ACTION_WARN;
    } else {
        a = WH_ACTION_INFO;
    }
    if (r->mode == K5_WH_AUDIT && a != WH_ACTION_INFO)
        a = WH_ACTION_AUDIT;
    return a;
}

/* "this update breaks Service shop/web: <the rule's message>". */
static const char *partner_message(const review *r, const k5_finding *f, char *buf, size_t size)
{
    const k5_object *o = f->object;
    char change[96];
    if (r->old_subject)
        snprintf(change, sizeof change, "this update");
    else
        snprintf(change, sizeof change, "this new %s", r->rv->kind[0] ? r->rv->kind : "object");
    snprintf(buf, size, "%s %s %.*s %.*s/%.*s: %s", change,
             f->severity == K5_SEV_ERROR ? "breaks" : "affects", (int)o->kind.n, o->kind.p,
             (int)o->namespace_.n, o->namespace_.p, (int)o->name.n, o->name.p,
             f->message ? f->message : "");
    return buf;
}

/*
 * Stage 4: every finding gets its action (denials keep the engine's order:
 * position, then rule id); the counts give the decision.
 */
static void decide(review *r, verdict *v)
{
    wh_review *rv = r->rv;
    size_t n = k5_report_count(r->rep);
    for (size_t i = 0; i < n; i++) {
        const k5_finding *f = k5_report_at(r->rep, i);
        bool partner = r->cross && f->object->index != 0;
        k5_finding pf, raised;
        char pmsg[1400];
        if (pdb_contradiction(r, f)) {
            raised = *f;
            raised.severity = K5_SEV_ERROR;
            f = &raised;
        }
        if (partner) {
            /* Only what this change causes, said about the partner by name. */
            if (f->suppressed || partner_had_before(r->old_rep, f))
                continue;
            pf = *f;
            pf.message = partner_message(r, f, pmsg, sizeof pmsg);
            f = &pf;
        }
        if (f->suppressed) {
            rv->suppressed++;
            fire(rv, f, WH_ACTION_SUPPRESSED);
            continue;
        }
        const char *note;
        wh_action a = action_for(r, f, partner, &note);
        fire(rv, f, a);
        if (a == WH_ACTION_AUDIT)
            v->naudit++;
        if (a == WH_ACTION_WARN || a == WH_ACTION_RATCHET) {
            v->nwarn++;
            warnings_add(&v->w, f, note);
        }
        if (a == WH_ACTION_DENY) {
            v->ndeny++;
            denials_add(&v->d, f);
        }
    }
    warnings_finish(&v->w);
    if (v->ndeny)
        rv->decision = WH_DECISION_DENIED;
    else if (v->nwarn)
        rv->decision = WH_DECISION_WARNED;
    else if (v->naudit)
        rv->decision = WH_DECISION_AUDITED;
    else
        rv->decision = WH_DECISION_ALLOWED;
}

/* Stage 5: the AdmissionReview answer (the denial message: every rule id, then what fits). */
static wh_status render(review *r, verdict *v)
{
    wh_review *rv = r->rv;
    wh_buf mb;
    wh_buf_init(&mb, v->msg, sizeof v->msg);
    if (v->ndeny)
        deny_message(&mb, rv->kind, &v->d);
    r->done = true;
    return respond(rv, r->api_version, r->uid, v->ndeny == 0, v->msg, &v->w);
}

static wh_status decide_and_render(review *r)
{
    /*
     * ~40 KB: off the (server thread's) stack, and not calloc'd: clearing it
     * all cost more than a review's rules. The arrays are only read up to
     * their counts, which start at zero.
     */
    verdict *v = malloc(sizeof *v);
    if (!v)
        return WH_ENOMEM;
    v->ndeny = v->nwarn = v->naudit = 0;
    v->d.n = v->d.total = v->d.nrules = v->d.used = 0;
    v->w.used = v->w.n = v->w.dropped = 0;
    v->msg[0] = '\0';
    decide(r, v);
    wh_status st = render(r, v);
    free(v);
    return st;
}

wh_status wh_admission_review(const k5_config *cfg, const char *body, size_t len,
                              int64_t deadline_ns, unsigned flags, wh_review *rv)
{
    return wh_admission_review_cached(cfg, NULL, body, len, deadline_ns, flags, rv);
}

wh_status wh_admission_review_cached(const k5_config *cfg, wh_cache *cache, const char *body,
                                     size_t len, int64_t deadline_ns, unsigned flags,
                                     wh_review *rv)
{
    memset(rv, 0, sizeof *rv);
    review r;
    memset(&r, 0, sizeof r);
    r.rv = rv;
    r.cache = cache;
    r.cfg = cfg;
    r.wc = k5_config_webhook(cfg);
    r.deadline_ns = deadline_ns;
    r.flags = flags;

    bool arena = wh_json_arena_begin();
    r.arena = arena;
    wh_status st = parse(&r, body, len);
    if (st == WH_OK && !r.done)
        st = skip_or_exempt(&r);
    if (st == WH_OK && !r.done)
        st = evaluate(&r);
    if (st == WH_OK && !r.done)
        st = decide_and_render(&r);

    if (st == WH_ENOMEM && !rv->body) {
        rv->http_status = 500;
        rv->decision = WH_DECISION_ERROR;
        snprintf(rv->detail, sizeof rv->detail, "out of memory");
    }
    /* The sets borrow the strings of r.root's tree (k5_docset_add_cjson_borrowed): they and
     * everything made from them go first, the tree last. */
    k5_report_free(&r.old_rep);
    k5_report_free(&r.rep);
    k5_docset_free(&r.old_set);
    k5_docset_free(&r.set);
    k5_partners_free(&r.partners);
    if (r.locked)
        wh_cache_read_end(r.cache); /* nothing borrows from the cluster any more */
    if (arena)
        wh_json_arena_end(); /* the whole tree at once */
    else
        cJSON_Delete(r.root);
    return st;
}

void wh_review_record(const wh_review *rv, wh_metrics *m, int64_t duration_ns)
{
    for (size_t i = 0; i < rv->nfired; i++)
        wh_metrics_finding(m, rv->fired[i].rule, k5_severity_str(rv->fired[i].severity),
                           wh_action_str(rv->fired[i].action));
    if (rv->decision != WH_DECISION_INVALID)
        wh_metrics_review(m, rv->kind, rv->operation, wh_decision_str(rv->decision), duration_ns);

    wh_log_level lvl = rv->http_status == 500   ? WH_LOG_ERROR
                       : rv->http_status == 400 ? WH_LOG_WARN
                                                : WH_LOG_INFO;
    if (!wh_log_enabled(lvl))
        return;
    wh_logline l;
    wh_logline_begin(&l, lvl, rv->http_status == 200 ? "review" : "review failed");
    wh_logline_str(&l, "uid", rv->uid);
    wh_logline_str(&l, "kind", rv->kind);
    wh_logline_str(&l, "namespace", rv->namespace_);
    wh_logline_str(&l, "name", rv->name);
    wh_logline_str(&l, "operation", rv->operation);
    wh_logline_str(&l, "user", rv->user);
    wh_logline_bool(&l, "dryRun", rv->dry_run);
    wh_logline_str(&l, "decision", wh_decision_str(rv->decision));
    char rules[2048];
    wh_buf b;
    wh_buf_init(&b, rules, sizeof rules);
    wh_buf_puts(&b, "[");
    for (size_t i = 0; i < rv->nfired && !b.trunc; i++) {
        /* Rule ids, severities and actions are static kebab-case words: no escaping needed. */
        const char *parts[7] = {i ? ",{\"rule\":\"" : "{\"rule\":\"", rv->fired[i].rule,
                                "\",\"severity\":\"", k5_severity_str(rv->fired[i].severity),
                                "\",\"action\":\"", wh_action_str(rv->fired[i].action), "\"}"};
        size_t lens[7], total = 0;
        for (size_t k = 0; k < 7; k++)
            total += lens[k] = strlen(parts[k]);
        if (total >= 160 || b.len + total + 2 >= sizeof rules)
            break;
        for (size_t k = 0; k < 7; k++)
            wh_buf_putn(&b, parts[k], lens[k]);
    }
    wh_buf_puts(&b, "]");
    wh_logline_raw(&l, "rules", rules);
    if (rv->cache_state) {
        wh_logline_str(&l, "cache", rv->cache_state);
        wh_logline_int(&l, "partners", (int64_t)rv->partners);
    }
    wh_logline_int(&l, "durationMicros", duration_ns / 1000);
    if (rv->http_status != 200)
        wh_logline_str(&l, "error", rv->detail);
    wh_logline_emit(&l);
}
