/* The app side of the native-lib example: calls natives that a vendor plugin registers. */
#include <stdio.h>
#include <stdlib.h>

#include "test_natives.h"

int main(int argc, char **argv) {
  int x = 10, y = 20, len;
  char *buf;

  (void)argc;
  (void)argv;

  printf("%d + %d = %d\n", x, y, test_add(x, y));
  printf("sqrt(%d, %d) = %d\n", x, y, test_sqrt(x, y));

  /* Ask for the length first: a NULL buffer of size 0 must pass the native's checks. */
  len = test_hello("main", NULL, 0);
  buf = malloc(len);
  if (!buf) {
    printf("malloc %d bytes failed\n", len);
    return -1;
  }
  test_hello("main", buf, len);
  printf("Message from test_hello: %s\n", buf);
  free(buf);
  return 0;
}
