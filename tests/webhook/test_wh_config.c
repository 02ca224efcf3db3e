/*
 * Unit tests of wh_config: defaults, reload on change, refusal of a bad file,
 * the ConfigMap symlink swap, and references held across a reload.
 */
#include "wh_test_util.h"

#include <unistd.h>

#include "wh_config.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    return wh_test_mkdtemp(g_dir, sizeof g_dir, "cfg");
}

static int teardown(void **state)
{
    (void)state;
    return wh_test_rmtree(g_dir);
}

/* Writes a file through a rename, so its inode changes as a real update's would. */
static void put(const char *path, const char *text)
{
    char tmp[4200]; /* room for any path the test makes plus ".tmp" */
    assert_true(strlen(path) < sizeof tmp - 8);
    snprintf(tmp, sizeof tmp, "%.4096s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static k5_wh_mode mode_of(wh_config *c)
{
    void *tok;
    const k5_config *cfg = wh_config_acquire(c, &tok);
    k5_wh_mode m = k5_config_webhook(cfg)->mode;
    wh_config_release(c, tok);
    return m;
}

static void test_wh_config__defaults_without_a_file(void **state)
{
    (void)state;
    wh_config *c = NULL;
    char err[256];
    assert_int_equal(wh_config_new(NULL, &c, err, sizeof err), WH_OK);
    assert_null(wh_config_path(c));
    assert_int_equal(mode_of(c), K5_WH_ENFORCE);
    bool reloaded = true;
    assert_int_equal(wh_config_check(c, true, &reloaded, err, sizeof err), WH_OK);
    assert_false(reloaded);
    wh_config_free(&c);
    assert_null(c);
}

static void test_wh_config__bad_file_refused_at_start_and_on_reload(void **state)
{
    (void)state;
    char p[256], err[512] = "";
    snprintf(p, sizeof p, "%s/c1.yaml", g_dir);
    put(p, "webhook:\n  mode: warn\n");
    wh_config *c = NULL;
    assert_int_equal(wh_config_new(p, &c, err, sizeof err), WH_OK);
    assert_int_equal(mode_of(c), K5_WH_WARN);
    /* A typo must not silently disable anything: refused, the old config stays. */
    put(p, "webhook:\n  mode: loud\n");
    bool reloaded = true;
    assert_int_equal(wh_config_check(c, false, &reloaded, err, sizeof err), WH_EPARSE);
    assert_false(reloaded);
    assert_non_null(strstr(err, "c1.yaml"));
    assert_int_equal(mode_of(c), K5_WH_WARN);
    put(p, "webhook:\n  mode: audit\n");
    assert_int_equal(wh_config_check(c, false, &reloaded, err, sizeof err), WH_OK);
    assert_true(reloaded);
    assert_int_equal(mode_of(c), K5_WH_AUDIT);
    /* Unchanged: nothing happens. */
    assert_int_equal(wh_config_check(c, false, &reloaded, err, sizeof err), WH_OK);
    assert_false(reloaded);
    wh_config_free(&c);

    put(p, "rules:\n  no-such-rule: error\n");
    assert_int_equal(wh_config_new(p, &c, err, sizeof err), WH_EPARSE);
    assert_null(c);
}

static void test_wh_config__configmap_symlink_swap_detected(void **state)
{
    (void)state;
    /* The kubelet's layout: config.yaml -> ..data/config.yaml, ..data -> ..v1, swapped to ..v2. */
    char d1[256], d2[256], data[256], link[256], f1[300], f2[300], tmp[256], err[512];
    snprintf(d1, sizeof d1, "%s/..v1", g_dir);
    snprintf(d2, sizeof d2, "%s/..v2", g_dir);
    snprintf(data, sizeof data, "%s/..data", g_dir);
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", g_dir);
    snprintf(link, sizeof link, "%s/config.yaml", g_dir);
    assert_int_equal(mkdir(d1, 0755), 0);
    assert_int_equal(mkdir(d2, 0755), 0);
    snprintf(f1, sizeof f1, "%s/config.yaml", d1);
    snprintf(f2, sizeof f2, "%s/config.yaml", d2);
    put(f1, "webhook:\n  mode: enforce\n");
    put(f2, "webhook:\n  mode: warn\n");
    assert_int_equal(symlink("..v1", data), 0);
    assert_int_equal(symlink("..data/config.yaml", link), 0);
    wh_config *c = NULL;
    assert_int_equal(wh_config_new(link, &c, err, sizeof err), WH_OK);
    assert_int_equal(mode_of(c), K5_WH_ENFORCE);
    /* Hold a reference across the swap: the old config must stay valid until released. */
    void *tok;
    const k5_config *held = wh_config_acquire(c, &tok);
    assert_int_equal(symlink("..v2", tmp), 0);
    assert_int_equal(rename(tmp, data), 0);
    bool reloaded = false;
    assert_int_equal(wh_config_check(c, false, &reloaded, err, sizeof err), WH_OK);
    assert_true(reloaded);
    assert_int_equal(mode_of(c), K5_WH_WARN);
    assert_int_equal(k5_config_webhook(held)->mode, K5_WH_ENFORCE);
    wh_config_release(c, tok);
    wh_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_config__defaults_without_a_file),
        cmocka_unit_test(test_wh_config__bad_file_refused_at_start_and_on_reload),
        cmocka_unit_test(test_wh_config__configmap_symlink_swap_detected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
