/* Wall time of every OpenMP parallel region of a compiled model.
 *
 * Preloaded (LD_PRELOAD) into a process that runs a PConv artifact: it
 * interposes libomp's __kmpc_fork_call, which the generated code calls once
 * per parallel region, times each call and accumulates per outlined function
 * (the microtask).  pconv_region_timer_reset() starts a measurement,
 * pconv_region_timer_dump(path) writes one line per region, in first-call
 * order: "<offset of the microtask in its object> <object path> <calls>
 * <total microseconds> <argc>".  benchmarks/regions.py drives it and names
 * the regions from the artifact's symbol table.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_REGIONS 4096
#define MAX_ARGS 24

typedef void (*fork_fn)(void *, int, void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *);

static fork_fn real_fork;
static void *keys[MAX_REGIONS];
static double seconds[MAX_REGIONS];
static long calls[MAX_REGIONS];
static int max_argc[MAX_REGIONS];
static int regions;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void fail(const char *message) {
  (void)!write(2, message, __builtin_strlen(message));
  _exit(70);
}

void pconv_region_timer_reset(void) {
  for (int i = 0; i < regions; ++i) {
    seconds[i] = 0;
    calls[i] = 0;
  }
}

int pconv_region_timer_dump(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  for (int i = 0; i < regions; ++i) {
    Dl_info info;
    const char *object = "?";
    uintptr_t offset = (uintptr_t)keys[i];
    if (dladdr(keys[i], &info) && info.dli_fname) {
      object = info.dli_fname;
      offset -= (uintptr_t)info.dli_fbase;
    }
    fprintf(f, "%#lx %s %ld %.3f %d\n", (unsigned long)offset, object, calls[i], seconds[i] * 1e6, max_argc[i]);
  }
  return fclose(f);
}

/* Only the master thread forks in the generated code (no nested regions),
 * so the table needs no lock. */
void __kmpc_fork_call(void *loc, int argc, void *microtask, void *a0, void *a1, void *a2, void *a3, void *a4,
                      void *a5, void *a6, void *a7, void *a8, void *a9, void *a10, void *a11, void *a12,
                      void *a13, void *a14, void *a15, void *a16, void *a17, void *a18, void *a19, void *a20,
                      void *a21, void *a22, void *a23) {
  if (!real_fork) {
    /* libomp is a dependency of the model library, loaded RTLD_LOCAL. */
    void *omp = dlopen("libomp.so.5", RTLD_NOW | RTLD_NOLOAD);
    real_fork = omp ? (fork_fn)dlsym(omp, "__kmpc_fork_call") : NULL;
    if (!real_fork)
      fail("region_timer: libomp's __kmpc_fork_call not found\n");
  }
  if (argc < 0 || argc > MAX_ARGS)
    fail("region_timer: a parallel region passes more arguments than it forwards\n");
  double start = now();
  real_fork(loc, argc, microtask, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,
            a18, a19, a20, a21, a22, a23);
  double elapsed = now() - start;
  int i = 0;
  while (i < regions && keys[i] != microtask)
    ++i;
  if (i == regions) {
    if (regions == MAX_REGIONS)
      return;
    keys[regions++] = microtask;
  }
  seconds[i] += elapsed;
  calls[i] += 1;
  if (argc > max_argc[i])
    max_argc[i] = argc;
}
