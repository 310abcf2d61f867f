/* Core-to-core round trip for benchmarks/peak.py: two threads pinned to two
 * CPUs hand one cache line back and forth. On this shared host the two
 * vCPUs alternated between minutes where a round trip took 61-77 ns and
 * minutes where it took 328-333 ns, and 2-thread runs in the second state
 * ran at about 1-thread speed (docs/rationale.md, session 22), so the
 * harness reports it beside the peak.
 * Build: cc -O2 -shared -fPIC pingpong.c -o pingpong.so -lpthread */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic long flag __attribute__((aligned(64)));

struct partner {
  int cpu;
  long rounds;
  int unpinned; /* it answers anyway, so the caller never waits forever */
};

static int pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *arg) {
  struct partner *p = arg;
  p->unpinned = pin(p->cpu) != 0;
  for (long i = 0; i < p->rounds; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i + 1)
      ;
    atomic_store_explicit(&flag, 2 * i + 2, memory_order_release);
  }
  return 0;
}

/* Mean nanoseconds per round trip between cpu_a (the caller, pinned for the
 * call and restored after) and cpu_b over `rounds` trips; a negative value
 * if a thread cannot be pinned or started. */
double pconv_pingpong_ns(int cpu_a, int cpu_b, long rounds) {
  cpu_set_t saved;
  if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0)
    return -1;
  if (pin(cpu_a) != 0)
    return -1;
  atomic_store(&flag, 0);
  struct partner p = {cpu_b, rounds, 0};
  pthread_t t;
  if (pthread_create(&t, 0, answer, &p) != 0) {
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    return -1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < rounds; i++) {
    atomic_store_explicit(&flag, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i + 2)
      ;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  pthread_join(t, 0);
  pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  if (p.unpinned)
    return -1;
  return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / rounds;
}
