/*
 * The webhook's per-review work in-process, without TLS or HTTP: for each of
 * N rounds, what the server's request handler does with one body (the JSON
 * value count, wh_admission_review, the log line and the metrics). Its
 * whole-process CPU time, run against another build's, is a paired measure of
 * the per-review cost that a loaded machine cannot blur the way it blurs
 * requests/s. It prints a checksum of the answers (their bytes), so two builds
 * that answer differently show it.
 *
 *   wh-bench-admission REVIEW.json [ROUNDS]   (default 20000; logs go to /dev/null)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kube5xx/k5_config.h>

#include "wh_admission.h"
#include "wh_common.h"
#include "wh_log.h"
#include "wh_metrics.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: wh-bench-admission REVIEW.json [ROUNDS]\n");
        return 2;
    }
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    if (rounds < 1 || rounds > 100000000) {
        fprintf(stderr, "ROUNDS must be 1..100000000\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char body[1 << 20];
    size_t len = fread(body, 1, sizeof body - 1, f);
    fclose(f);
    body[len] = '\0';

    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
        wh_log_set_fd(devnull);
    if (wh_log_buffer_start(WH_LOG_FLUSH_INTERVAL_MS) != WH_OK)
        return 1;
    wh_metrics *m = NULL;
    k5_config *cfg = NULL;
    /* One config for the whole run, as the server holds one (NULL would build one per review). */
    if (wh_metrics_new(&m) != WH_OK || k5_config_new(&cfg) != K5_OK)
        return 1;
    uint64_t sum = 1469598103934665603ull;
    for (long i = 0; i < rounds; i++) {
        int64_t t0 = wh_now_ns();
        if (wh_json_values_exceed(body, len, 200000))
            return 1;
        wh_review rv;
        if (wh_admission_review(cfg, body, len, 0, 0, &rv) != WH_OK)
            return 1;
        wh_review_record(&rv, m, wh_now_ns() - t0);
        for (size_t k = 0; k < rv.body_len; k++)
            sum = (sum ^ (unsigned char)rv.body[k]) * 1099511628211ull;
        wh_review_clear(&rv);
    }
    wh_log_buffer_stop();
    wh_metrics_free(&m);
    k5_config_free(&cfg);
    printf("%ld reviews, answer checksum %016llx\n", rounds, (unsigned long long)sum);
    return 0;
}
