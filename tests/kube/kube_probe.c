/*
 * kube_probe: drives kube5xx_kube from the command line for the end-to-end
 * tests against tests/kube/fake_apiserver.py. Output is one line per fact, so
 * that the Python driver can wait for and assert each one.
 *
 * Every command takes [--kubeconfig F] [--context C], or --in-cluster SA_DIR (with
 * KUBERNETES_SERVICE_HOST/_PORT in the environment).
 *   kube_probe list     [--kubeconfig F] [--context C] --kind K [-n NS] [--limit N]
 *       RV <resourceVersion> / ITEM <ns>/<name> <rv> <has-managedFields> <has-status>
 *   kube_probe discover [--kubeconfig F] [--context C] --kind K
 *       SERVED <kind> yes <group/version served> | SERVED <kind> no  (versions tried in order)
 *   kube_probe watch    [--kubeconfig F] [--context C] --kind K[,K...] [-n NS]
 *                       [--watch-timeout S] [--backoff-ms MS] [--limit N]
 *       BEGIN <kind> / <TYPE> <kind> <ns>/<name> <rv> / END <kind> / ERROR <kind> <msg>
 *       runs until its standard input closes, then prints STATS lines and exits.
 * Exit status: 0, or 2 with the error on stderr.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <kube5xx/k5_kube.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) K5_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    pthread_mutex_lock(&out_lock);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static const char *meta_str(const cJSON *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int on_item(void *ud, const cJSON *obj)
{
    (void)ud;
    if (!obj) {
        say("RESTART\n");
        return 0;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    say("ITEM %s/%s %s %s %s %s/%s\n", meta_str(obj, "namespace"), meta_str(obj, "name"),
        meta_str(obj, "resourceVersion"),
        cJSON_GetObjectItemCaseSensitive(m, "managedFields") ? "managedFields" : "-",
        cJSON_GetObjectItemCaseSensitive(obj, "status") ? "status" : "-",
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")),
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind")));
    return 0;
}

static void on_begin(void *ud, const k5_kube_kind *k)
{
    (void)ud;
    say("BEGIN %s\n", k->kind);
}

static void on_event(void *ud, const k5_kube_kind *k, k5_kube_event t, const cJSON *obj)
{
    (void)ud;
    say("%s %s %s/%s %s\n", k5_kube_event_str(t), k->kind, meta_str(obj, "namespace"),
        meta_str(obj, "name"), meta_str(obj, "resourceVersion"));
}

static void on_end(void *ud, const k5_kube_kind *k)
{
    (void)ud;
    say("END %s\n", k->kind);
}

static void on_error(void *ud, const k5_kube_kind *k, const char *msg)
{
    (void)ud;
    say("ERROR %s %s\n", k->kind, msg);
}

static int fail(const char *what, const k5_error *err)
{
    fprintf(stderr, "kube_probe: %s: %s\n", what, err->msg);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kube_probe list|discover|watch [options]\n");
        return 2;
    }
    const char *cmd = argv[1], *kubeconfig = NULL, *context = NULL, *kinds = NULL, *ns = NULL;
    const char *sa_dir = NULL;
    unsigned limit = 0, watch_timeout = 0, backoff = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "kube_probe: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--kubeconfig") == 0)
            kubeconfig = v;
        else if (strcmp(a, "--in-cluster") == 0)
            sa_dir = v;
        else if (strcmp(a, "--context") == 0)
            context = v;
        else if (strcmp(a, "--kind") == 0)
            kinds = v;
        else if (strcmp(a, "-n") == 0)
            ns = v;
        else if (strcmp(a, "--limit") == 0)
            limit = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--watch-timeout") == 0)
            watch_timeout = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--backoff-ms") == 0)
            backoff = (unsigned)strtoul(v, NULL, 10);
        else {
            fprintf(stderr, "kube_probe: unknown option %s\n", a);
            return 2;
        }
    }
    k5_error err = {0};
    k5_kube_config *cfg = NULL;
    k5_kube_client *c = NULL;
    if (sa_dir ? k5_kube_config_in_cluster(&cfg, sa_dir, &err) != K5_OK
               : k5_kube_config_load(&cfg, kubeconfig, context, &err) != K5_OK)
        return fail("config", &err);
    k5_status st = k5_kube_client_new(&c, cfg, &err);
    k5_kube_config_free(&cfg);
    if (st != K5_OK)
        return fail("client", &err);
    int rc = 0;
    const k5_kube_kind *kind = kinds ? k5_kube_kind_find(kinds) : NULL;
    if (strcmp(cmd, "list") == 0 && kind) {
        char rv[K5_KUBE_MAX_RV_BYTES] = "";
        long status = 0;
        if (k5_kube_list(c, kind, ns, limit, on_item, NULL, rv, &status, &err) != K5_OK)
            rc = fail("list", &err);
        else
            say("RV %s\n", rv);
    } else if (strcmp(cmd, "discover") == 0 && kind) {
        const k5_kube_kind *served = NULL;
        if (k5_kube_resolve(c, kind, &served, &err) != K5_OK)
            rc = fail("discover", &err);
        else if (served)
            say("SERVED %s yes %s%s%s\n", kind->kind, served->group, served->group[0] ? "/" : "",
                served->version);
        else
            say("SERVED %s no\n", kind->kind);
    } else if (strcmp(cmd, "watch") == 0 && kinds) {
        const k5_kube_kind *list[16];
        size_t n = 0;
        char *copy = strdup(kinds);
        for (char *p = copy; p && n < 16;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            if (!(list[n++] = k5_kube_kind_find(p))) {
                fprintf(stderr, "kube_probe: unknown kind %s\n", p);
                free(copy);
                k5_kube_client_free(&c);
                return 2;
            }
            p = comma ? comma + 1 : NULL;
        }
        free(copy);
        k5_kube_handlers h = {on_begin, on_event, on_end, on_error, NULL};
        k5_kube_informer_opts o = {ns, limit, watch_timeout, backoff, backoff ? backoff * 4 : 0};
        k5_kube_informer *inf = NULL;
        if (k5_kube_informer_start(&inf, c, list, n, &h, &o, &err) != K5_OK) {
            rc = fail("informer", &err);
        } else {
            char buf[256];
            while (read(0, buf, sizeof buf) > 0)
                ;
            for (size_t i = 0; i < n; i++) {
                k5_kube_stats s;
                if (k5_kube_informer_stats(inf, i, &s))
                    say("STATS %s state=%d objects=%llu lists=%llu restarts=%llu "
                        "list_errors=%llu watch_errors=%llu relists_410=%llu\n",
                        list[i]->kind, (int)s.state, (unsigned long long)s.objects,
                        (unsigned long long)s.lists, (unsigned long long)s.watch_restarts,
                        (unsigned long long)s.list_errors, (unsigned long long)s.watch_errors,
                        (unsigned long long)s.relists_410);
            }
            k5_kube_informer_stop(&inf);
            say("STOPPED\n");
        }
    } else {
        fprintf(stderr, "kube_probe: unknown command or kind\n");
        rc = 2;
    }
    k5_kube_client_free(&c);
    return rc;
}
