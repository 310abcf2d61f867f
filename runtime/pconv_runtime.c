/* pconv_runtime.c - load, verify and run PConv artifacts (see pconv_runtime.h).
 *
 * Pieces, in order: error helpers, SHA-256 (FIPS 180-4), a minimal JSON
 * reader for meta.json, loading (version -> target -> checksum -> dlopen),
 * running (MLIR memref descriptors, one call through the C interface).
 */
#define _POSIX_C_SOURCE 200809L
#include "pconv_runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

static pconv_status fail(pconv_error *error, pconv_status status, const char *fmt, ...) {
  if (error) {
    va_list ap;
    va_start(ap, fmt);
    error->status = status;
    vsnprintf(error->message, sizeof error->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

static void ok(pconv_error *error) {
  if (error) {
    error->status = PCONV_OK;
    error->message[0] = '\0';
  }
}

const char *pconv_status_name(pconv_status status) {
  switch (status) {
  case PCONV_OK: return "PCONV_OK";
  case PCONV_ERR_INVALID_ARGUMENT: return "PCONV_ERR_INVALID_ARGUMENT";
  case PCONV_ERR_IO: return "PCONV_ERR_IO";
  case PCONV_ERR_METADATA: return "PCONV_ERR_METADATA";
  case PCONV_ERR_VERSION: return "PCONV_ERR_VERSION";
  case PCONV_ERR_TARGET: return "PCONV_ERR_TARGET";
  case PCONV_ERR_CHECKSUM: return "PCONV_ERR_CHECKSUM";
  case PCONV_ERR_LOAD: return "PCONV_ERR_LOAD";
  case PCONV_ERR_SYMBOL: return "PCONV_ERR_SYMBOL";
  case PCONV_ERR_UNSUPPORTED: return "PCONV_ERR_UNSUPPORTED";
  case PCONV_ERR_NO_MEMORY: return "PCONV_ERR_NO_MEMORY";
  }
  return "PCONV_ERR_UNKNOWN";
}

/* --------------------------------------------------------------- SHA-256 */

typedef struct sha256_ctx {
  uint32_t h[8];
  uint64_t length; /* bytes hashed so far */
  unsigned char block[64];
  size_t used;
} sha256_ctx;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const unsigned char *p) {
  uint32_t w[64], s[8];
  int i;
  for (i = 0; i < 16; ++i)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (i = 16; i < 64; ++i) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(s, c->h, sizeof s);
  for (i = 0; i < 64; ++i) {
    uint32_t t1 = s[7] + (ROTR(s[4], 6) ^ ROTR(s[4], 11) ^ ROTR(s[4], 25)) +
                  ((s[4] & s[5]) ^ (~s[4] & s[6])) + sha256_k[i] + w[i];
    uint32_t t2 = (ROTR(s[0], 2) ^ ROTR(s[0], 13) ^ ROTR(s[0], 22)) +
                  ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof s[0]);
    s[4] += t1;
    s[0] = t1 + t2;
  }
  for (i = 0; i < 8; ++i)
    c->h[i] += s[i];
}

static void sha256_init(sha256_ctx *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof h0);
  c->length = 0;
  c->used = 0;
}

static void sha256_update(sha256_ctx *c, const unsigned char *p, size_t n) {
  c->length += n;
  while (n > 0) {
    size_t take = 64 - c->used < n ? 64 - c->used : n;
    memcpy(c->block + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      sha256_block(c, c->block);
      c->used = 0;
    }
  }
}

/* Writes the digest as 64 lowercase hex digits and a NUL to `hex`. */
static void sha256_final(sha256_ctx *c, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  uint64_t bits = c->length * 8;
  unsigned char pad[72] = {0x80};
  size_t padlen = (c->used < 56 ? 56 : 120) - c->used;
  int i;
  for (i = 0; i < 8; ++i)
    pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(c, pad, padlen + 8);
  for (i = 0; i < 32; ++i) {
    unsigned char byte = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
    hex[2 * i] = digits[byte >> 4];
    hex[2 * i + 1] = digits[byte & 15];
  }
  hex[64] = '\0';
}

static pconv_status sha256_file(const char *path, char hex[65], pconv_error *error) {
  unsigned char buf[1 << 16];
  size_t n;
  sha256_ctx c;
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(error, PCONV_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
  sha256_init(&c);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    sha256_update(&c, buf, n);
  if (ferror(f)) {
    fclose(f);
    return fail(error, PCONV_ERR_IO, "%s: read error", path);
  }
  fclose(f);
  sha256_final(&c, hex);
  return PCONV_OK;
}

/* ------------------------------------------------------------- JSON read */

/* A reader over NUL-terminated text that extracts the few meta.json fields
 * the runtime needs and validates the syntax of everything else. Strings
 * keep their escapes decoded for the ASCII range (\uXXXX above it fails:
 * no field the runtime reads holds non-ASCII text). */
typedef struct json {
  const char *begin, *p;
  const char *what; /* the first syntax error, NULL while none */
} json;

#define JSON_MAX_DEPTH 64

static int json_fail(json *j, const char *what) {
  if (!j->what)
    j->what = what;
  return 0;
}

static void json_ws(json *j) {
  while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
    ++j->p;
}

static int json_char(json *j, char c) {
  json_ws(j);
  if (*j->p != c)
    return 0;
  ++j->p;
  return 1;
}

/* Parses a string into out[cap]; out may be NULL (skip). A string that does
 * not fit is an error, unless `truncated` is given: then it is flagged. */
static int json_string_to(json *j, char *out, size_t cap, int *truncated) {
  size_t len = 0;
  json_ws(j);
  if (*j->p != '"')
    return json_fail(j, "expected a string");
  ++j->p;
  for (;;) {
    char c = *j->p++;
    if (c == '"')
      break;
    if (c == '\0' || (unsigned char)c < 0x20)
      return json_fail(j, "unterminated string");
    if (c == '\\') {
      char e = *j->p++;
      const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
      const char *hit = e ? strchr(from, e) : NULL;
      if (hit) {
        c = to[hit - from];
      } else if (e == 'u') {
        unsigned v = 0;
        int i;
        for (i = 0; i < 4; ++i) {
          char h = *j->p++;
          v = v * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
                                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                         : 99);
          if (v > 0xffff || h == '\0')
            return json_fail(j, "bad \\u escape");
        }
        if (v >= 0x80 && out)
          return json_fail(j, "non-ASCII text in a field the runtime reads");
        c = (char)v;
      } else {
        return json_fail(j, "bad escape");
      }
    }
    if (out && len + 1 >= cap) {
      if (!truncated)
        return json_fail(j, "string too long");
      *truncated = 1;
    } else if (out) {
      out[len++] = c;
    }
  }
  if (out)
    out[len] = '\0';
  return 1;
}

static int json_string(json *j, char *out, size_t cap) {
  return json_string_to(j, out, cap, NULL);
}

/* An integer (no fraction or exponent). */
static int json_int(json *j, int64_t *value) {
  int64_t v = 0;
  int neg = 0, digits = 0;
  json_ws(j);
  if (*j->p == '-') {
    neg = 1;
    ++j->p;
  }
  while (*j->p >= '0' && *j->p <= '9') {
    if (v > (INT64_MAX - 9) / 10)
      return json_fail(j, "integer out of range");
    v = v * 10 + (*j->p++ - '0');
    ++digits;
  }
  if (!digits || *j->p == '.' || *j->p == 'e' || *j->p == 'E')
    return json_fail(j, "expected an integer");
  *value = neg ? -v : v;
  return 1;
}

static int json_skip(json *j, int depth);

/* Calls `member(j, key, ctx)` for every member of an object; a member
 * callback returns 0 on error, and consumes the value. */
typedef int (*json_member_fn)(json *j, const char *key, void *ctx);

static int json_object(json *j, int depth, json_member_fn member, void *ctx) {
  char key[64];
  if (depth > JSON_MAX_DEPTH)
    return json_fail(j, "nesting too deep");
  if (!json_char(j, '{'))
    return json_fail(j, "expected an object");
  if (json_char(j, '}'))
    return 1;
  do {
    int truncated = 0;
    if (!json_string_to(j, key, sizeof key, &truncated))
      return 0;
    if (truncated) /* no field the runtime reads has a long name */
      key[0] = '\0';
    if (!json_char(j, ':'))
      return json_fail(j, "expected ':'");
    if (member ? !member(j, key, ctx) : !json_skip(j, depth + 1))
      return 0;
  } while (json_char(j, ','));
  if (!json_char(j, '}'))
    return json_fail(j, "expected ',' or '}'");
  return 1;
}

static int json_skip(json *j, int depth) {
  json_ws(j);
  if (depth > JSON_MAX_DEPTH)
    return json_fail(j, "nesting too deep");
  switch (*j->p) {
  case '{':
    return json_object(j, depth, NULL, NULL);
  case '[':
    ++j->p;
    if (json_char(j, ']'))
      return 1;
    do {
      if (!json_skip(j, depth + 1))
        return 0;
    } while (json_char(j, ','));
    return json_char(j, ']') ? 1 : json_fail(j, "expected ',' or ']'");
  case '"':
    return json_string(j, NULL, 0);
  default: {
    const char *words[] = {"true", "false", "null"};
    size_t i;
    for (i = 0; i < 3; ++i)
      if (!strncmp(j->p, words[i], strlen(words[i]))) {
        j->p += strlen(words[i]);
        return 1;
      }
    if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
      char *end;
      (void)strtod(j->p, &end);
      j->p = end;
      return 1;
    }
    return json_fail(j, "unexpected character");
  }
  }
}

/* -------------------------------------------------------------- metadata */

struct pconv_model {
  void *handle;
  void (*entry)(void);
  size_t num_inputs, num_outputs;
  pconv_tensor_info inputs[PCONV_MAX_ARGS], outputs[PCONV_MAX_ARGS];
  char target[64], triple[128], symbol[256];
};

typedef struct meta {
  int64_t version;
  int has_version;
  char library[256], sha256[80];
  pconv_model *model;
  const char *problem; /* a semantic (not syntax) error, with its field */
  char problem_buf[160];
} meta;

static int meta_version(json *j, const char *key, void *ctx) {
  meta *m = ctx;
  if (strcmp(key, "format_version"))
    return json_skip(j, 1);
  json_ws(j);
  if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
    if (!json_int(j, &m->version))
      return 0;
    m->has_version = 1;
    return 1;
  }
  return json_skip(j, 1); /* not a number: reported as a missing version */
}

typedef struct spec_ctx {
  meta *m;
  pconv_tensor_info *info;
  int has_shape;
} spec_ctx;

static int meta_spec_member(json *j, const char *key, void *ctx) {
  spec_ctx *s = ctx;
  if (!strcmp(key, "dtype")) {
    char dtype[32];
    if (!json_string(j, dtype, sizeof dtype))
      return 0;
    if (strcmp(dtype, "float32") && !s->m->problem) {
      snprintf(s->m->problem_buf, sizeof s->m->problem_buf,
               "dtype %s is not supported (this runtime runs float32 models)", dtype);
      s->m->problem = s->m->problem_buf;
    }
    s->info->dtype = "float32";
    return 1;
  }
  if (strcmp(key, "shape"))
    return json_skip(j, 3);
  if (!json_char(j, '['))
    return json_fail(j, "expected a shape array");
  s->has_shape = 1;
  s->info->rank = 0;
  s->info->num_elements = 1;
  if (json_char(j, ']'))
    return 1;
  do {
    int64_t d;
    if (!json_int(j, &d))
      return 0;
    if (s->info->rank == PCONV_MAX_RANK)
      return json_fail(j, "tensor rank above PCONV_MAX_RANK");
    if (d < 0 || (d > 0 && s->info->num_elements > (SIZE_MAX / sizeof(float)) / (size_t)d))
      return json_fail(j, "tensor dimension out of range");
    s->info->dims[s->info->rank++] = d;
    s->info->num_elements *= (size_t)d;
  } while (json_char(j, ','));
  return json_char(j, ']') ? 1 : json_fail(j, "expected ',' or ']'");
}

static int meta_specs(json *j, meta *m, pconv_tensor_info *infos, size_t *count) {
  if (!json_char(j, '['))
    return json_fail(j, "expected an array of tensor specs");
  *count = 0;
  if (json_char(j, ']'))
    return 1;
  do {
    spec_ctx s;
    if (*count == PCONV_MAX_ARGS)
      return json_fail(j, "more tensors than PCONV_MAX_ARGS");
    s.m = m;
    s.info = &infos[*count];
    s.info->dtype = NULL;
    s.has_shape = 0;
    if (!json_object(j, 2, meta_spec_member, &s))
      return 0;
    if (!s.has_shape || !s.info->dtype)
      return json_fail(j, "tensor spec without shape or dtype");
    ++*count;
  } while (json_char(j, ','));
  return json_char(j, ']') ? 1 : json_fail(j, "expected ',' or ']'");
}

static int meta_member(json *j, const char *key, void *ctx) {
  meta *m = ctx;
  pconv_model *model = m->model;
  if (!strcmp(key, "target"))
    return json_string(j, model->target, sizeof model->target);
  if (!strcmp(key, "triple"))
    return json_string(j, model->triple, sizeof model->triple);
  if (!strcmp(key, "symbol"))
    return json_string(j, model->symbol, sizeof model->symbol);
  if (!strcmp(key, "library"))
    return json_string(j, m->library, sizeof m->library);
  if (!strcmp(key, "sha256"))
    return json_string(j, m->sha256, sizeof m->sha256);
  if (!strcmp(key, "inputs"))
    return meta_specs(j, m, model->inputs, &model->num_inputs);
  if (!strcmp(key, "outputs"))
    return meta_specs(j, m, model->outputs, &model->num_outputs);
  return json_skip(j, 1);
}

static int json_line(const json *j) {
  int line = 1;
  const char *q;
  for (q = j->begin; q < j->p; ++q)
    line += *q == '\n';
  return line;
}

/* Reads all of a small file into a NUL-terminated malloc'd buffer. */
static pconv_status read_text(const char *path, size_t limit, char **out, pconv_error *error) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if (!f)
    return fail(error, PCONV_ERR_IO, "%s: cannot open (%s); is this a PConv artifact folder?", path,
                strerror(errno));
  buf = malloc(limit + 1);
  if (!buf) {
    fclose(f);
    return fail(error, PCONV_ERR_NO_MEMORY, "out of memory reading %s", path);
  }
  n = fread(buf, 1, limit + 1, f);
  fclose(f);
  if (n > limit) {
    free(buf);
    return fail(error, PCONV_ERR_METADATA, "%s: larger than %zu bytes, not PConv metadata", path,
                limit);
  }
  if (memchr(buf, '\0', n)) {
    free(buf);
    return fail(error, PCONV_ERR_METADATA, "%s: binary data, not JSON", path);
  }
  buf[n] = '\0';
  *out = buf;
  return PCONV_OK;
}

static pconv_status parse_meta(const char *path, const char *text, meta *m, pconv_error *error) {
  json j;
  static const char hex[] = "0123456789abcdef";
  size_t i;
  /* Pass 1: the version alone, so a newer format is reported as such even
   * when its other fields changed shape. */
  j.begin = j.p = text;
  j.what = NULL;
  if (!json_object(&j, 0, meta_version, m) || (json_ws(&j), *j.p != '\0'))
    return fail(error, PCONV_ERR_METADATA, "%s: malformed JSON at line %d: %s", path, json_line(&j),
                j.what ? j.what : "trailing characters");
  if (!m->has_version)
    return fail(error, PCONV_ERR_VERSION, "%s: no integer format_version (not a PConv artifact?)",
                path);
  if (m->version != PCONV_ARTIFACT_FORMAT_VERSION)
    return fail(error, PCONV_ERR_VERSION,
                "%s: artifact format version %lld, this runtime reads version %d; recompile the "
                "model with a matching PConv",
                path, (long long)m->version, PCONV_ARTIFACT_FORMAT_VERSION);
  /* Pass 2: the fields. */
  j.p = text;
  if (!json_object(&j, 0, meta_member, m))
    return fail(error, PCONV_ERR_METADATA, "%s: malformed metadata at line %d: %s", path,
                json_line(&j), j.what);
  if (m->problem)
    return fail(error, PCONV_ERR_UNSUPPORTED, "%s: %s", path, m->problem);
  {
    const char *required[] = {"target", "triple", "symbol", "library", "sha256"};
    const char *values[] = {m->model->target, m->model->triple, m->model->symbol, m->library,
                            m->sha256};
    for (i = 0; i < 5; ++i)
      if (!values[i][0])
        return fail(error, PCONV_ERR_METADATA, "%s: missing \"%s\"", path, required[i]);
  }
  if (!m->model->num_outputs || m->model->num_inputs + m->model->num_outputs > PCONV_MAX_ARGS)
    return fail(error, PCONV_ERR_METADATA, "%s: needs 1 to %d inputs+outputs, has %zu+%zu", path,
                PCONV_MAX_ARGS, m->model->num_inputs, m->model->num_outputs);
  if (strchr(m->library, '/') || !strcmp(m->library, "..") || !strcmp(m->library, "."))
    return fail(error, PCONV_ERR_METADATA, "%s: library \"%s\" must be a file name in the artifact",
                path, m->library);
  for (i = 0; i < 64; ++i)
    if (m->sha256[i] == '\0' || !strchr(hex, m->sha256[i]))
      break;
  if (i != 64 || m->sha256[64] != '\0')
    return fail(error, PCONV_ERR_METADATA, "%s: sha256 is not 64 lowercase hex digits", path);
  return PCONV_OK;
}

/* The architecture this runtime was compiled for, as the first component of
 * an LLVM triple; NULL where unknown (the target check is then skipped). */
static const char *runtime_arch(void) {
#if defined(__aarch64__)
  return "aarch64";
#elif defined(__x86_64__)
  return "x86_64";
#else
  return NULL;
#endif
}

/* ------------------------------------------------------------------ load */

#define META_LIMIT (1u << 20)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* A model allocates its intermediate buffers on every run; with glibc's
 * defaults each free of a large buffer returns it to the kernel and the next
 * run page-faults it back in (40% of a ResNet-18 run). Keep freed memory in
 * the heap: trim threshold 1 GiB, mmap threshold fixed at its 32 MiB maximum.
 * Process-wide, once; PCONV_MALLOC_TUNING=0 turns it off. */
static void tune_malloc(void) {
#if defined(__GLIBC__)
  static int done = 0;
  const char *env = getenv("PCONV_MALLOC_TUNING");
  if (done || (env && strcmp(env, "0") == 0))
    return;
  done = 1;
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
}

pconv_status pconv_load(const char *path, pconv_model **out, pconv_error *error) {
  char meta_path[4096], lib_path[4096], actual[65];
  char *text = NULL;
  meta m;
  pconv_model *model;
  pconv_status st;
  const char *arch = runtime_arch();
  void *symbol;

  if (!out)
    return fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_load: model out-pointer is NULL");
  *out = NULL;
  if (!path)
    return fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_load: path is NULL");
  if ((size_t)snprintf(meta_path, sizeof meta_path, "%s/meta.json", path) >= sizeof meta_path)
    return fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_load: path too long");
  if ((st = read_text(meta_path, META_LIMIT, &text, error)) != PCONV_OK)
    return st;
  model = calloc(1, sizeof *model);
  if (!model) {
    free(text);
    return fail(error, PCONV_ERR_NO_MEMORY, "out of memory");
  }
  memset(&m, 0, sizeof m);
  m.model = model;
  st = parse_meta(meta_path, text, &m, error);
  free(text);
  if (st != PCONV_OK)
    goto failed;

  if (arch) {
    size_t n = strlen(arch);
    if (strncmp(model->triple, arch, n) || model->triple[n] != '-') {
      st = fail(error, PCONV_ERR_TARGET,
                "%s: compiled for %s (target %s), this runtime runs on %s; compile with "
                "pconv.compile(..., target=...) for this machine",
                path, model->triple, model->target, arch);
      goto failed;
    }
  }

  /* Integrity before the dynamic loader ever sees the file. */
  if ((size_t)snprintf(lib_path, sizeof lib_path, "%s/%s", path, m.library) >= sizeof lib_path) {
    st = fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_load: path too long");
    goto failed;
  }
  if ((st = sha256_file(lib_path, actual, error)) != PCONV_OK)
    goto failed;
  if (strcmp(actual, m.sha256)) {
    st = fail(error, PCONV_ERR_CHECKSUM,
              "%s: checksum mismatch (sha256 %.16s..., meta.json expects %.16s...): the file is "
              "truncated or altered; re-copy or recompile the artifact",
              lib_path, actual, m.sha256);
    goto failed;
  }

  tune_malloc();
  model->handle = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!model->handle) {
    const char *why = dlerror();
    st = fail(error, PCONV_ERR_LOAD, "%s: cannot load: %s (is libomp on the library path?)",
              lib_path, why ? why : "unknown error");
    goto failed;
  }
  symbol = dlsym(model->handle, model->symbol);
  if (!symbol) {
    st = fail(error, PCONV_ERR_SYMBOL, "%s: entry point %s is missing", lib_path, model->symbol);
    goto failed;
  }
  /* POSIX guarantees data and function pointers convert through dlsym. */
  memcpy(&model->entry, &symbol, sizeof symbol);
  *out = model;
  ok(error);
  return PCONV_OK;

failed:
  pconv_unload(model);
  return st;
}

void pconv_unload(pconv_model *model) {
  if (!model)
    return;
  if (model->handle)
    dlclose(model->handle);
  free(model);
}

size_t pconv_num_inputs(const pconv_model *model) { return model ? model->num_inputs : 0; }
size_t pconv_num_outputs(const pconv_model *model) { return model ? model->num_outputs : 0; }
const char *pconv_model_target(const pconv_model *model) { return model ? model->target : NULL; }
const char *pconv_model_triple(const pconv_model *model) { return model ? model->triple : NULL; }

static pconv_status tensor_info(const pconv_model *model, size_t index, pconv_tensor_info *info,
                                int output) {
  size_t count = output ? pconv_num_outputs(model) : pconv_num_inputs(model);
  if (!model || !info || index >= count)
    return PCONV_ERR_INVALID_ARGUMENT;
  *info = output ? model->outputs[index] : model->inputs[index];
  return PCONV_OK;
}

pconv_status pconv_input_info(const pconv_model *model, size_t index, pconv_tensor_info *info) {
  return tensor_info(model, index, info, 0);
}

pconv_status pconv_output_info(const pconv_model *model, size_t index, pconv_tensor_info *info) {
  return tensor_info(model, index, info, 1);
}

/* ------------------------------------------------------------------- run */

/* An MLIR memref descriptor of rank <= PCONV_MAX_RANK: {allocated, aligned,
 * offset, sizes[rank], strides[rank]}; sizes and strides are consecutive
 * words of `shape`, so one layout serves every rank. */
typedef struct memref_desc {
  void *allocated, *aligned;
  int64_t offset;
  int64_t shape[2 * PCONV_MAX_RANK];
} memref_desc;

static void describe(memref_desc *d, void *data, const pconv_tensor_info *info) {
  int64_t stride = 1;
  int i;
  d->allocated = d->aligned = data;
  d->offset = 0;
  for (i = info->rank - 1; i >= 0; --i) {
    d->shape[i] = info->dims[i];
    d->shape[info->rank + i] = stride;
    stride *= info->dims[i];
  }
}

typedef void *P;
#define ARGS1 P
#define ARGS2 ARGS1, P
#define ARGS3 ARGS2, P
#define ARGS4 ARGS3, P
#define ARGS5 ARGS4, P
#define ARGS6 ARGS5, P
#define ARGS7 ARGS6, P
#define ARGS8 ARGS7, P
#define ARGS9 ARGS8, P
#define ARGS10 ARGS9, P
#define ARGS11 ARGS10, P
#define ARGS12 ARGS11, P
#define ARGS13 ARGS12, P
#define ARGS14 ARGS13, P
#define ARGS15 ARGS14, P
#define ARGS16 ARGS15, P
#define VALS1 a[0]
#define VALS2 VALS1, a[1]
#define VALS3 VALS2, a[2]
#define VALS4 VALS3, a[3]
#define VALS5 VALS4, a[4]
#define VALS6 VALS5, a[5]
#define VALS7 VALS6, a[6]
#define VALS8 VALS7, a[7]
#define VALS9 VALS8, a[8]
#define VALS10 VALS9, a[9]
#define VALS11 VALS10, a[10]
#define VALS12 VALS11, a[11]
#define VALS13 VALS12, a[12]
#define VALS14 VALS13, a[13]
#define VALS15 VALS14, a[14]
#define VALS16 VALS15, a[15]
#define CALL(n)                                                                                    \
  case n:                                                                                          \
    ((void (*)(ARGS##n))entry)(VALS##n);                                                           \
    break;

/* Calls the entry point with its exact arity (no variadic/extra-argument
 * tricks): one pointer to a descriptor per input, then per output. */
static void call_entry(void (*entry)(void), size_t n, P *a) {
  switch (n) {
    CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8)
    CALL(9) CALL(10) CALL(11) CALL(12) CALL(13) CALL(14) CALL(15) CALL(16)
  }
}

pconv_status pconv_run(const pconv_model *model, const float *const *inputs, float *const *outputs,
                       pconv_error *error) {
  memref_desc descs[PCONV_MAX_ARGS];
  P args[PCONV_MAX_ARGS];
  size_t i, n;
  if (!model || (model->num_inputs && !inputs) || !outputs)
    return fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_run: model, inputs or outputs is NULL");
  n = model->num_inputs + model->num_outputs;
  for (i = 0; i < n; ++i) {
    int is_input = i < model->num_inputs;
    /* The generated code takes non-const descriptors but only reads inputs. */
    void *data = is_input ? (void *)(uintptr_t)inputs[i] : (void *)outputs[i - model->num_inputs];
    if (!data)
      return fail(error, PCONV_ERR_INVALID_ARGUMENT, "pconv_run: %s %zu is NULL",
                  is_input ? "input" : "output", is_input ? i : i - model->num_inputs);
    describe(&descs[i], data,
             is_input ? &model->inputs[i] : &model->outputs[i - model->num_inputs]);
    args[i] = &descs[i];
  }
  call_entry(model->entry, n, args);
  ok(error);
  return PCONV_OK;
}
