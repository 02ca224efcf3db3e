/*
 * The floor for linting JSON: read the input and parse it with cJSON, nothing else.
 * bench/scale_bench.sh times it beside `kube5xx lint` on the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    size_t cap = 1 << 20, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (!buf)
        return 2;
    cJSON *j = cJSON_ParseWithLength(buf, n);
    if (!j)
        return 1;
    fprintf(stderr, "%d items\n", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")));
    cJSON_Delete(j);
    free(buf);
    return 0;
}
