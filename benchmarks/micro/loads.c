/* Load-scheme micro-benchmark behind docs/rationale.md ("Pattern convs read
 * only aligned vectors"): 16 independent AVX-512 accumulators, one FMA each
 * per iteration, their input vectors obtained five ways:
 *   fma      no loads (FMA peak)
 *   aligned  16 aligned 64-byte loads
 *   split    16 loads at +4 bytes (every one split across two cache lines)
 *   half     8 aligned + 8 split loads
 *   shift    5 aligned loads + 12 valignd lane shifts of them
 * Prints GFLOP/s (2 flops x 16 lanes per FMA) over process CPU time.
 * Build: cc -O3 -march=native loads.c; run: ./a.out MODE [iterations]. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline __attribute__((always_inline)) void run(const int m, const float *in, long iters,
                                                      __m512 *acc_out) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = acc_out[i];
  const __m512 w = _mm512_set1_ps(0.999f), x0 = _mm512_set1_ps(1e-3f);
  for (long it = 0; it < iters; it++) {
    const float *q = in + (it & 31) * 16;
    __m512 x[16];
    if (m == 0) {
      for (int i = 0; i < 16; i++) x[i] = x0;
    } else if (m == 1) {
      for (int i = 0; i < 16; i++) x[i] = _mm512_load_ps(q + i * 16);
    } else if (m == 2) {
      for (int i = 0; i < 16; i++) x[i] = _mm512_loadu_ps(q + i * 16 + 1);
    } else if (m == 3) {
      for (int i = 0; i < 16; i++) x[i] = _mm512_loadu_ps(q + i * 16 + (i & 1));
    } else {
      __m512i l[5];
      for (int i = 0; i < 5; i++) l[i] = _mm512_castps_si512(_mm512_load_ps(q + i * 16));
      for (int i = 0; i < 4; i++) {
        x[4 * i] = _mm512_castsi512_ps(l[i]);
        x[4 * i + 1] = _mm512_castsi512_ps(_mm512_alignr_epi32(l[i + 1], l[i], 1));
        x[4 * i + 2] = _mm512_castsi512_ps(_mm512_alignr_epi32(l[i + 1], l[i], 2));
        x[4 * i + 3] = _mm512_castsi512_ps(_mm512_alignr_epi32(l[i + 1], l[i], 3));
      }
    }
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(x[i], w, acc[i]);
  }
  for (int i = 0; i < 16; i++) acc_out[i] = acc[i];
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s fma|aligned|split|half|shift [iterations]\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  long iters = argc > 2 ? atol(argv[2]) : 10000000L;
  int m = !strcmp(mode, "fma") ? 0 : !strcmp(mode, "aligned") ? 1 : !strcmp(mode, "split") ? 2
        : !strcmp(mode, "half") ? 3 : !strcmp(mode, "shift") ? 4 : -1;
  if (m < 0 || iters <= 0) {
    fprintf(stderr, "unknown mode '%s' or bad iteration count\n", mode);
    return 2;
  }
  float *in = aligned_alloc(64, 1 << 16);
  for (int i = 0; i < (1 << 14); i++) in[i] = 1e-3f * (i % 5);
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
  double t0 = cpu_seconds();
  /* One loop per mode (the mode a compile-time constant inside it). */
  switch (m) {
  case 0: run(0, in, iters, acc); break;
  case 1: run(1, in, iters, acc); break;
  case 2: run(2, in, iters, acc); break;
  case 3: run(3, in, iters, acc); break;
  default: run(4, in, iters, acc); break;
  }
  double dt = cpu_seconds() - t0;
  float sum = 0;
  for (int i = 0; i < 16; i++) sum += _mm512_reduce_add_ps(acc[i]);
  printf("%s %.1f GFLOP/s (checksum %g)\n", mode, (double)iters * 16 * 32 / dt / 1e9, sum);
  free(in);
  return 0;
}
