/* The hello world from the WAMR README, plus a dump of the arguments main receives. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  char *buf;

  printf("Hello world!\n");

  buf = malloc(1024);
  if (!buf) {
    printf("malloc buf failed\n");
    return -1;
  }

  printf("buf ptr: 0x%08x\n", (unsigned int)(uintptr_t)buf);

  /* "%d" rather than "%s": clang rewrites sprintf(buf, "%s", "1234") into plain stores. */
  sprintf(buf, "%d", 1234);
  printf("buf: %s\n", buf);

  free(buf);

  printf("argc=%d argv0=%s\n", argc, argc > 0 ? argv[0] : "");
  for (int i = 1; i < argc; i++) {
    printf("argv%d=%s\n", i, argv[i]);
  }
  return 0;
}
