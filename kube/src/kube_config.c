/*
 * kube5xx_kube: where the API server is and how to authenticate.
 *
 * Kubeconfig semantics follow client-go's clientcmd: several files merge with
 * the first definition of a name winning; current-context comes from the
 * first file that sets it; relative paths are relative to the file that
 * holds them; a user's token wins over its tokenFile.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kube_internal.h"

/* One parsed kubeconfig file. */
typedef struct kfile {
    char *name;
    char *dir;
    cJSON *root;
} kfile;

typedef struct kset {
    kfile files[K5_KUBE_MAX_KUBECONFIG_FILES];
    size_t n;
} kset;

static void kset_free(kset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].name);
        free(s->files[i].dir);
        cJSON_Delete(s->files[i].root);
    }
    s->n = 0;
}

void k5_kube_config_free(k5_kube_config **cfg)
{
    if (!cfg || !*cfg)
        return;
    k5_kube_config *c = *cfg;
    free(c->server);
    free(c->ca_file);
    free(c->ca_pem);
    free(c->cert_file);
    free(c->cert_pem);
    free(c->key_file);
    free(c->key_pem);
    free(c->token);
    free(c->token_file);
    free(c->tls_server_name);
    free(c->ns);
    free(c->context);
    free(c->source);
    free(c);
    *cfg = NULL;
}

static bool dup_field(char **dst, const char *src)
{
    if (!src) {
        *dst = NULL;
        return true;
    }
    *dst = strdup(src);
    return *dst != NULL;
}

k5_kube_config *k5_kube_config_dup(const k5_kube_config *cfg)
{
    k5_kube_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->insecure = cfg->insecure;
    bool ok = dup_field(&c->server, cfg->server) && dup_field(&c->ca_file, cfg->ca_file) &&
              dup_field(&c->ca_pem, cfg->ca_pem) && dup_field(&c->cert_file, cfg->cert_file) &&
              dup_field(&c->cert_pem, cfg->cert_pem) && dup_field(&c->key_file, cfg->key_file) &&
              dup_field(&c->key_pem, cfg->key_pem) && dup_field(&c->token, cfg->token) &&
              dup_field(&c->token_file, cfg->token_file) &&
              dup_field(&c->tls_server_name, cfg->tls_server_name) &&
              dup_field(&c->ns, cfg->ns) && dup_field(&c->context, cfg->context) &&
              dup_field(&c->source, cfg->source);
    if (!ok)
        k5_kube_config_free(&c);
    return c;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Finds section[i] with name == `name` in the first file that has it. */
static const cJSON *lookup(const kset *s, const char *section, const char *field, const char *name,
                           const kfile **from)
{
    for (size_t f = 0; f < s->n; f++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(s->files[f].root, section);
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)
        {
            const char *n = jstr(it, "name");
            if (n && strcmp(n, name) == 0) {
                *from = &s->files[f];
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, field);
                return cJSON_IsObject(v) ? v : it; /* an entry without a body is empty */
            }
        }
    }
    return NULL;
}

/* A path from a kubeconfig, made absolute against the file's directory. */
static char *resolve(const kfile *f, const char *path)
{
    if (path[0] == '/' || !f->dir)
        return strdup(path);
    size_t n = strlen(f->dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", f->dir, path);
    return p;
}

static k5_status set_path(char **dst, const kfile *f, const char *path, k5_error *err)
{
    if (!path)
        return K5_OK;
    *dst = resolve(f, path);
    return *dst ? K5_OK : k5__kube_err(err, K5_ENOMEM, "out of memory");
}

static k5_status set_b64(char **dst, const kfile *f, const char *what, const char *entry,
                         const char *b64, k5_error *err)
{
    if (!b64)
        return K5_OK;
    size_t n = 0;
    if (strlen(b64) > (size_t)K5_KUBE_MAX_PEM_BYTES / 3 * 4 + 4)
        return k5__kube_err(err, K5_ELIMIT, "%s: %s of \"%s\" is larger than %u bytes (limit "
                            "K5_KUBE_MAX_PEM_BYTES)", f->name, what, entry, K5_KUBE_MAX_PEM_BYTES);
    if (!k5__kube_base64(b64, strlen(b64), dst, &n))
        return k5__kube_err(err, K5_EINVAL, "%s: %s of \"%s\" is not valid base64", f->name, what,
                            entry);
    if (n == 0 || memchr(*dst, '\0', n)) {
        free(*dst);
        *dst = NULL;
        return k5__kube_err(err, K5_EINVAL, "%s: %s of \"%s\" does not decode to PEM text",
                            f->name, what, entry);
    }
    return K5_OK;
}

static bool truthy(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
                 strcmp(s, "yes") == 0 || strcmp(s, "on") == 0 || strcmp(s, "1") == 0);
}

static k5_status fill_cluster(k5_kube_config *c, const kfile *f, const char *name,
                              const cJSON *cl, k5_error *err)
{
    const char *server = jstr(cl, "server");
    if (!server)
        return k5__kube_err(err, K5_EINVAL, "%s: cluster \"%s\" has no server", f->name, name);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return k5__kube_err(err, K5_EINVAL,
                            "%s: cluster \"%s\": server \"%s\" is not an http(s) URL", f->name,
                            name, server);
    c->server = strdup(server);
    if (!c->server)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    size_t sl = strlen(c->server);
    while (sl > 0 && c->server[sl - 1] == '/')
        c->server[--sl] = '\0';
    if (jstr(cl, "proxy-url"))
        return k5__kube_err(err, K5_EINVAL, "%s: cluster \"%s\": proxy-url is not supported",
                            f->name, name);
    c->insecure = truthy(jstr(cl, "insecure-skip-tls-verify"));
    k5_status st = set_b64(&c->ca_pem, f, "certificate-authority-data", name,
                           jstr(cl, "certificate-authority-data"), err);
    if (st == K5_OK && !c->ca_pem)
        st = set_path(&c->ca_file, f, jstr(cl, "certificate-authority"), err);
    if (st == K5_OK && jstr(cl, "tls-server-name") &&
        !(c->tls_server_name = strdup(jstr(cl, "tls-server-name"))))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    return st;
}

static k5_status fill_user(k5_kube_config *c, const kfile *f, const char *name, const cJSON *u,
                           k5_error *err)
{
    const cJSON *exec = cJSON_GetObjectItemCaseSensitive(u, "exec");
    if (exec && !cJSON_IsNull(exec)) {
        const char *cmd = jstr(exec, "command");
        return k5__kube_err(err, K5_EINVAL,
                            "%s: user \"%s\" authenticates through the exec credential plugin "
                            "\"%s\", which kube5xx does not run; use a token, tokenFile or client "
                            "certificate (e.g. a service account's token)",
                            f->name, name, cmd ? cmd : "?");
    }
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(u, "auth-provider");
    if (ap && !cJSON_IsNull(ap)) {
        const char *pn = jstr(ap, "name");
        return k5__kube_err(err, K5_EINVAL,
                            "%s: user \"%s\" authenticates through the auth-provider plugin "
                            "\"%s\", which kube5xx does not support; use a token, tokenFile or "
                            "client certificate",
                            f->name, name, pn ? pn : "?");
    }
    if (jstr(u, "username") || jstr(u, "password"))
        return k5__kube_err(err, K5_EINVAL,
                            "%s: user \"%s\" uses basic authentication (username/password), "
                            "which kube5xx does not support",
                            f->name, name);
    k5_status st = set_b64(&c->cert_pem, f, "client-certificate-data", name,
                           jstr(u, "client-certificate-data"), err);
    if (st == K5_OK && !c->cert_pem)
        st = set_path(&c->cert_file, f, jstr(u, "client-certificate"), err);
    if (st == K5_OK)
        st = set_b64(&c->key_pem, f, "client-key-data", name, jstr(u, "client-key-data"), err);
    if (st == K5_OK && !c->key_pem)
        st = set_path(&c->key_file, f, jstr(u, "client-key"), err);
    if (st != K5_OK)
        return st;
    bool has_cert = c->cert_pem || c->cert_file, has_key = c->key_pem || c->key_file;
    if (has_cert != has_key)
        return k5__kube_err(err, K5_EINVAL, "%s: user \"%s\" has a client %s but no client %s",
                            f->name, name, has_cert ? "certificate" : "key",
                            has_cert ? "key" : "certificate");
    const char *token = jstr(u, "token");
    if (token) {
        if (strlen(token) > K5_KUBE_MAX_TOKEN_BYTES)
            return k5__kube_err(err, K5_ELIMIT, "%s: token of user \"%s\" is longer than %u "
                                "bytes (limit K5_KUBE_MAX_TOKEN_BYTES)", f->name, name,
                                K5_KUBE_MAX_TOKEN_BYTES);
        c->token = strdup(token);
        return c->token ? K5_OK : k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    return set_path(&c->token_file, f, jstr(u, "tokenFile"), err);
}

static k5_status resolve_config(k5_kube_config **out, const kset *s, const char *context,
                                k5_error *err)
{
    const char *ctx = context;
    const kfile *cf = NULL;
    if (!ctx || !ctx[0]) {
        ctx = NULL;
        for (size_t i = 0; i < s->n && !ctx; i++)
            ctx = jstr(s->files[i].root, "current-context");
        if (!ctx)
            return k5__kube_err(err, K5_EINVAL,
                                "%s: no current-context is set; pass --context NAME",
                                s->n ? s->files[0].name : "kubeconfig");
    }
    const cJSON *cx = lookup(s, "contexts", "context", ctx, &cf);
    if (!cx)
        return k5__kube_err(err, K5_ENOTFOUND, "%s: context \"%s\" not found",
                            s->n ? s->files[0].name : "kubeconfig", ctx);
    const char *cluster = jstr(cx, "cluster"), *user = jstr(cx, "user");
    if (!cluster)
        return k5__kube_err(err, K5_EINVAL, "%s: context \"%s\" names no cluster", cf->name, ctx);
    const kfile *clf = NULL, *uf = NULL;
    const cJSON *cl = lookup(s, "clusters", "cluster", cluster, &clf);
    if (!cl)
        return k5__kube_err(err, K5_ENOTFOUND, "%s: cluster \"%s\" (of context \"%s\") not found",
                            cf->name, cluster, ctx);
    const cJSON *u = user ? lookup(s, "users", "user", user, &uf) : NULL;
    if (user && !u)
        return k5__kube_err(err, K5_ENOTFOUND, "%s: user \"%s\" (of context \"%s\") not found",
                            cf->name, user, ctx);
    k5_kube_config *c = calloc(1, sizeof *c);
    if (!c)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    k5_status st = fill_cluster(c, clf, cluster, cl, err);
    if (st == K5_OK && u)
        st = fill_user(c, uf, user, u, err);
    if (st == K5_OK && ((jstr(cx, "namespace") && !(c->ns = strdup(jstr(cx, "namespace")))) ||
                        !(c->context = strdup(ctx)) || !(c->source = strdup(cf->name))))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    if (st != K5_OK) {
        k5_kube_config_free(&c);
        return st;
    }
    *out = c;
    return K5_OK;
}

static k5_status kset_add(kset *s, const char *name, const char *dir, const char *buf, size_t len,
                          k5_error *err)
{
    if (s->n >= K5_KUBE_MAX_KUBECONFIG_FILES)
        return k5__kube_err(err, K5_ELIMIT, "more than %u kubeconfig files (limit "
                            "K5_KUBE_MAX_KUBECONFIG_FILES)", K5_KUBE_MAX_KUBECONFIG_FILES);
    if (len > K5_KUBE_MAX_KUBECONFIG_BYTES)
        return k5__kube_err(err, K5_ELIMIT, "%s: kubeconfig is larger than %u bytes (limit "
                            "K5_KUBE_MAX_KUBECONFIG_BYTES)", name, K5_KUBE_MAX_KUBECONFIG_BYTES);
    kfile *f = &s->files[s->n];
    f->name = strdup(name);
    f->dir = dir ? strdup(dir) : NULL;
    if (!f->name || (dir && !f->dir)) {
        free(f->name);
        free(f->dir);
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    k5_status st = K5_OK;
    f->root = k5__kube_yaml_parse(f->name, buf, len, &st, err);
    if (f->root && !cJSON_IsObject(f->root)) {
        cJSON_Delete(f->root);
        f->root = NULL;
        st = k5__kube_err(err, K5_EPARSE, "%s: a kubeconfig is a YAML map", name);
    }
    if (!f->root) {
        if (err && err->line) {
            /* The YAML error's message lacks the file name, which err->file points at (our
             * copy, about to be freed): fold it into the message. */
            char tmp[sizeof err->msg];
            memcpy(tmp, err->msg, sizeof tmp);
            int n = snprintf(err->msg, sizeof err->msg, "%s:%u:%u: ", name, err->line,
                             err->column);
            if (n > 0 && (size_t)n < sizeof err->msg) {
                size_t m = strnlen(tmp, sizeof err->msg - (size_t)n - 1);
                memcpy(err->msg + n, tmp, m);
                err->msg[(size_t)n + m] = '\0';
            }
            err->file = NULL;
            err->line = err->column = 0;
        }
        free(f->name);
        free(f->dir);
        return st;
    }
    s->n++;
    return K5_OK;
}

k5_status k5_kube_config_parse(k5_kube_config **out, const char *name, const char *dir,
                               const char *buf, size_t len, const char *context, k5_error *err)
{
    kset s = {0};
    k5_status st = kset_add(&s, name ? name : "kubeconfig", dir, buf, len, err);
    if (st == K5_OK)
        st = resolve_config(out, &s, context, err);
    kset_free(&s);
    return st;
}

static k5_status load_file(kset *s, const char *path, k5_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    k5_status st = k5__kube_read_file(path, K5_KUBE_MAX_KUBECONFIG_BYTES,
                                      "K5_KUBE_MAX_KUBECONFIG_BYTES", "kubeconfig", &buf, &len, err);
    if (st != K5_OK)
        return st;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash) {
        *slash = '\0';
        d = dir;
    }
    st = kset_add(s, path, d, buf, len, err);
    free(buf);
    return st;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

k5_status k5_kube_config_load(k5_kube_config **out, const char *kubeconfig, const char *context,
                              k5_error *err)
{
    kset s = {0};
    k5_status st = K5_OK;
    const char *env = getenv("KUBECONFIG");
    if (kubeconfig && kubeconfig[0]) {
        st = load_file(&s, kubeconfig, err);
    } else if (env && env[0]) {
        /* Files of the list that do not exist are skipped, as kubectl does. */
        char *list = strdup(env);
        if (!list)
            return k5__kube_err(err, K5_ENOMEM, "out of memory");
        for (char *p = list; p && st == K5_OK;) {
            char *colon = strchr(p, ':');
            if (colon)
                *colon = '\0';
            if (p[0] && file_exists(p))
                st = load_file(&s, p, err);
            p = colon ? colon + 1 : NULL;
        }
        free(list);
        if (st == K5_OK && s.n == 0)
            st = k5__kube_err(err, K5_ENOTFOUND, "none of the files in $KUBECONFIG (%s) exists",
                              env);
    } else {
        const char *home = getenv("HOME");
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/.kube/config", home && home[0] ? home : "");
        if (home && home[0] && file_exists(path))
            st = load_file(&s, path, err);
        else if (getenv("KUBERNETES_SERVICE_HOST") && !(context && context[0]))
            return k5_kube_config_in_cluster(out, NULL, err);
        else
            st = k5__kube_err(err, K5_ENOTFOUND,
                              "no kubeconfig: pass --kubeconfig FILE, set $KUBECONFIG, create "
                              "~/.kube/config, or run in a pod (KUBERNETES_SERVICE_HOST)");
    }
    if (st == K5_OK)
        st = resolve_config(out, &s, context, err);
    kset_free(&s);
    return st;
}

k5_status k5_kube_config_in_cluster(k5_kube_config **out, const char *sa_dir, k5_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !host[0] || !port || !port[0])
        return k5__kube_err(err, K5_EINVAL, "not in a cluster: KUBERNETES_SERVICE_HOST and "
                            "KUBERNETES_SERVICE_PORT must be set");
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return k5__kube_err(err, K5_EINVAL, "KUBERNETES_SERVICE_PORT \"%s\" is not a port", port);
    if (strlen(host) > 253 || strpbrk(host, "/ @?#"))
        return k5__kube_err(err, K5_EINVAL, "KUBERNETES_SERVICE_HOST \"%.64s\" is not a host",
                            host);
    const char *dir = sa_dir ? sa_dir : K5_KUBE_SA_DIR;
    k5_kube_config *c = calloc(1, sizeof *c);
    if (!c)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    char buf[PATH_MAX];
    bool v6 = strchr(host, ':') != NULL;
    k5_status st = K5_OK;
    int n = snprintf(buf, sizeof buf, "https://%s%s%s:%ld", v6 ? "[" : "", host, v6 ? "]" : "", p);
    if (n < 0 || (size_t)n >= sizeof buf || !(c->server = strdup(buf)))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    snprintf(buf, sizeof buf, "%s/token", dir);
    if (st == K5_OK && !(c->token_file = strdup(buf)))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    snprintf(buf, sizeof buf, "%s/ca.crt", dir);
    if (st == K5_OK && !(c->ca_file = strdup(buf)))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    if (st == K5_OK && (!(c->context = strdup("in-cluster")) || !(c->source = strdup(dir))))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    if (st == K5_OK && access(c->token_file, R_OK) != 0)
        st = k5__kube_err(err, K5_ENOTFOUND, "%s: cannot read the service account token: %s",
                          c->token_file, strerror(errno));
    if (st == K5_OK && access(c->ca_file, R_OK) != 0)
        st = k5__kube_err(err, K5_ENOTFOUND, "%s: cannot read the service account CA: %s",
                          c->ca_file, strerror(errno));
    if (st == K5_OK) {
        /* The pod's namespace is optional: only a default for namespaced requests. */
        snprintf(buf, sizeof buf, "%s/namespace", dir);
        char *ns = NULL;
        size_t len = 0;
        k5_error ignored = {0};
        if (k5__kube_read_file(buf, 253, "253", "namespace", &ns, &len, &ignored) == K5_OK) {
            while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == ' '))
                ns[--len] = '\0';
            if (len > 0)
                c->ns = ns;
            else
                free(ns);
        }
    }
    if (st != K5_OK) {
        k5_kube_config_free(&c);
        return st;
    }
    *out = c;
    return K5_OK;
}
