/*
 * kube5xx engine, internal: pod-spec helpers shared by the container, probe,
 * lifecycle and resource rules. Like k5_check.h, nothing here allocates; every
 * node and string returned is borrowed from the document.
 */
#ifndef KUBE5XX_CHECK_POD_H
#define KUBE5XX_CHECK_POD_H

#include "k5_check.h"

/* ---- containers ---- */

/* What a container is in its pod; a set of roles is a bit mask of these. */
typedef enum k5__ctr_role {
    K5__CTR_MAIN = 1u,    /* an item of spec.containers */
    K5__CTR_SIDECAR = 2u, /* a native sidecar: an init container with restartPolicy: Always */
    K5__CTR_INIT = 4u     /* any other init container: runs to completion before the app starts */
} k5__ctr_role;

/* Containers that run for the pod's whole life, next to the application. */
#define K5__CTR_RUNNING (K5__CTR_MAIN | K5__CTR_SIDECAR)
#define K5__CTR_ALL (K5__CTR_MAIN | K5__CTR_SIDECAR | K5__CTR_INIT)

typedef struct k5__ctr_iter {
    const k5_node *lists[2]; /* initContainers, containers */
    unsigned roles;
    size_t list, i;
} k5__ctr_iter;

/* Starts a walk over the containers of obj's pod template that have one of the roles. */
void k5__ctr_iter_init(k5__ctr_iter *it, const k5_object *obj, unsigned roles);
/* The next container (its list item), or NULL at the end; *role (may be NULL) receives its role. */
const k5_node *k5__ctr_next(k5__ctr_iter *it, k5__ctr_role *role);
/* "container", "sidecar container" or "init container", for messages. */
const char *k5__ctr_role_str(k5__ctr_role role);

/*
 * The container's resources.<which>.<resource> value ("limits", "memory"), or
 * NULL when it is absent or null.
 */
const k5_node *k5__ctr_resource(const k5_node *ctr, const char *which, const char *resource);

/*
 * The pod-level spec.resources.<which>.<resource> of obj's pod template, which
 * bounds all its containers together, or NULL when it is absent or null.
 */
const k5_node *k5__pod_resource(const k5_object *obj, const char *which, const char *resource);

/*
 * Where to report an absent resources.<which>.<resource>: the innermost map
 * that exists (limits, resources, or the container itself), with the missing
 * field path written into `missing`.
 */
const k5_node *k5__ctr_resource_parent(const k5_node *ctr, const char *which,
                                       const char *resource, char *missing, size_t size);

/*
 * terminationGracePeriodSeconds of the pod template, with the Kubernetes
 * default 30; *node (may be NULL) receives the field or NULL when it is unset.
 */
int64_t k5__pod_grace_seconds(const k5_object *obj, const k5_node **node);

/* ---- probes ---- */

typedef enum k5__handler {
    K5__HANDLER_NONE = 0,
    K5__HANDLER_HTTP = 1, /* httpGet */
    K5__HANDLER_TCP = 2,  /* tcpSocket */
    K5__HANDLER_GRPC = 3, /* grpc */
    K5__HANDLER_EXEC = 4  /* exec */
} k5__handler;

typedef struct k5__probe {
    const k5_node *node;    /* the probe (a map) */
    const k5_node *handler; /* httpGet, tcpSocket, grpc or exec (a map), or NULL */
    k5__handler type;
    const k5_node *port; /* handler.port, or NULL */
    /* The timing fields with the API server's defaults (0 or absent means the default). */
    int64_t period, failure, timeout;
    const k5_node *period_node, *failure_node, *timeout_node; /* NULL when unset */
} k5__probe;

/* Reads ctr.<field> ("livenessProbe"); false when the container has no such probe. */
bool k5__probe_get(const k5_node *ctr, const char *field, k5__probe *out);

/*
 * Resolves a probe port as the kubelet does (probe.ResolveContainerPort): a
 * number is itself, a name is looked up among the container's own declared
 * ports, and a string of digits that names no port is taken as a number.
 * Returns the port number, or 0 when the name is not declared.
 */
int64_t k5__probe_port(const k5_node *ctr, const k5_node *port);

/*
 * True when both probes of the container run the same check: the same httpGet
 * scheme, host, path and (resolved) port, the same tcpSocket port, the same grpc
 * port and service, or the same exec command.
 */
bool k5__probe_same_handler(const k5_node *ctr, const k5__probe *a, const k5__probe *b);

/* Writes the handler as a person reads it ("httpGet HTTP /healthz port 8080") into buf. */
void k5__probe_describe(const k5_node *ctr, const k5__probe *p, char *buf, size_t size);

/* ---- runtime heap bounds ---- */

/* One heap setting found in the container, and where. */
typedef struct k5__heap_flag {
    bool set;            /* a flag was found */
    bool known;          /* ... and its value parsed (false: `-Xmx${HEAP}`, judged unknown) */
    int64_t bytes;       /* the size in bytes (MaxHeapSize, max-old-space-size, GOMEMLIMIT) */
    double percent;      /* MaxRAMPercentage */
    const k5_node *at;   /* the env value or command/args item holding it */
    const char *source;  /* "JAVA_TOOL_OPTIONS", "command", "args", ...; NULL for GOMEMLIMIT */
    const char *prefix;  /* what to print before text: "" or the flag named in the word before */
    k5_str text;         /* the flag as written ("-Xmx2g") */
} k5__heap_flag;

/*
 * The JVM's effective -Xmx/-XX:MaxHeapSize and -XX:MaxRAMPercentage, read in
 * the order the JVM applies them (JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS, the
 * command line where JAVA_OPTS is conventionally expanded, then
 * _JAVA_OPTIONS); the last occurrence wins.
 */
void k5__heap_jvm(const k5_node *ctr, k5__heap_flag *max_heap, k5__heap_flag *ram_pct);

/* Node's --max-old-space-size (MiB) from NODE_OPTIONS, then command and args; the last wins. */
void k5__heap_node(const k5_node *ctr, k5__heap_flag *old_space);

/*
 * Go's GOMEMLIMIT (B, KiB, MiB, GiB, TiB; "off" is no limit). A value taken
 * from the container's own limits.memory through resourceFieldRef is
 * resolved against `limit` (bytes; 0 when there is none).
 */
void k5__heap_go(const k5_node *ctr, int64_t limit, k5__heap_flag *memlimit);

#endif
