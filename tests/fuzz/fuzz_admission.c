/*
 * libFuzzer target: the webhook's AdmissionReview handler (wh_admission_review:
 * bytes in, JSON out, no sockets), which parses the review with cJSON and runs
 * the engine over request.object and request.oldObject. Each input is judged
 * twice: under a config with exemptions and the ratchet, in enforce mode and
 * through the advisory (warn-only) entry point.
 *   out/fuzz/tests/fuzz/fuzz_admission -max_total_time=60 tests/fuzz/seeds/admission
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <kube5xx/kube5xx.h>

#include "wh_admission.h"
#include "wh_log.h"

static const char k_config[] =
    "webhook:\n"
    "  mode: enforce\n"
    "  ratchet: true\n"
    "  exempt:\n"
    "    namespaces: [kube-system]\n"
    "    usernames: [\"system:serviceaccount:kube-system:*\"]\n"
    "    groups: [\"system:nodes\"]\n";

static k5_config *g_cfg;

static const k5_config *config(void)
{
    if (!g_cfg) {
        k5_error err;
        memset(&err, 0, sizeof err);
        if (k5_config_parse(&g_cfg, "fuzz-config.yaml", k_config, sizeof k_config - 1, &err) !=
            K5_OK)
            abort(); /* the harness's own config must parse */
        /* The log line is built (and escaped) for every review, then thrown away. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            abort();
        wh_log_set_fd(fd);
        wh_log_set_level(WH_LOG_DEBUG);
    }
    return g_cfg;
}

static void judge(const k5_config *cfg, const char *body, size_t len, unsigned flags)
{
    wh_review rv;
    if (wh_admission_review(cfg, body, len, 0, flags, &rv) == WH_OK) {
        /* Every answer is a complete HTTP answer with a body. */
        if (!rv.body || rv.body_len == 0 || !rv.content_type)
            abort();
        if (rv.http_status != 200 && rv.http_status != 400 && rv.http_status != 500)
            abort();
        if (rv.body_len != strlen(rv.body))
            abort();
        /* A JSON answer must parse: the apiserver drops anything else. */
        if (strcmp(rv.content_type, "application/json") == 0) {
            cJSON *j = cJSON_ParseWithLength(rv.body, rv.body_len);
            if (!j)
                abort();
            cJSON_Delete(j);
        }
        wh_review_record(&rv, NULL, 0);
    }
    wh_review_clear(&rv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const k5_config *cfg = config();
    /* An exact-size copy, so ASan sees any read past the request body. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    judge(cfg, body, size, 0);
    judge(cfg, body, size, WH_REVIEW_WARN_ONLY);
    free(body);
    return 0;
}
