/* One export per way a wasm app can trap, for the runtime's trap-message tests (run with -f). */
#include <limits.h>
#include <string.h>

/* Provided by nobody: linking leaves it unresolved so calling it must fail at run time. */
extern int foo_missing(int);

int unreachable_trap(void) {
  __builtin_trap();
}

int oob_load(void) {
  volatile int *p = (volatile int *)0x7fffffff;
  return *p;
}

int divz(int x) {
  return 10 / x;
}

int int_overflow(void) {
  volatile int a = INT_MIN, b = -1;
  return a / b;
}

/* A plain (int) cast is guarded by clang (out-of-range is UB), so ask for the trapping opcode. */
int bad_convert(void) {
  volatile double huge = 1e30;
  return __builtin_wasm_trunc_s_i32_f64(huge);
}

static int one_arg(int x) {
  return x + 1;
}

/* volatile keeps clang from seeing the target, so the mismatch reaches call_indirect. */
static void *volatile mistyped_target = (void *)one_arg;

int indirect_mismatch(void) {
  int (*two_args)(int, int) = (int (*)(int, int))mistyped_target;
  return two_args(1, 2);
}

static volatile int depth;
static int recurse(int n);
/* Calling through a volatile pointer stops clang turning the recursion into a loop. */
static int (*volatile recurse_ptr)(int) = recurse;

static int recurse(int n) {
  depth = n;
  return recurse_ptr(n + 1) + 1;
}

int stack_overflow(void) {
  return recurse(0);
}

/* The last byte of memory is non-zero, so strlen runs off the end. */
int strlen_bad(void) {
  char *last = (char *)(__builtin_wasm_memory_size(0) * 65536 - 1);
  *last = 'x';
  return (int)strlen(last);
}

int call_missing(void) {
  return foo_missing(1);
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}
