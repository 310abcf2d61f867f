/* FMA-throughput probe for benchmarks/layer_ab.py: 16 independent AVX-512
 * accumulator chains, no loads. Called right before each timed layer run, it
 * measures what the shared host lets this core do at that moment (its FMA
 * rate varied 49-172 GFLOP/s over seconds), so a layer's rate is reported
 * against the peak of the same moment.
 * Build: cc -O3 -march=native -shared -fPIC fma_probe.c -o fma_probe.so */
#include <immintrin.h>

void pconv_fma_probe(long iterations, float *out) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
  const __m512 w = _mm512_set1_ps(0.999f), x = _mm512_set1_ps(1e-3f);
  /* Fully unrolled, so that the accumulators live in registers (GCC 12 kept
   * them on the stack without the pragma, and the probe read 32 GFLOP/s). */
  for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(x, w, acc[i]);
  }
  for (int i = 1; i < 16; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  _mm512_storeu_ps(out, acc[0]);
}
