/*
 * Deep recursion for the runtime's stack limits (run with -f). shadow_overflow uses the C
 * shadow stack (the __stack_pointer region, 8 KiB in the examples); call_overflow uses only
 * wasm frames.
 */

static char *volatile deepest_frame;

/*
 * Each frame keeps 1 KiB on the shadow stack, so depth 2 fits in 8 KiB and depth 100 does not.
 * Returns the sum of the bytes the frames wrote: (depth + 1) squared while depth is below 127.
 */
int shadow_overflow(int depth) {
  char buf[1024];
  /* Publishing the array keeps all of it in the frame: clang shrinks a private array that
     only has two bytes touched to a 32-byte frame. */
  deepest_frame = buf;
  buf[0] = (char)depth;
  buf[sizeof(buf) - 1] = (char)(depth + 1);
  int below = depth > 0 ? shadow_overflow(depth - 1) : 0;
  return below + buf[0] + buf[sizeof(buf) - 1];
}

static volatile int last_depth;

/*
 * Returns 1 + 2 + ... + depth (mod 2^32). The store after the recursive call keeps clang from
 * turning the recursion into a loop, and nothing here needs the shadow stack.
 */
int call_overflow(int depth) {
  if (depth <= 0) return 0;
  unsigned int sum = (unsigned int)call_overflow(depth - 1);
  last_depth = depth;
  return (int)(sum + (unsigned int)depth);
}
