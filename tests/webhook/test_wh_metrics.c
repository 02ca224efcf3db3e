/*
 * Unit tests of wh_metrics: the exposition text, the histogram, the series cap.
 */
#include "wh_test_util.h"

#include "wh_metrics.h"

static char *render(wh_metrics *m)
{
    char *text;
    size_t len;
    assert_int_equal(wh_metrics_render(m, &text, &len), WH_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_wh_metrics__every_family_rendered(void **state)
{
    (void)state;
    wh_metrics *m = NULL;
    assert_int_equal(wh_metrics_new(&m), WH_OK);
    wh_metrics_review(m, "Deployment", "CREATE", "denied", 150000);
    wh_metrics_review(m, "Deployment", "CREATE", "denied", 50000);
    wh_metrics_finding(m, "readiness-probe-missing", "error", "deny");
    wh_metrics_in_flight(m, 2);
    wh_metrics_in_flight(m, -1);
    wh_metrics_http_error(m, 415);
    wh_metrics_cert_expiry(m, 1900000000);
    wh_metrics_config_reload(m, false);
    wh_metrics_cert_reload(m, true);
    char *t = render(m);
    const char *want[] = {
        "# TYPE kube5xx_admission_requests_total counter\n",
        "kube5xx_admission_requests_total{kind=\"Deployment\",operation=\"CREATE\",decision="
        "\"denied\"} 2\n",
        "# TYPE kube5xx_admission_duration_seconds histogram\n",
        "kube5xx_admission_duration_seconds_bucket{le=\"0.0001\"} 1\n",
        "kube5xx_admission_duration_seconds_bucket{le=\"0.0002\"} 2\n",
        "kube5xx_admission_duration_seconds_bucket{le=\"1\"} 2\n",
        "kube5xx_admission_duration_seconds_bucket{le=\"+Inf\"} 2\n",
        "kube5xx_admission_duration_seconds_count 2\n",
        "kube5xx_rule_findings_total{rule=\"readiness-probe-missing\",severity=\"error\","
        "action=\"deny\"} 1\n",
        "kube5xx_requests_in_flight 1\n",
        "kube5xx_http_errors_total{code=\"415\"} 1\n",
        "kube5xx_tls_cert_expiry_timestamp_seconds 1900000000\n",
        "kube5xx_config_reloads_total{result=\"failure\"} 1\n",
        "kube5xx_config_reloads_total{result=\"success\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i]))
            fail_msg("missing: %s", want[i]);
    assert_int_equal(wh_metrics_duration_le(m, 200000), 2);
    assert_int_equal(wh_metrics_duration_le(m, 100000), 1);
    free(t);
    wh_metrics_free(&m);
    assert_null(m);
    wh_metrics_free(&m);
}

static void test_wh_metrics__label_values_escaped(void **state)
{
    (void)state;
    wh_metrics *m = NULL;
    assert_int_equal(wh_metrics_new(&m), WH_OK);
    wh_metrics_review(m, "We\"ird\\\nKind", "CREATE", "allowed", 1);
    char *t = render(m);
    assert_non_null(strstr(t, "kind=\"We\\\"ird\\\\\\nKind\""));
    free(t);
    wh_metrics_free(&m);
}

static void test_wh_metrics__series_capped(void **state)
{
    (void)state;
    wh_metrics *m = NULL;
    assert_int_equal(wh_metrics_new(&m), WH_OK);
    for (unsigned i = 0; i < WH_METRICS_MAX_SERIES + 100; i++) {
        char kind[32];
        snprintf(kind, sizeof kind, "Kind%u", i);
        wh_metrics_review(m, kind, "CREATE", "allowed", 1);
    }
    char *t = render(m);
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, "kube5xx_admission_requests_total{")); p++)
        n++;
    assert_int_equal(n, WH_METRICS_MAX_SERIES + 1);
    assert_non_null(strstr(t, "kind=\"_other\",operation=\"_other\",decision=\"_other\"} 100\n"));
    free(t);
    wh_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_metrics__every_family_rendered),
        cmocka_unit_test(test_wh_metrics__label_values_escaped),
        cmocka_unit_test(test_wh_metrics__series_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
