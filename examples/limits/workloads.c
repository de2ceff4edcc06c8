/*
 * CPU-bound workloads for the instrumentation overhead bench (run with -f). Each X_run(n) does
 * n rounds of its work and returns a checksum of the results, so none of it can be optimized
 * away; one round takes about 5 to 20 ms under V8. No libc and no imports: the data lives in
 * static arrays (the example is linked with a bigger initial memory). Random data comes from
 * one generator whose state carries across calls, so results repeat only on a fresh instance.
 */
#include <stdint.h>

/* A linear congruential generator with Knuth's MMIX constants. */
static uint64_t lcg_state = 0x2545f4914f6cdd1dull;

static uint32_t lcg_next(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(lcg_state >> 32);
}

/* ---- sort: heap sort of SORT_N pseudo-random ints ---- */

#define SORT_N 131072

static int32_t sort_data[SORT_N];

static void sift_down(int32_t *a, int root, int end) {
  for (;;) {
    int child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && a[child + 1] > a[child]) child++;
    if (a[root] >= a[child]) return;
    int32_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

static void heap_sort(int32_t *a, int n) {
  for (int i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
  for (int end = n - 1; end > 0; end--) {
    int32_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

/* Sorts fresh random data n times; the checksum weights each value by its sorted position. */
int sort_run(int n) {
  uint32_t sum = 0;
  for (int round = 0; round < n; round++) {
    for (int i = 0; i < SORT_N; i++) sort_data[i] = (int32_t)lcg_next();
    heap_sort(sort_data, SORT_N);
    for (int i = 0; i < SORT_N; i++) sum = sum * 31 + (uint32_t)sort_data[i] * (uint32_t)i;
  }
  return (int)sum;
}

/* ---- sha256: FIPS 180-4, over a SHA_BYTES buffer ---- */

#define SHA_BYTES (64 * 1024)
#define SHA_PASSES 32

static uint8_t sha_data[SHA_BYTES];

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *block) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
           (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  sha_k[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

/* SHA-256 of data[0..length), length a multiple of 64 below 2^29. */
static void sha256(uint32_t h[8], const uint8_t *data, uint32_t length) {
  static const uint32_t initial[8] = {
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  };
  for (int i = 0; i < 8; i++) h[i] = initial[i];
  for (uint32_t at = 0; at < length; at += 64) sha256_block(h, data + at);
  uint8_t tail[64] = {0x80};
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) tail[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_block(h, tail);
}

/*
 * Hashes the buffer SHA_PASSES times per round, writing each digest into the buffer so every
 * pass depends on the one before. Returns the first word of the last digest.
 */
int sha256_run(int n) {
  for (int i = 0; i < SHA_BYTES; i++) sha_data[i] = (uint8_t)i;
  uint32_t h[8] = {0};
  for (int pass = 0; pass < n * SHA_PASSES; pass++) {
    sha256(h, sha_data, SHA_BYTES);
    uint32_t at = (uint32_t)pass * 32 % SHA_BYTES;
    for (int i = 0; i < 8; i++) {
      sha_data[at + 4 * i] = (uint8_t)(h[i] >> 24);
      sha_data[at + 4 * i + 1] = (uint8_t)(h[i] >> 16);
      sha_data[at + 4 * i + 2] = (uint8_t)(h[i] >> 8);
      sha_data[at + 4 * i + 3] = (uint8_t)h[i];
    }
  }
  return (int)h[0];
}

/* ---- matmul: MAT_N x MAT_N integer matrix product ---- */

#define MAT_N 256

static int32_t mat_a[MAT_N][MAT_N];
static int32_t mat_b[MAT_N][MAT_N];
static int32_t mat_c[MAT_N][MAT_N];

/* Multiplies A by B n times, folding each product back into A. Returns a checksum of C. */
int matmul_run(int n) {
  for (int i = 0; i < MAT_N; i++) {
    for (int j = 0; j < MAT_N; j++) {
      mat_a[i][j] = (int32_t)(lcg_next() & 0xff);
      mat_b[i][j] = (int32_t)(lcg_next() & 0xff);
    }
  }
  uint32_t sum = 0;
  for (int round = 0; round < n; round++) {
    /* Dot products rather than zeroing C first: clang turns a zeroing loop into memset. */
    for (int i = 0; i < MAT_N; i++) {
      for (int j = 0; j < MAT_N; j++) {
        int32_t dot = 0;
        for (int k = 0; k < MAT_N; k++) dot += mat_a[i][k] * mat_b[k][j];
        mat_c[i][j] = dot;
      }
    }
    for (int i = 0; i < MAT_N; i++) {
      for (int j = 0; j < MAT_N; j++) {
        sum = sum * 31 + (uint32_t)mat_c[i][j];
        mat_a[i][j] = mat_c[i][j] & 0xff;
      }
    }
  }
  return (int)sum;
}

/* ---- recursion: naive Fibonacci, exponentially many calls ---- */

/* volatile, so each round reads it again and clang cannot compute fib once for all rounds. */
static volatile int fib_input = 32;

static int fib(int k) {
  return k < 2 ? k : fib(k - 1) + fib(k - 2);
}

/* Computes fib(32) n times (millions of calls each). Returns the sum. */
int recursion_run(int n) {
  uint32_t sum = 0;
  for (int round = 0; round < n; round++) sum += (uint32_t)fib(fib_input);
  return (int)sum;
}
