/*
 * libFuzzer target: what the Kubernetes API client (kube5xx_kube) parses.
 * The first byte picks the parser, the rest is its input:
 *   0  a kubeconfig (YAML into cJSON, contexts, clusters, users, base64 fields)
 *   1  a list page from the API server (items typed and trimmed, continue, rv)
 *   2  a watch stream (JSON lines: ADDED/MODIFIED/DELETED/BOOKMARK/ERROR), split into
 *      lines directly, then again through the client's streaming line splitter
 *      (k5__kube_stream_feed) in pieces of 1, 7, 64 or 16384 bytes (the byte's spare bits)
 *   out/fuzz/tests/fuzz/fuzz_kube -max_total_time=60 tests/fuzz/seeds/kube
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <kube5xx/k5_kube.h>

#include "kube_internal.h"

static int on_item(void *ud, const cJSON *obj)
{
    size_t *n = ud;
    /* Touch what a consumer reads, so that a malformed object would show. */
    if (obj)
        *n += cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind")) != NULL;
    return 0;
}

static void on_event(void *ud, const k5_kube_kind *k, k5_kube_event t, const cJSON *obj)
{
    (void)k, (void)t;
    size_t *n = ud;
    *n += cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    const k5_kube_kind *kind = k5_kube_kind_at(data[0] % k5_kube_kind_count());
    size_t seen = 0;
    k5_error err = {0};
    switch (data[0] % 3) {
    case 0: {
        k5_kube_config *cfg = NULL;
        if (k5_kube_config_parse(&cfg, "fuzz", "/tmp", in, n, NULL, &err) == K5_OK) {
            k5_kube_config *copy = k5_kube_config_dup(cfg);
            k5_kube_config_free(&copy);
        }
        k5_kube_config_free(&cfg);
        break;
    }
    case 1: {
        char rv[K5_KUBE_MAX_RV_BYTES];
        char *cont = NULL;
        if (k5__kube_list_page(in, n, kind, on_item, &seen, rv, &cont, &err) == K5_OK)
            free(cont);
        break;
    }
    default: {
        k5_kube_handlers h = {NULL, on_event, NULL, NULL, &seen};
        k5__kube_watch_feed(kind, &h, in, n, 0);
        /* Again through the client's line splitter, in pieces of a size the first byte's
         * spare bits pick, so lines cross the writes' boundaries. */
        static const size_t chunks[] = {1, 7, 64, 16384};
        k5__kube_watch_feed(kind, &h, in, n, chunks[(data[0] / 3) % 4]);
        break;
    }
    }
    return 0;
}
