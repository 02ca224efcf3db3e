/*
 * The webhook benchmark's floor: the least a libmicrohttpd + GnuTLS server can
 * do per AdmissionReview on this machine. It reads the body, parses it with
 * cJSON and returns a constant allowed review; no rules, no logging, no
 * metrics. kube5xx-webhook's throughput is reported as a ratio of this one's.
 *
 *   wh-bench-floor CERT KEY PORT THREADS
 *
 * THREADS 1 is one epoll thread; more is a pool of that many.
 */
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct body {
    char *p;
    size_t len, cap;
} body;

static const char k_answer[] = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                               "\"response\":{\"uid\":\"\",\"allowed\":true}}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    body *b = *req_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return MHD_NO;
        *req_cls = b;
        return MHD_YES;
    }
    if (*size) {
        if (b->len + *size > 3u * 1024u * 1024u)
            return MHD_NO;
        if (b->len + *size + 1 > b->cap) {
            size_t cap = (b->len + *size + 1) * 2;
            char *p = realloc(b->p, cap);
            if (!p)
                return MHD_NO;
            b->p = p;
            b->cap = cap;
        }
        memcpy(b->p + b->len, data, *size);
        b->len += *size;
        *size = 0;
        return MHD_YES;
    }
    cJSON *j = cJSON_ParseWithLength(b->p ? b->p : "", b->len);
    int ok = j != NULL;
    cJSON_Delete(j);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        ok ? sizeof k_answer - 1 : 4, ok ? (void *)k_answer : (void *)"bad\n",
        MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", ok ? "application/json" : "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, ok ? 200 : 400, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    body *b = *req_cls;
    if (b) {
        free(b->p);
        free(b);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s CERT KEY PORT THREADS\n", argv[0]);
        return 2;
    }
    char *cert = slurp(argv[1]), *key = slurp(argv[2]);
    char *end;
    long port = strtol(argv[3], &end, 10);
    long threads = strtol(argv[4], &end, 10);
    if (!cert || !key || port <= 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct MHD_OptionItem opts[8];
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_done, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL};
    if (threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, on_request, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot start on port %ld\n", port);
        return 1;
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    free(cert);
    free(key);
    return 0;
}
