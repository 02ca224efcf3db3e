/*
 * libFuzzer target: the loader (YAML and JSON) and every rule over whatever
 * loads. Build with -DFUZZ=ON and CC=clang; run with a seed corpus:
 *   out/fuzz/tests/fuzz/fuzz_loader -max_total_time=60 tests/fuzz/seeds
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

static void one(const uint8_t *data, size_t size, k5_format fmt)
{
    k5_docset *set = NULL;
    if (k5_docset_new(&set, "fuzz") != K5_OK)
        return;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        k5_docset_free(&set);
        return;
    }
    memcpy(buf, data, size);
    k5_error err;
    memset(&err, 0, sizeof err);
    if (k5_docset_load(set, "fuzz.yaml", buf, size, fmt, &err) == K5_OK) {
        k5_report *rep = NULL;
        if (k5_run(set, NULL, 0, &rep, &err) == K5_OK) {
            for (size_t i = 0; i < k5_report_count(rep); i++) {
                const k5_finding *f = k5_report_at(rep, i);
                if (!f->message || !f->path)
                    abort();
            }
            k5_report_free(&rep);
        }
    }
    k5_docset_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, K5_FORMAT_AUTO);
    one(data, size, K5_FORMAT_JSON);
    return 0;
}
