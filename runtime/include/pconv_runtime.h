/* pconv_runtime.h - load and run PConv artifacts from C or C++.
 *
 * A PConv artifact is the folder `pconv.compile(...).save(path)` writes:
 * `model.so` (the compiled network with its weights) and `meta.json` (format
 * version, target triple, entry symbol, input/output shapes, SHA-256 of
 * model.so). pconv_load() checks the format version, the target architecture
 * and the SHA-256 of the library *before* loading it, so a truncated, altered
 * or foreign artifact is refused with a precise error instead of crashing.
 *
 * C99, no dependency beyond libc and libdl (link with -ldl on glibc < 2.34).
 * The model's library itself needs libomp (OpenMP) at run time.
 *
 * Thread safety: a loaded pconv_model is immutable. Any number of threads may
 * call pconv_run() on the same model at the same time, each with its own
 * buffers; the generated code keeps no global mutable state (its weights are
 * read-only constants, temporaries are allocated per call).
 *
 * Memory: the first pconv_load() raises glibc's malloc trim threshold (1 GiB)
 * and fixes its mmap threshold (32 MiB), process-wide, so the buffers a run
 * frees are reused by the next run instead of being page-faulted in again
 * (40% of a ResNet-18 run otherwise). Set PCONV_MALLOC_TUNING=0 to keep the
 * process's malloc settings.
 *
 * Output buffers: any float alignment works. A large conv result (4 MiB by
 * default, `streaming_bytes`) whose buffer is 64-byte aligned (e.g.
 * aligned_alloc(64, ...)) is written with non-temporal stores, which skip
 * reading each cache line before writing it; elsewhere plain stores.
 *
 * Errors: every fallible function returns a pconv_status and, when `error`
 * is not NULL, fills it with the status and a one-line message naming the
 * file and the problem. There is no hidden global "last error".
 *
 * Usage:
 *   pconv_model *m; pconv_error err;
 *   if (pconv_load("net.pconv", &m, &err) != PCONV_OK) { puts(err.message); ... }
 *   pconv_tensor_info in; pconv_input_info(m, 0, &in);   // rank, dims, count
 *   const float *inputs[1] = {x}; float *outputs[1] = {y};
 *   pconv_run(m, inputs, outputs, &err);
 *   pconv_unload(m);
 */
#ifndef PCONV_RUNTIME_H
#define PCONV_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The artifact format this runtime reads (artifact.py FORMAT_VERSION). */
#define PCONV_ARTIFACT_FORMAT_VERSION 1
/* Limits of a model signature. */
#define PCONV_MAX_RANK 8
#define PCONV_MAX_ARGS 16

typedef enum pconv_status {
  PCONV_OK = 0,
  PCONV_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, index out of range */
  PCONV_ERR_IO = 2,               /* a file is missing or unreadable */
  PCONV_ERR_METADATA = 3,         /* meta.json is malformed or incomplete */
  PCONV_ERR_VERSION = 4,          /* artifact format version not supported */
  PCONV_ERR_TARGET = 5,           /* compiled for another architecture */
  PCONV_ERR_CHECKSUM = 6,         /* model.so does not match its SHA-256 */
  PCONV_ERR_LOAD = 7,             /* the dynamic loader refused model.so */
  PCONV_ERR_SYMBOL = 8,           /* the entry point is missing */
  PCONV_ERR_UNSUPPORTED = 9,      /* e.g. a dtype other than float32 */
  PCONV_ERR_NO_MEMORY = 10
} pconv_status;

typedef struct pconv_error {
  pconv_status status;
  char message[512];
} pconv_error;

/* Shape of one input or output; elements are float32, dense, row-major. */
typedef struct pconv_tensor_info {
  int rank;
  int64_t dims[PCONV_MAX_RANK];
  size_t num_elements;
  const char *dtype; /* "float32" */
} pconv_tensor_info;

typedef struct pconv_model pconv_model;

/* Loads the artifact folder `path` (holding meta.json and the library it
 * names). On success *model owns the loaded library; free it with
 * pconv_unload(). On failure *model is NULL. */
pconv_status pconv_load(const char *path, pconv_model **model, pconv_error *error);

/* Unloads a model (NULL is a no-op). No pconv_run() may be in flight. */
void pconv_unload(pconv_model *model);

size_t pconv_num_inputs(const pconv_model *model);
size_t pconv_num_outputs(const pconv_model *model);
pconv_status pconv_input_info(const pconv_model *model, size_t index, pconv_tensor_info *info);
pconv_status pconv_output_info(const pconv_model *model, size_t index, pconv_tensor_info *info);

/* The target name and LLVM triple the artifact was compiled for. */
const char *pconv_model_target(const pconv_model *model);
const char *pconv_model_triple(const pconv_model *model);

/* Runs the model: inputs[i] holds pconv_input_info(i).num_elements floats,
 * outputs[i] receives pconv_output_info(i).num_elements floats. Inputs are
 * only read. Thread-safe on a shared model. */
pconv_status pconv_run(const pconv_model *model, const float *const *inputs, float *const *outputs,
                       pconv_error *error);

/* A constant name for a status ("PCONV_ERR_CHECKSUM", ...). */
const char *pconv_status_name(pconv_status status);

#ifdef __cplusplus
}
#endif

#endif /* PCONV_RUNTIME_H */
