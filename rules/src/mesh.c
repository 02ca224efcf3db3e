/*
 * Istio hosts: how a VirtualService destination, a DestinationRule or a
 * ServiceEntry names a Kubernetes Service, shared by the index and the mesh
 * rules so that both spell a host the same way.
 */
#include <ctype.h>

#include "k5_index.h"

static bool all_digits(const char *p, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

bool k5__mesh_host_parse(k5_str host, k5_str own_ns, k5__mesh_host *out)
{
    memset(out, 0, sizeof *out);
    if (!host.n || !host.p)
        return false;
    size_t dots[4], ndots = 0;
    for (size_t i = 0; i < host.n; i++) {
        char ch = host.p[i];
        if (ch == '*' || ch == ':' || ch == '/' || isspace((unsigned char)ch))
            return false; /* a wildcard, an IPv6 address, a URL: not a Service name */
        if (ch == '.' && ndots < 4)
            dots[ndots++] = i;
        else if (ch == '.')
            ndots = 5;
    }
    if (ndots == 0) {
        /* A short name: Istio appends the rule's own namespace and the cluster domain. */
        out->name = host;
        out->ns = own_ns;
        out->form = K5__MESH_SHORT;
        return true;
    }
    out->name = (k5_str){host.p, dots[0]};
    size_t nse = ndots > 1 ? dots[1] : host.n;
    out->ns = (k5_str){host.p + dots[0] + 1, nse - dots[0] - 1};
    if (!out->name.n || !out->ns.n || all_digits(out->name.p, out->name.n))
        return false; /* "1.2.3.4" or an empty label */
    if (ndots == 1) {
        out->form = K5__MESH_NS; /* name.ns, or an external name such as example.com */
        return true;
    }
    size_t svce = ndots > 2 ? dots[2] : host.n;
    k5_str third = {host.p + dots[1] + 1, svce - dots[1] - 1};
    if (third.n == 3 && memcmp(third.p, "svc", 3) == 0 && (ndots == 2 || svce + 1 < host.n)) {
        /* name.ns.svc, name.ns.svc.cluster.local or a custom cluster domain. */
        out->form = K5__MESH_SVC;
        return true;
    }
    return false;
}

bool k5__mesh_is(const k5_object *o, const char *kind)
{
    static const char group[] = "networking.istio.io/";
    return k5__str_eq(o->kind, (k5_str){kind, strlen(kind)}) &&
           o->api_version.n > sizeof group - 1 &&
           memcmp(o->api_version.p, group, sizeof group - 1) == 0;
}
