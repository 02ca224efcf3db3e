/*
 * kube5xx_kube: the kinds the rules read from a cluster, and where the API
 * serves them. One line per kind; the informer, discovery and `kube5xx audit`
 * all iterate this table. Versions are the GA ones every supported
 * Kubernetes release serves (autoscaling/v2 since 1.23, policy/v1 and
 * networking.k8s.io/v1 Ingress since 1.21/1.19).
 */
#include <string.h>

#include "kube_internal.h"

static const k5_kube_kind kinds[] = {
    {"Deployment", "apps", "v1", "deployments", true},
    {"StatefulSet", "apps", "v1", "statefulsets", true},
    {"DaemonSet", "apps", "v1", "daemonsets", true},
    {"Service", "", "v1", "services", true},
    {"Ingress", "networking.k8s.io", "v1", "ingresses", true},
    {"PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", true},
    {"HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", true},
};

size_t k5_kube_kind_count(void)
{
    return sizeof kinds / sizeof kinds[0];
}

const k5_kube_kind *k5_kube_kind_at(size_t i)
{
    return i < k5_kube_kind_count() ? &kinds[i] : NULL;
}

const k5_kube_kind *k5_kube_kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < k5_kube_kind_count(); i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}
