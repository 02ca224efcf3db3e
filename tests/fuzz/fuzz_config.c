/*
 * libFuzzer target: the configuration parser (.kube5xx.yaml, also the
 * webhook's config file), then every rule over a fixed set of objects under
 * whatever config parsed, so that extreme thresholds (severity overrides,
 * "min: 9223372036854775807", "max-heap: 1000%") reach the rules' arithmetic and list
 * settings (controller-namespaces) reach the rules that walk them.
 *   out/fuzz/tests/fuzz/fuzz_config -max_total_time=60 tests/fuzz/seeds/config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

/* One object for each kind the rules read, with the numbers they compute on. */
static const char k_objects[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: web, namespace: prod, labels: {app: web}}\n"
    "spec:\n"
    "  replicas: 1\n"
    "  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 100%, maxSurge: 0}}\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec:\n"
    "      terminationGracePeriodSeconds: 3\n"
    "      containers:\n"
    "        - name: web\n"
    "          image: web:1\n"
    "          args: [\"-Xmx900m\"]\n"
    "          env: [{name: JAVA_TOOL_OPTIONS, value: \"-XX:MaxRAMPercentage=90\"}]\n"
    "          ports: [{name: http, containerPort: 8080}]\n"
    "          resources: {requests: {memory: 32Mi, cpu: 10m}, limits: {memory: 1Gi, cpu: 50m}}\n"
    "          lifecycle: {preStop: {exec: {command: [sleep, \"30\"]}}}\n"
    "          livenessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1, failureThreshold: 1}\n"
    "          readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1, failureThreshold: 1}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web, namespace: prod}\n"
    "spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\n"
    "kind: Ingress\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: prod\n"
    "  annotations:\n"
    "    nginx.ingress.kubernetes.io/proxy-read-timeout: \"5\"\n"
    "    nginx.ingress.kubernetes.io/proxy-connect-timeout: \"1\"\n"
    "    alb.ingress.kubernetes.io/load-balancer-attributes: idle_timeout.timeout_seconds=5\n"
    "spec:\n"
    "  rules:\n"
    "    - http:\n"
    "        paths:\n"
    "          - path: /\n"
    "            pathType: Prefix\n"
    "            backend: {service: {name: web, port: {number: 80}}}\n"
    "---\n"
    "apiVersion: policy/v1\n"
    "kind: PodDisruptionBudget\n"
    "metadata: {name: web, namespace: prod}\n"
    "spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n"
    "---\n"
    "apiVersion: autoscaling/v2\n"
    "kind: HorizontalPodAutoscaler\n"
    "metadata: {name: web, namespace: prod}\n"
    "spec:\n"
    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    "  minReplicas: 1\n"
    "  maxReplicas: 3\n"
    "---\n"
    /* controller-namespaces (a list setting) decides whether this policy admits the
     * controller: "edge" by name, "gw" by a label of its Namespace. */
    "apiVersion: networking.k8s.io/v1\n"
    "kind: NetworkPolicy\n"
    "metadata: {name: web, namespace: prod}\n"
    "spec:\n"
    "  podSelector: {matchLabels: {app: web}}\n"
    "  ingress:\n"
    "    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}}]\n"
    "    - from: [{namespaceSelector: {matchLabels: {role: edge}}}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Namespace\n"
    "metadata: {name: gw, labels: {role: gateway}}\n";

static k5_docset *g_set;

static const k5_docset *objects(void)
{
    if (!g_set) {
        k5_error err;
        memset(&err, 0, sizeof err);
        char *copy = malloc(sizeof k_objects); /* the set takes it */
        if (!copy || k5_docset_new(&g_set, "fuzz") != K5_OK)
            abort();
        memcpy(copy, k_objects, sizeof k_objects);
        if (k5_docset_load(g_set, "objects.yaml", copy, sizeof k_objects - 1, K5_FORMAT_YAML,
                           &err) != K5_OK)
            abort(); /* the harness's own objects must load */
    }
    return g_set;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const k5_docset *set = objects();
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    k5_config *cfg = NULL;
    k5_error err;
    memset(&err, 0, sizeof err);
    if (k5_config_parse(&cfg, "fuzz.kube5xx.yaml", buf, size, &err) == K5_OK) {
        k5_report *rep = NULL;
        if (k5_run(set, cfg, 0, &rep, &err) == K5_OK) {
            for (size_t i = 0; i < k5_report_count(rep); i++) {
                const k5_finding *f = k5_report_at(rep, i);
                if (!f->message || !f->path)
                    abort();
            }
            k5_report_free(&rep);
        }
        k5_config_free(&cfg);
    } else if (!err.msg[0]) {
        abort(); /* a refused config always says why */
    }
    free(buf);
    return 0;
}
