/* classify: load a PConv artifact, run it on one raw float32 input, print
 * the output and its arg-max class.
 *
 *   classify ARTIFACT_DIR INPUT.bin [OUTPUT.bin]
 *
 * INPUT.bin holds the model's single input as little-endian float32 in
 * row-major order (numpy: x.astype(np.float32).tofile("x.bin")); the optional
 * OUTPUT.bin receives the first output the same way. Exit status: 0 on
 * success, 1 on bad usage or input, 2 when the runtime refuses the artifact.
 *
 * Build (host):    cc -std=c99 -O2 -Iruntime/include examples/c/classify.c \
 *                     runtime/pconv_runtime.c -ldl -o classify
 * Build (AArch64): aarch64-linux-gnu-gcc ... same arguments ...
 */
#include "pconv_runtime.h"

#include <stdio.h>
#include <stdlib.h>

static float *read_floats(const char *path, size_t count) {
  FILE *f = fopen(path, "rb");
  float *data;
  long size;
  if (!f) {
    fprintf(stderr, "classify: cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  rewind(f);
  if (size < 0 || (size_t)size != count * sizeof(float)) {
    fprintf(stderr, "classify: %s has %ld bytes, the model's input needs %zu (float32)\n", path,
            size, count * sizeof(float));
    fclose(f);
    return NULL;
  }
  data = malloc(count * sizeof(float) + 1);
  if (data && fread(data, sizeof(float), count, f) != count) {
    fprintf(stderr, "classify: short read on %s\n", path);
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

int main(int argc, char **argv) {
  pconv_model *model;
  pconv_error err;
  pconv_tensor_info in, out;
  float *x, *y;
  size_t i, best = 0;
  int status = 0;

  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: classify ARTIFACT_DIR INPUT.bin [OUTPUT.bin]\n");
    return 1;
  }
  if (pconv_load(argv[1], &model, &err) != PCONV_OK) {
    fprintf(stderr, "classify: %s: %s\n", pconv_status_name(err.status), err.message);
    return 2;
  }
  if (pconv_num_inputs(model) != 1) {
    fprintf(stderr, "classify: the model takes %zu inputs; this example feeds exactly one\n",
            pconv_num_inputs(model));
    pconv_unload(model);
    return 1;
  }
  pconv_input_info(model, 0, &in);
  pconv_output_info(model, 0, &out);
  printf("model: %s (%s), input [", argv[1], pconv_model_triple(model));
  for (i = 0; i < (size_t)in.rank; ++i)
    printf(i ? "x%lld" : "%lld", (long long)in.dims[i]);
  printf("], output [");
  for (i = 0; i < (size_t)out.rank; ++i)
    printf(i ? "x%lld" : "%lld", (long long)out.dims[i]);
  printf("]\n");

  x = read_floats(argv[2], in.num_elements);
  y = malloc(out.num_elements * sizeof(float) + 1);
  if (!x || !y) {
    status = 1;
  } else {
    const float *inputs[1];
    float *outputs[PCONV_MAX_ARGS] = {0};
    float *extra[PCONV_MAX_ARGS] = {0};
    inputs[0] = x;
    outputs[0] = y;
    /* Further outputs, if any, go to scratch buffers. */
    for (i = 1; i < pconv_num_outputs(model); ++i) {
      pconv_tensor_info o;
      pconv_output_info(model, i, &o);
      outputs[i] = extra[i] = malloc(o.num_elements * sizeof(float) + 1);
    }
    if (pconv_run(model, inputs, outputs, &err) != PCONV_OK) {
      fprintf(stderr, "classify: %s\n", err.message);
      status = 2;
    } else {
      for (i = 0; i < out.num_elements; ++i) {
        printf("output[%zu] = %.9g\n", i, y[i]);
        if (y[i] > y[best])
          best = i;
      }
      printf("class: %zu\n", best);
      if (argc == 4) {
        FILE *f = fopen(argv[3], "wb");
        if (!f || fwrite(y, sizeof(float), out.num_elements, f) != out.num_elements) {
          fprintf(stderr, "classify: cannot write %s\n", argv[3]);
          status = 1;
        }
        if (f)
          fclose(f);
      }
    }
    for (i = 1; i < PCONV_MAX_ARGS; ++i)
      free(extra[i]);
  }
  free(x);
  free(y);
  pconv_unload(model);
  return status;
}
