/* concurrent_runs: thread-safety check of the C runtime (test_c_runtime.py).
 *
 *   concurrent_runs ARTIFACT INPUTS.bin N_INPUTS THREADS ROUNDS OUT.bin
 *
 * Runs the model once per input serially (the reference), then starts
 * THREADS threads on the same pconv_model; thread t runs input t % N_INPUTS
 * ROUNDS times and compares every output bit for bit with the reference and
 * its input with an untouched copy. Writes the reference outputs to OUT.bin
 * (for the comparison with PyTorch). Exit 0 when every run matched.
 */
#define _POSIX_C_SOURCE 200809L
#include "pconv_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const pconv_model *model;
static size_t in_count, out_count, n_inputs;
static int rounds;
static float *inputs, *reference;

typedef struct job {
  size_t index;
  int mismatches;
  pconv_error err;
} job;

static void *worker(void *arg) {
  job *j = arg;
  const float *original = inputs + j->index * in_count;
  float *x = malloc(in_count * sizeof(float)), *y = malloc(out_count * sizeof(float));
  int r;
  if (!x || !y) {
    j->mismatches = -1;
    return NULL;
  }
  memcpy(x, original, in_count * sizeof(float));
  for (r = 0; r < rounds; ++r) {
    const float *in[1];
    float *out[1];
    in[0] = x;
    out[0] = y;
    memset(y, 0xff, out_count * sizeof(float)); /* NaNs: a skipped write shows */
    if (pconv_run(model, in, out, &j->err) != PCONV_OK) {
      j->mismatches = -1;
      break;
    }
    if (memcmp(y, reference + j->index * out_count, out_count * sizeof(float)) ||
        memcmp(x, original, in_count * sizeof(float)))
      ++j->mismatches;
  }
  free(x);
  free(y);
  return NULL;
}

int main(int argc, char **argv) {
  pconv_model *m;
  pconv_error err;
  pconv_tensor_info in, out;
  size_t i, threads;
  pthread_t *tid;
  job *jobs;
  FILE *f;
  int failed = 0;

  if (argc != 7) {
    fprintf(stderr, "usage: concurrent_runs ARTIFACT INPUTS.bin N_INPUTS THREADS ROUNDS OUT.bin\n");
    return 1;
  }
  if (pconv_load(argv[1], &m, &err) != PCONV_OK) {
    fprintf(stderr, "%s: %s\n", pconv_status_name(err.status), err.message);
    return 2;
  }
  model = m;
  n_inputs = (size_t)atoi(argv[3]);
  threads = (size_t)atoi(argv[4]);
  rounds = atoi(argv[5]);
  pconv_input_info(m, 0, &in);
  pconv_output_info(m, 0, &out);
  in_count = in.num_elements;
  out_count = out.num_elements;
  inputs = malloc(n_inputs * in_count * sizeof(float));
  reference = malloc(n_inputs * out_count * sizeof(float));
  f = fopen(argv[2], "rb");
  if (!f || fread(inputs, sizeof(float), n_inputs * in_count, f) != n_inputs * in_count) {
    fprintf(stderr, "cannot read %zu inputs from %s\n", n_inputs, argv[2]);
    return 1;
  }
  fclose(f);

  for (i = 0; i < n_inputs; ++i) {
    const float *x[1];
    float *y[1];
    x[0] = inputs + i * in_count;
    y[0] = reference + i * out_count;
    if (pconv_run(m, x, y, &err) != PCONV_OK) {
      fprintf(stderr, "serial run: %s\n", err.message);
      return 2;
    }
  }

  tid = calloc(threads, sizeof *tid);
  jobs = calloc(threads, sizeof *jobs);
  for (i = 0; i < threads; ++i) {
    jobs[i].index = i % n_inputs;
    if (pthread_create(&tid[i], NULL, worker, &jobs[i])) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  for (i = 0; i < threads; ++i) {
    pthread_join(tid[i], NULL);
    if (jobs[i].mismatches) {
      fprintf(stderr, "thread %zu: %d of %d runs differ from the serial run%s%s\n", i,
              jobs[i].mismatches, rounds, jobs[i].mismatches < 0 ? ": " : "", jobs[i].err.message);
      failed = 1;
    }
  }
  f = fopen(argv[6], "wb");
  if (!f || fwrite(reference, sizeof(float), n_inputs * out_count, f) != n_inputs * out_count)
    failed = 1;
  if (f)
    fclose(f);
  printf("%zu threads x %d runs: %s\n", threads, rounds, failed ? "MISMATCH" : "all identical");
  pconv_unload(m);
  free(inputs);
  free(reference);
  free(tid);
  free(jobs);
  return failed;
}
