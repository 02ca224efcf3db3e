/*
 * kube5xx CLI: `kube5xx audit`, the whole rule catalog over a live cluster.
 *
 * Lists every kind of the client's table (kube5xx_kube) through the API,
 * converts the objects with the engine's cJSON loader (the webhook's path) and
 * runs the same rules and output formats as `lint`. A finding names its
 * object as `cluster:NAMESPACE/Kind/NAME` where `lint` prints file:line.
 *
 * Exit status, as `lint`: 0 no finding at or above --fail-on; 1 findings at
 * or above it; 2 usage, configuration, connection or API error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <kube5xx/k5_kube.h>

#include "lint_audit.h"
#include "lint_output.h"

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

/* Objects listed from the cluster, at most (beyond it the audit stops with an error). */
#define LINT_AUDIT_MAX_OBJECTS 1000000u
/* A progress line is shown on a terminal once this many objects are listed. */
#define LINT_AUDIT_PROGRESS_FROM 1000u

static const char audit_usage[] =
    "usage: kube5xx audit [options]\n"
    "\n"
    "Lists the cluster (every kind the rules read: workloads, Pods and ReplicaSets no\n"
    "controller owns, Services, Ingresses, PodDisruptionBudgets, HorizontalPodAutoscalers,\n"
    "and the kinds cross-object rules consult; kinds the server does not serve are\n"
    "skipped) and runs every rule over it, as `kube5xx lint` does over files. Findings\n"
    "name the object: cluster:NS/Kind/NAME.\n"
    "\n"
    "options:\n"
    "      --kubeconfig FILE  kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then\n"
    "                         the pod's service account when run in a cluster)\n"
    "      --context NAME     kubeconfig context (default: current-context)\n"
    "  -n, --namespace NS     audit one namespace (default: the context's, else default)\n"
    "  -A, --all-namespaces   audit every namespace\n"
    "  -f, --format FORMAT    text (default), json, sarif, junit, github\n"
    "  -o, --output FILE      write the report to FILE instead of stdout\n"
    "      --fail-on LEVEL    error (default), warning, info, or never\n"
    "  -c, --config FILE      config file (default: .kube5xx.yaml as for lint)\n"
    "      --no-config        ignore .kube5xx.yaml files\n"
    "      --show-suppressed  also list findings silenced by kube5xx/ignore annotations\n"
    "  -q, --quiet            no progress line, no notices about skipped kinds\n"
    "      --chunk-size N     objects per list request (default 500)\n"
    "\n"
    "Exec and auth-provider credential plugins are not supported: use a token,\n"
    "tokenFile or client certificate.\n"
    "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage, connection or\n"
    "API error.\n";

static int audit_usage_error(const char *fmt, const char *arg)
{
    return lint_usage_error("audit", fmt, arg);
}

typedef struct audit_opts {
    const char *kubeconfig, *context, *ns, *format, *output, *config;
    bool all_ns, no_config, show_suppressed, quiet, fail_never;
    k5_severity fail_on;
    unsigned chunk;
} audit_opts;

static int parse_args(int argc, char **argv, audit_opts *a)
{
    static const struct option opts[] = {{"kubeconfig", required_argument, NULL, 'K'},
                                         {"context", required_argument, NULL, 'C'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"all-namespaces", no_argument, NULL, 'A'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"fail-on", required_argument, NULL, 'F'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"no-config", no_argument, NULL, 'N'},
                                         {"show-suppressed", no_argument, NULL, 'S'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"chunk-size", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    a->format = "text";
    a->fail_on = K5_SEV_ERROR;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:Af:o:c:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'K':
            a->kubeconfig = optarg;
            break;
        case 'C':
            a->context = optarg;
            break;
        case 'n':
            a->ns = optarg;
            break;
        case 'A':
            a->all_ns = true;
            break;
        case 'f':
            a->format = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "never") == 0)
                a->fail_never = true;
            else if (!k5_severity_parse(optarg, strlen(optarg), &a->fail_on) ||
                     a->fail_on == K5_SEV_OFF)
                return audit_usage_error(
                    "--fail-on must be error, warning, info or never, not '%s'", optarg);
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'N':
            a->no_config = true;
            break;
        case 'S':
            a->show_suppressed = true;
            break;
        case 'q':
            a->quiet = true;
            break;
        case 'L': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 10000)
                return audit_usage_error("--chunk-size must be 1 to 10000, not '%s'", optarg);
            a->chunk = (unsigned)v;
            break;
        }
        case 'h':
            fputs(audit_usage, stdout);
            return -1;
        default:
            return audit_usage_error("%s", "invalid option");
        }
    }
    if (optind < argc)
        return audit_usage_error("unexpected argument '%s' (audit reads the cluster, not files)",
                                 argv[optind]);
    if (a->all_ns && a->ns)
        return audit_usage_error("%s", "-n and -A exclude each other");
    return 0;
}

/* ------------------------------------------------------------------ listing */

typedef struct collect {
    cJSON *items;    /* this kind's objects, owned */
    size_t *total;   /* objects listed so far, all kinds */
    bool progress;   /* stderr is a terminal and progress is wanted */
    const char *kind;
    bool too_many;
    bool skip_owned; /* Pods, ReplicaSets: those a controller owns are judged through it */
} collect;

/* True when a controller (a ReplicaSet, a Deployment, a Job...) owns the object. */
static bool controlled(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(m, "ownerReferences");
    for (const cJSON *r = cJSON_IsArray(refs) ? refs->child : NULL; r; r = r->next)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "controller")))
            return true;
    return false;
}

static void progress_line(const collect *c)
{
    fprintf(stderr, "\rkube5xx: audit: %zu objects listed (%s)...\033[K", *c->total, c->kind);
    fflush(stderr);
}

static int collect_item(void *ud, const cJSON *obj)
{
    collect *c = ud;
    if (!obj) {
        /* The list started over (its continue token expired): drop what it gave so far. */
        *c->total -= (size_t)cJSON_GetArraySize(c->items);
        cJSON *fresh = cJSON_CreateArray();
        if (!fresh)
            return 1;
        cJSON_Delete(c->items);
        c->items = fresh;
        return 0;
    }
    if (c->skip_owned && controlled(obj))
        return 0;
    if (*c->total >= LINT_AUDIT_MAX_OBJECTS) {
        c->too_many = true;
        return 1;
    }
    cJSON *copy = cJSON_Duplicate(obj, true);
    if (!copy || !cJSON_AddItemToArray(c->items, copy)) {
        cJSON_Delete(copy);
        return 1;
    }
    ++*c->total;
    if (c->progress && *c->total >= LINT_AUDIT_PROGRESS_FROM && *c->total % 250 == 0)
        progress_line(c);
    return 0;
}

/* "cluster:NS/Kind/NAME" ("cluster:Kind/NAME" for cluster-scoped objects), malloc'd. */
static char *object_name(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
    size_t n = 32 + strlen(ns ? ns : "") + strlen(name ? name : "") + strlen(kind ? kind : "");
    char *s = malloc(n);
    if (!s)
        return NULL;
    if (ns && ns[0])
        snprintf(s, n, "cluster:%s/%s/%s", ns, kind ? kind : "?", name ? name : "");
    else
        snprintf(s, n, "cluster:%s/%s", kind ? kind : "?", name ? name : "");
    return s;
}

/* Lists every kind into `set`. Returns EXIT_CLEAN or EXIT_ERROR (printed). */
static int list_cluster(const audit_opts *a, k5_kube_client *client, const char *ns,
                        k5_docset *set, size_t *nobjects)
{
    bool progress = !a->quiet && isatty(STDERR_FILENO);
    bool shown = false;
    size_t total = 0;
    int rc = EXIT_CLEAN;
    for (size_t i = 0; i < k5_kube_kind_count() && rc == EXIT_CLEAN; i++) {
        const k5_kube_kind *preferred = k5_kube_kind_at(i), *kind = NULL;
        k5_error err = {0};
        if (k5_kube_resolve(client, preferred, &kind, &err) != K5_OK) {
            fprintf(stderr, "%skube5xx: audit: %s\n", shown ? "\n" : "", err.msg);
            return EXIT_ERROR;
        }
        if (!kind) {
            if (!a->quiet) {
                fprintf(stderr, "%skube5xx: audit: notice: the server does not serve %s (",
                        shown ? "\r\033[K" : "", preferred->kind);
                for (const k5_kube_kind *k = preferred; k; k = k->fallback)
                    fprintf(stderr, "%s%s%s%s", k == preferred ? "" : ", ", k->group,
                            k->group[0] ? "/" : "", k->version);
                fprintf(stderr, " %s): skipped\n", preferred->resource);
            }
            continue;
        }
        collect c = {cJSON_CreateArray(), &total, progress, kind->kind, false, !kind->cached};
        if (!c.items) {
            fprintf(stderr, "kube5xx: audit: out of memory\n");
            return EXIT_ERROR;
        }
        long status = 0;
        k5_status st = k5_kube_list(client, kind, ns, a->chunk, collect_item, &c, NULL, &status,
                                    &err);
        shown = shown || (progress && total >= LINT_AUDIT_PROGRESS_FROM);
        if (st != K5_OK) {
            if (shown)
                fputs("\r\033[K", stderr);
            if (c.too_many)
                fprintf(stderr, "kube5xx: audit: more than %u objects (limit "
                        "LINT_AUDIT_MAX_OBJECTS); audit one namespace at a time with -n\n",
                        LINT_AUDIT_MAX_OBJECTS);
            else
                fprintf(stderr, "kube5xx: audit: %s\n", err.msg);
            cJSON_Delete(c.items);
            return EXIT_ERROR;
        }
        const cJSON *obj;
        cJSON_ArrayForEach(obj, c.items)
        {
            char *name = object_name(obj);
            if (!name) {
                rc = EXIT_ERROR;
                fprintf(stderr, "kube5xx: audit: out of memory\n");
                break;
            }
            st = k5_docset_add_cjson(set, name, obj, &err);
            if (st != K5_OK) {
                fprintf(stderr, "%s: error: %s\n", name, err.msg[0] ? err.msg : k5_status_str(st));
                rc = EXIT_ERROR;
            }
            free(name);
            if (st == K5_ENOMEM)
                break;
        }
        cJSON_Delete(c.items);
    }
    if (shown)
        fputs("\r\033[K", stderr);
    *nobjects = total;
    return rc;
}

/* ------------------------------------------------------------------ main */

int lint_audit_main(int argc, char **argv)
{
    audit_opts a;
    int prc = parse_args(argc, argv, &a);
    if (prc < 0)
        return EXIT_CLEAN; /* --help */
    if (prc != 0)
        return prc;
    lint_output_fn writer = lint_output_find(a.format);
    if (!writer)
        return audit_usage_error("unknown format '%s' (text, json, sarif, junit, github)",
                                 a.format);
    k5_config *cfg = NULL;
    if (lint_config_load(a.config, a.no_config, &cfg) != 0)
        return EXIT_ERROR;

    int rc = EXIT_ERROR;
    k5_kube_config *kc = NULL;
    k5_kube_client *client = NULL;
    k5_docset *set = NULL;
    k5_report *rep = NULL;
    FILE *out = NULL;
    k5_error err = {0};
    if (k5_kube_config_load(&kc, a.kubeconfig, a.context, &err) != K5_OK) {
        fprintf(stderr, "kube5xx: audit: %s\n", err.msg);
        goto out;
    }
    if (k5_kube_client_new(&client, kc, &err) != K5_OK) {
        fprintf(stderr, "kube5xx: audit: %s\n", err.msg);
        goto out;
    }
    /* As kubectl: no -n means the context's namespace, else "default". */
    const char *ns = a.all_ns ? NULL : a.ns ? a.ns : kc->ns ? kc->ns : "default";
    if (k5_docset_new(&set, ns ? ns : "default") != K5_OK) {
        fprintf(stderr, "kube5xx: audit: out of memory\n");
        goto out;
    }
    size_t nobjects = 0;
    if (list_cluster(&a, client, ns, set, &nobjects) != EXIT_CLEAN)
        goto out;
    if (k5_run(set, cfg, 0, &rep, &err) != K5_OK) {
        fprintf(stderr, "kube5xx: audit: %s\n", err.msg);
        goto out;
    }
    out = a.output ? fopen(a.output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "%s: error: cannot write: %s\n", a.output, strerror(errno));
        goto out;
    }
    bool is_text = strcmp(a.format, "text") == 0;
    const char *nc = getenv("NO_COLOR");
    lint_output o = {.fp = out,
                     .color = is_text && isatty(fileno(out)) && !(nc && *nc),
                     .show_suppressed = a.show_suppressed,
                     .set = set,
                     .report = rep,
                     .fail_on = a.fail_on,
                     .cluster = true};
    if (writer(&o) != 0 || fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "kube5xx: cannot write the report: %s\n", strerror(errno));
        goto out;
    }
    rc = EXIT_CLEAN;
    if (!a.fail_never) {
        for (size_t i = 0; i < k5_report_count(rep); i++) {
            const k5_finding *f = k5_report_at(rep, i);
            if (!f->suppressed && f->severity >= a.fail_on) {
                rc = EXIT_FINDINGS;
                break;
            }
        }
    }
out:
    if (out && out != stdout && fclose(out) != 0 && rc != EXIT_ERROR) {
        fprintf(stderr, "%s: error: cannot write: %s\n", a.output, strerror(errno));
        rc = EXIT_ERROR;
    }
    k5_report_free(&rep);
    k5_docset_free(&set);
    k5_kube_client_free(&client);
    k5_kube_config_free(&kc);
    k5_config_free(&cfg);
    return rc;
}
