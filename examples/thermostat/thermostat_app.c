/* The thermostat example app: sets a target, watches the room warm up, prints a label. */
#include <stdio.h>
#include <stdlib.h>

#include "thermostat.h"

int main(int argc, char **argv) {
  char small[8];
  char *label;
  int len;

  (void)argc;
  (void)argv;

  thermo_set_target(215);
  printf("target: 21.5 C\n");
  for (int i = 1; i <= 5; i++) {
    int t = thermo_get();
    printf("reading %d: %d.%d C\n", i, t / 10, t % 10);
  }

  /* Ask for the length first, then allocate exactly enough. */
  len = thermo_label("living room", NULL, 0);
  label = malloc(len + 1);
  if (!label) {
    printf("malloc %d bytes failed\n", len + 1);
    return 1;
  }
  thermo_label("living room", label, len + 1);
  printf("%s (%d chars)\n", label, len);
  free(label);

  /* A short buffer gets what fits, NUL-terminated. */
  len = thermo_label("living room", small, sizeof small);
  printf("truncated: \"%s\" of %d\n", small, len);
  return 0;
}
