/*
 * kube5xx-webhook: feeding the cluster cache from the Kubernetes API (the
 * kube client's informer: list + watch per cached kind).
 */
#ifndef KUBE5XX_WH_INFORMER_H
#define KUBE5XX_WH_INFORMER_H

#include "wh_cache.h"

typedef struct wh_informer wh_informer;

/*
 * Loads the API configuration (`kubeconfig` and `context` may be NULL: then
 * $KUBECONFIG, ~/.kube/config, or in-cluster, as kubectl does) and starts
 * watching every kind the cache holds, feeding `cache` (borrowed; it must
 * outlive the informer). On failure err says why and *out is untouched.
 */
WH_WUR wh_status wh_informer_start(wh_cache *cache, const char *kubeconfig, const char *context,
                                   wh_informer **out, char *err, size_t errsz);

/* Called from the main loop: kinds the server turned out not to serve stop being waited for. */
void wh_informer_poll(wh_informer *inf);

/* Stops the watches (no callback runs after it returns) and frees. Accepts NULL. */
void wh_informer_stop(wh_informer **inf);

#endif
