/*
 * The floor for `kube5xx lint`: read the inputs (one or more files, or stdin) and run
 * libyaml's event loop over each, nothing else. bench/lint_bench.sh times both on the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

int main(int argc, char **argv)
{
    size_t events = 0;
    for (int i = 1; i < argc || (argc == 1 && i == 1); i++) {
        FILE *f = argc > 1 ? fopen(argv[i], "rb") : stdin;
        if (!f)
            return 2;
        size_t cap = 1 << 20, n = 0, r;
        unsigned char *buf = malloc(cap);
        while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap)
                buf = realloc(buf, cap *= 2);
        }
        if (f != stdin)
            fclose(f);
        if (!buf)
            return 2;
        yaml_parser_t p;
        yaml_parser_initialize(&p);
        yaml_parser_set_input_string(&p, buf, n);
        for (;;) {
            yaml_event_t ev;
            if (!yaml_parser_parse(&p, &ev))
                return 1;
            int end = ev.type == YAML_STREAM_END_EVENT;
            yaml_event_delete(&ev);
            events++;
            if (end)
                break;
        }
        yaml_parser_delete(&p);
        free(buf);
    }
    fprintf(stderr, "%zu events\n", events);
    return 0;
}
