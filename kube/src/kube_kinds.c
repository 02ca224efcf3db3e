/*
 * kube5xx_kube: the kinds the rules read from a cluster, and where the API
 * serves them, expanded from the engine's kind table (kube5xx/k5_kinds.def):
 * every kind flagged K5_KF_CACHE or K5_KF_AUDIT, once per apiVersion it lists
 * as served. The informer, discovery and `kube5xx audit` iterate this table,
 * so a kind appended to k5_kinds.def with one of those flags is listed and
 * watched with no change here.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <kube5xx/k5_object.h>

#include "kube_internal.h"

/* An apiVersion per kind at most this many (the table lists one to three). */
#define MAX_VERSIONS 4u
#define MAX_ENTRIES (K5__KIND_COUNT * MAX_VERSIONS)

static k5_kube_kind entries[MAX_ENTRIES];
static char strings[MAX_ENTRIES][2][128]; /* group, version */
static size_t nentries;
static const k5_kube_kind *preferred[K5__KIND_COUNT];
static size_t npreferred;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    for (size_t i = 0; i < k5_kind_count(); i++) {
        const k5_kind_info *ki = k5_kind_at(i);
        if (!(ki->flags & (K5_KF_CACHE | K5_KF_AUDIT)))
            continue;
        k5_kube_kind *prev = NULL;
        k5_str g, v;
        for (size_t j = 0; j < MAX_VERSIONS && nentries < MAX_ENTRIES &&
                           k5_kind_served_at(ki, j, &g, &v);
             j++) {
            char *gs = strings[nentries][0], *vs = strings[nentries][1];
            snprintf(gs, 128, "%.*s", (int)g.n, g.p);
            snprintf(vs, 128, "%.*s", (int)v.n, v.p);
            k5_kube_kind *k = &entries[nentries++];
            *k = (k5_kube_kind){ki->name, gs, vs, ki->resource,
                                !(ki->flags & K5_KF_CLUSTER_SCOPED), ki->kind,
                                (ki->flags & K5_KF_CACHE) != 0, NULL};
            if (prev)
                prev->fallback = k;
            else
                preferred[npreferred++] = k;
            prev = k;
        }
    }
}

size_t k5_kube_kind_count(void)
{
    pthread_once(&once, build);
    return npreferred;
}

const k5_kube_kind *k5_kube_kind_at(size_t i)
{
    return i < k5_kube_kind_count() ? preferred[i] : NULL;
}

const k5_kube_kind *k5_kube_kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < k5_kube_kind_count(); i++)
        if (strcmp(preferred[i]->kind, kind) == 0)
            return preferred[i];
    return NULL;
}
