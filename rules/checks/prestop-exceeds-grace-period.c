/*
 * prestop-exceeds-grace-period: a preStop sleep that the grace period cuts off.
 */
#include <ctype.h>

#include "k5_check.h"
#include "k5_arith.h"

/* The last path component of a command ("/bin/sh" -> "sh"). */
static k5_str base_name(k5_str s)
{
    for (size_t i = s.n; i > 0; i--)
        if (s.p[i - 1] == '/') {
            s.p += i;
            s.n -= i;
            break;
        }
    return s;
}

static bool str_is(k5_str s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/*
 * A coreutils sleep operand ("10", "0.5", "2m", "1h") in milliseconds; *used
 * receives the number of bytes read. False when the text is not one.
 */
static bool sleep_operand(const char *s, size_t n, int64_t *ms, size_t *used)
{
    size_t i = 0;
    int64_t whole = 0, frac = 0, scale = 1000;
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        if (whole > 100000000)
            return false;
        whole = whole * 10 + (s[i] - '0');
    }
    size_t digits = i;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++, digits++)
            if (scale > 1) {
                scale /= 10;
                frac += (s[i] - '0') * scale;
            }
    }
    if (!digits)
        return false;
    int64_t mul = 1;
    if (i < n && strchr("smhd", s[i])) {
        mul = s[i] == 'm' ? 60 : s[i] == 'h' ? 3600 : s[i] == 'd' ? 86400 : 1;
        i++;
    }
    *ms = (whole * 1000 + frac) * mul;
    *used = i;
    return true;
}

/*
 * How long a shell script sleeps at least: it must begin with `sleep N`,
 * followed by its end or by ;, &&, || or a newline (so the sleep runs to the
 * end before anything else). Anything else has unknown duration.
 */
static bool script_sleep(k5_str s, int64_t *ms)
{
    if (!s.p) /* the script is not a scalar (k5_node_str gives {NULL, 0}): no sleep to read */
        return false;
    size_t i = 0;
    while (i < s.n && isspace((unsigned char)s.p[i]))
        i++;
    if (s.n - i >= 5 && memcmp(s.p + i, "exec ", 5) == 0)
        i += 5;
    size_t b = i;
    while (i < s.n && !isspace((unsigned char)s.p[i]))
        i++;
    k5_str cmd = {s.p + b, i - b};
    if (!str_is(base_name(cmd), "sleep"))
        return false;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    size_t used;
    if (!sleep_operand(s.p + i, s.n - i, ms, &used))
        return false;
    i += used;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    if (i == s.n || s.p[i] == ';' || s.p[i] == '\n')
        return true;
    return s.n - i >= 2 && (memcmp(s.p + i, "&&", 2) == 0 || memcmp(s.p + i, "||", 2) == 0);
}

/* The shortest time the preStop hook takes, in ms; false when it cannot be known. */
static bool prestop_sleep(const k5_node *prestop, int64_t *ms, const k5_node **at)
{
    int64_t secs;
    const k5_node *n = k5_node_at(prestop, "sleep.seconds");
    if (k5_node_int(n, &secs)) {
        *ms = k5__mul_sat(secs, 1000);
        *at = n;
        return true;
    }
    const k5_node *cmd = k5_node_at(prestop, "exec.command");
    k5_str argv0 = base_name(k5_node_str(k5_seq_at(cmd, 0)));
    size_t argc = k5_node_len(cmd);
    if (str_is(argv0, "sleep") && argc >= 2) {
        /* coreutils sleep adds up all its operands. */
        int64_t total = 0;
        for (size_t i = 1; i < argc; i++) {
            k5_str a = k5_node_str(k5_seq_at(cmd, i));
            int64_t v;
            size_t used;
            if (!a.p || !sleep_operand(a.p, a.n, &v, &used) || used != a.n)
                return false;
            total = k5__add_sat(total, v);
        }
        *ms = total;
        *at = k5_seq_at(cmd, 1);
        return true;
    }
    static const char *const shells[] = {"sh", "bash", "ash", "dash", "zsh"};
    bool shell = false;
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++)
        shell = shell || str_is(argv0, shells[i]);
    if (!shell || argc < 3)
        return false;
    /* `sh -c SCRIPT`, also with combined flags such as -ec or -xc. */
    k5_str flag = k5_node_str(k5_seq_at(cmd, 1));
    if (flag.n < 2 || flag.p[0] != '-' || flag.p[flag.n - 1] != 'c')
        return false;
    if (!script_sleep(k5_node_str(k5_seq_at(cmd, 2)), ms))
        return false;
    *at = k5_seq_at(cmd, 2);
    return true;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *gnode;
    int64_t grace = k5__pod_grace_seconds(obj, &gnode);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Native sidecars get their preStop too, and share the pod's grace period. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        int64_t ms;
        const k5_node *at;
        if (!prestop_sleep(k5_node_at(ctr, "lifecycle.preStop"), &ms, &at) || ms <= 0 ||
            ms < k5__mul_sat(grace, 1000))
            continue;
        char sleep[48];
        if (ms == INT64_MAX) /* saturated: the exact sleep does not fit in int64 milliseconds */
            snprintf(sleep, sizeof sleep, "more than %llds", (long long)(INT64_MAX / 1000));
        else if (ms % 1000)
            snprintf(sleep, sizeof sleep, "%lld.%03llds", (long long)(ms / 1000),
                     (long long)(ms % 1000));
        else
            snprintf(sleep, sizeof sleep, "%llds", (long long)(ms / 1000));
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, at, NULL,
            "preStop of %s \"%.*s\" of %.*s \"%.*s\" sleeps %s but terminationGracePeriodSeconds "
            "is %lld%s: the kubelet SIGKILLs the container before it finishes draining",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, sleep, (long long)grace, gnode ? "" : " (default)");
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_prestop_exceeds_grace_period = {
    .id = "prestop-exceeds-grace-period",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges the native sleep action and an exec of `sleep N`, directly or as "
                  "the first command of `sh -c`; any other exec has unknown duration",
    .summary = "A preStop sleep is as long as the termination grace period, or longer",
    .explanation =
        "The grace period counts from the start of the preStop hook, not from SIGTERM. A "
        "preStop that sleeps as long as terminationGracePeriodSeconds uses up the whole "
        "budget: the kubelet SIGKILLs the container (after a 2s extension) before the "
        "application ever receives SIGTERM, so every request still in flight is cut off: 502.",
    .remediation = "Keep the preStop sleep well below terminationGracePeriodSeconds: the "
                   "sleep only has to outlast endpoint removal (a few seconds), and the rest "
                   "of the grace period is for the application's own graceful shutdown.",
    .example = "spec:\n"
               "  terminationGracePeriodSeconds: 45\n"
               "  containers:\n"
               "    - name: web\n"
               "      lifecycle:\n"
               "        preStop:\n"
               "          exec:\n"
               "            command: [\"sh\", \"-c\", \"sleep 10\"]\n",
    .check = check,
};
