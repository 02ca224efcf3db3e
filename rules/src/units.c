/*
 * Kubernetes value semantics: resource quantities, Go durations, and
 * int-or-string fields with percentages.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#include "k5_internal.h"

typedef __int128 i128;
#define I128_MAX ((i128)(((unsigned __int128)1 << 127) - 1))

/* mant * 10^dexp * 2^bexp, rounded up (or down), saturated to int64. */
static int64_t scale(i128 mant, int dexp, int bexp, bool round_up)
{
    i128 v = mant;
    for (int i = 0; i < bexp; i++) {
        if (v > I128_MAX / 2)
            return INT64_MAX;
        v *= 2;
    }
    for (int i = 0; i < dexp; i++) {
        if (v > I128_MAX / 10)
            return INT64_MAX;
        v *= 10;
    }
    if (dexp < 0) {
        i128 div = 1;
        for (int i = 0; i < -dexp; i++) {
            if (div > I128_MAX / 10) {
                /* The divisor exceeds any mantissa: the value is a tiny fraction. */
                return v == 0 ? 0 : (round_up ? 1 : 0);
            }
            div *= 10;
        }
        i128 q = v / div;
        if (round_up && q * div != v)
            q++;
        v = q;
    }
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

bool k5_quantity_parse(const char *s, size_t n, int64_t *value, int64_t *milli)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    i128 mant = 0;
    int dexp = 0, bexp = 0;
    size_t digits = 0;
    bool frac = false;
    for (; i < n; i++) {
        if (s[i] == '.' && !frac) {
            frac = true;
            continue;
        }
        if (!isdigit((unsigned char)s[i]))
            break;
        digits++;
        if (mant < (i128)1 << 100) {
            mant = mant * 10 + (s[i] - '0');
            if (frac)
                dexp--;
        } else if (!frac) {
            dexp++; /* beyond the precision kept: only the magnitude matters */
        }
    }
    if (!digits)
        return false;
    /* Suffix. */
    const char *suf = s + i;
    size_t sl = n - i;
    if (sl == 2 && suf[1] == 'i') {
        static const char bin[] = "KMGTPE";
        const char *p = memchr(bin, suf[0], 6);
        if (!p)
            return false;
        bexp = 10 * (int)(p - bin + 1);
    } else if (sl == 1 || sl == 0) {
        switch (sl ? suf[0] : '\0') {
        case '\0':
            break;
        case 'n':
            dexp -= 9;
            break;
        case 'u':
            dexp -= 6;
            break;
        case 'm':
            dexp -= 3;
            break;
        case 'k':
            dexp += 3;
            break;
        case 'M':
            dexp += 6;
            break;
        case 'G':
            dexp += 9;
            break;
        case 'T':
            dexp += 12;
            break;
        case 'P':
            dexp += 15;
            break;
        case 'E':
            dexp += 18;
            break;
        default:
            return false;
        }
    } else if (suf[0] == 'e' || suf[0] == 'E') {
        size_t j = 1;
        bool eneg = false;
        if (j < sl && (suf[j] == '+' || suf[j] == '-')) {
            eneg = suf[j] == '-';
            j++;
        }
        if (j >= sl)
            return false;
        long e = 0;
        for (; j < sl; j++) {
            if (!isdigit((unsigned char)suf[j]))
                return false;
            if (e < 100000)
                e = e * 10 + (suf[j] - '0');
        }
        if (e > 1000)
            e = 1000;
        dexp += eneg ? -(int)e : (int)e;
    } else {
        return false;
    }
    if (dexp > 1000)
        dexp = 1000;
    /* Values round up (Quantity.Value and MilliValue); a negative value rounds toward +inf. */
    int64_t v = scale(mant, dexp, bexp, !neg), mv = scale(mant, dexp + 3, bexp, !neg);
    if (value)
        *value = neg ? -v : v;
    if (milli)
        *milli = neg ? -mv : mv;
    return true;
}

bool k5_quantity_node(const k5_node *node, int64_t *value, int64_t *milli)
{
    k5_node_type t = k5_node_kind(node);
    if (t != K5_NODE_STR && t != K5_NODE_INT && t != K5_NODE_FLOAT)
        return false;
    k5_str s = k5_node_str(node);
    return k5_quantity_parse(s.p, s.n, value, milli);
}

/* What snprintf(buf, size, "%lld%s", v, suffix) writes, without printf: rules format a memory
 * limit for every container they judge, and printf was most of what that cost. */
static void int_fmt(long long v, const char *suffix, char *buf, size_t size)
{
    char tmp[32];
    size_t k = sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--k] = '-';
    size_t n = sizeof tmp - k, sn = strlen(suffix);
    if (!size)
        return;
    size_t put = n < size - 1 ? n : size - 1;
    memcpy(buf, tmp + k, put);
    size_t sput = sn < size - 1 - put ? sn : size - 1 - put;
    memcpy(buf + put, suffix, sput);
    buf[put + sput] = '\0';
}

void k5_bytes_fmt(int64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    if (bytes < 1024 && bytes > -1024) {
        int_fmt((long long)bytes, "", buf, size);
        return;
    }
    int u = -1;
    double v = (double)bytes;
    while (u < 5 && (v >= 1024 || v <= -1024)) {
        v /= 1024;
        u++;
    }
    if (v == floor(v)) { /* what "%.0f" writes, without the floating-point printf path */
        int_fmt((long long)v, units[u], buf, size);
        return;
    }
    double t = fabs(v) * 10, whole = floor(t);
    if (bytes > -(1LL << 40) && bytes < (1LL << 40)) {
        /* What "%.1f" writes, without printf: v is bytes / 1024^k, so under 2^40 bytes v * 10
         * is exact and so is the fraction left; an exact tie rounds to even, as printf does. */
        double frac = t - whole;
        long long tenths = (long long)whole;
        if (frac > 0.5 || (frac == 0.5 && (tenths & 1)))
            tenths++;
        char num[40];
        size_t k = sizeof num;
        num[--k] = '\0';
        num[--k] = (char)('0' + tenths % 10);
        num[--k] = '.';
        long long w = tenths / 10;
        do {
            num[--k] = (char)('0' + w % 10);
            w /= 10;
        } while (w);
        if (v < 0)
            num[--k] = '-';
        /* int_fmt's cut, applied to the text: number then unit, at most size - 1 bytes. */
        size_t n = sizeof num - 1 - k, sn = strlen(units[u]);
        if (!size)
            return;
        size_t put = n < size - 1 ? n : size - 1;
        memcpy(buf, num + k, put);
        size_t sput = sn < size - 1 - put ? sn : size - 1 - put;
        memcpy(buf + put, units[u], sput);
        buf[put + sput] = '\0';
        return;
    }
    snprintf(buf, size, "%.1f%s", v, units[u]);
}

/*
 * Go's time.ParseDuration, step for step and in the same integer arithmetic, so that the
 * values it takes and refuses are Go's: a magnitude above 1<<63 - 1 ns (2562047h47m16.854775807s,
 * about 292 years; -1<<63 ns when negative) is refused as out of range, as Go refuses it,
 * rather than saturated. A controller written in Go refuses the same text.
 */
bool k5_duration_parse(const char *s, size_t n, int64_t *ns)
{
    const uint64_t top = (uint64_t)1 << 63;
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (n - i == 1 && s[i] == '0') {
        *ns = 0;
        return true;
    }
    if (i >= n)
        return false;
    uint64_t total = 0;
    while (i < n) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        size_t pre = 0, post = 0;
        if (!(s[i] == '.' || isdigit((unsigned char)s[i])))
            return false;
        for (; i < n && isdigit((unsigned char)s[i]); i++, pre++) {
            if (v > top / 10)
                return false; /* overflow */
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > top)
                return false;
        }
        if (i < n && s[i] == '.') {
            bool overflow = false; /* Go drops the digits that no longer fit, keeps reading */
            for (i++; i < n && isdigit((unsigned char)s[i]); i++, post++) {
                if (overflow)
                    continue;
                if (f > (top - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(s[i] - '0');
                if (y > top) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
        }
        if (!pre && !post)
            return false;
        size_t u = i;
        while (i < n && !isdigit((unsigned char)s[i]) && s[i] != '.')
            i++;
        size_t ul = i - u;
        const char *us = s + u;
        uint64_t unit;
        if (ul == 2 && !memcmp(us, "ns", 2))
            unit = 1;
        else if ((ul == 2 && !memcmp(us, "us", 2)) || (ul == 3 && !memcmp(us, "\xC2\xB5s", 3)) ||
                 (ul == 3 && !memcmp(us, "\xCE\xBCs", 3)))
            unit = 1000;
        else if (ul == 2 && !memcmp(us, "ms", 2))
            unit = 1000000;
        else if (ul == 1 && us[0] == 's')
            unit = 1000000000;
        else if (ul == 1 && us[0] == 'm')
            unit = 60ull * 1000000000;
        else if (ul == 1 && us[0] == 'h')
            unit = 3600ull * 1000000000;
        else
            return false;
        if (v > top / unit)
            return false;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > top)
                return false;
        }
        total += v;
        if (total > top)
            return false;
    }
    if (!neg && total > top - 1)
        return false;
    /* -(1<<63) without signed overflow: the two's complement of the magnitude. */
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return true;
}

bool k5_gateway_duration_parse(const char *s, size_t n, int64_t *ns)
{
    int64_t total = 0;
    size_t i = 0, parts = 0;
    while (i < n) {
        int64_t v = 0;
        size_t digits = 0;
        while (i < n && isdigit((unsigned char)s[i]) && digits < 6) {
            v = v * 10 + (s[i] - '0');
            i++, digits++;
        }
        if (!digits || digits > 5 || i >= n || ++parts > 4)
            return false;
        int64_t mul;
        if (s[i] == 'h')
            mul = INT64_C(3600000000000), i++;
        else if (s[i] == 'm' && i + 1 < n && s[i + 1] == 's')
            mul = INT64_C(1000000), i += 2;
        else if (s[i] == 'm')
            mul = INT64_C(60000000000), i++;
        else if (s[i] == 's')
            mul = INT64_C(1000000000), i++;
        else
            return false;
        total += v * mul; /* at most 4 * 99999h: far below INT64_MAX */
    }
    if (!parts)
        return false;
    *ns = total;
    return true;
}

bool k5_intstr_get(const k5_node *n, k5_intstr *out)
{
    k5_intstr v = {false, 0, {NULL, 0}, n};
    if (k5_node_kind(n) == K5_NODE_INT) {
        if (!k5_node_int(n, &v.i))
            return false;
        v.is_int = true;
    } else if (k5_node_kind(n) == K5_NODE_STR) {
        v.s = k5_node_str(n);
    } else {
        return false;
    }
    *out = v;
    return true;
}

bool k5_intstr_scaled(const k5_intstr *v, int64_t total, bool round_up, int64_t *out)
{
    if (v->is_int) {
        *out = v->i;
        return true;
    }
    if (v->s.n < 2 || v->s.p[v->s.n - 1] != '%')
        return false;
    int64_t pct = 0;
    for (size_t i = 0; i + 1 < v->s.n; i++) {
        if (!isdigit((unsigned char)v->s.p[i]) || pct > 100000000)
            return false;
        pct = pct * 10 + (v->s.p[i] - '0');
    }
    /* intstr.GetScaledValueFromIntOrPercent: ceil for maxSurge, floor for maxUnavailable.
     * Both factors are bounded (pct above, total by the caller's int32 range), so cap total to
     * keep the product far from overflow. */
    if (total < 0 || total > INT32_MAX)
        return false;
    int64_t prod = pct * total;
    *out = round_up ? (prod + 99) / 100 : prod / 100;
    return true;
}
