/* pconv_runner: runs a PConv artifact's entry point out of process.
 *
 * Used for targets that cannot be loaded into the Python process (AArch64
 * under qemu-aarch64). Usage: pconv_runner MODEL.so SYMBOL IO_FILE
 *
 * IO_FILE: "PCIO" magic, u32 argument count, then per argument u32 rank,
 * u32 is_output, rank x i64 dims; then the f32 data of every input argument
 * in order. The outputs are written, concatenated, to IO_FILE.out.
 * Every argument is passed to SYMBOL as a pointer to an MLIR memref
 * descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 16
#define MAX_RANK 8

static int fail(const char *msg, const char *detail) {
  fprintf(stderr, "pconv_runner: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
  return 2;
}

static int read_exact(FILE *f, void *dst, size_t n) { return fread(dst, 1, n, f) == n; }

typedef void (*entry_fn)(void *, void *, void *, void *, void *, void *, void *, void *,
                         void *, void *, void *, void *, void *, void *, void *, void *);

int main(int argc, char **argv) {
  if (argc != 4)
    return fail("usage: pconv_runner MODEL.so SYMBOL IO_FILE", NULL);
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fail("cannot load model", dlerror());
  entry_fn fn = (entry_fn)dlsym(lib, argv[2]);
  if (!fn)
    return fail("missing entry point", argv[2]);

  FILE *in = fopen(argv[3], "rb");
  if (!in)
    return fail("cannot open", argv[3]);
  char magic[4];
  uint32_t nargs;
  if (!read_exact(in, magic, 4) || memcmp(magic, "PCIO", 4) || !read_exact(in, &nargs, 4) ||
      nargs > MAX_ARGS)
    return fail("malformed io file header", argv[3]);

  uint32_t rank[MAX_ARGS], is_output[MAX_ARGS];
  int64_t dims[MAX_ARGS][MAX_RANK];
  int64_t *desc[MAX_ARGS] = {0};
  float *data[MAX_ARGS] = {0};
  size_t count[MAX_ARGS];
  for (uint32_t a = 0; a < nargs; ++a) {
    if (!read_exact(in, &rank[a], 4) || !read_exact(in, &is_output[a], 4) || rank[a] > MAX_RANK ||
        !read_exact(in, dims[a], 8 * rank[a]))
      return fail("malformed argument header", argv[3]);
    count[a] = 1;
    for (uint32_t d = 0; d < rank[a]; ++d)
      count[a] *= (size_t)dims[a][d];
  }
  for (uint32_t a = 0; a < nargs; ++a) {
    data[a] = aligned_alloc(64, (count[a] * sizeof(float) + 63) / 64 * 64 + 64);
    if (!data[a])
      return fail("out of memory", NULL);
    if (!is_output[a] && !read_exact(in, data[a], count[a] * sizeof(float)))
      return fail("truncated input data", argv[3]);
    /* {allocated, aligned, offset, sizes..., strides...} as 8-byte words. */
    desc[a] = calloc(3 + 2 * rank[a], sizeof(int64_t));
    memcpy(&desc[a][0], &data[a], sizeof(void *));
    memcpy(&desc[a][1], &data[a], sizeof(void *));
    int64_t stride = 1;
    for (int d = (int)rank[a] - 1; d >= 0; --d) {
      desc[a][3 + d] = dims[a][d];
      desc[a][3 + rank[a] + d] = stride;
      stride *= dims[a][d];
    }
  }
  fclose(in);

  void *p[MAX_ARGS] = {0};
  for (uint32_t a = 0; a < nargs; ++a)
    p[a] = desc[a];
  fn(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13],
     p[14], p[15]);

  char out_path[4096];
  snprintf(out_path, sizeof out_path, "%s.out", argv[3]);
  FILE *out = fopen(out_path, "wb");
  if (!out)
    return fail("cannot write", out_path);
  for (uint32_t a = 0; a < nargs; ++a)
    if (is_output[a] && fwrite(data[a], sizeof(float), count[a], out) != count[a])
      return fail("short write", out_path);
  fclose(out);
  return 0;
}
