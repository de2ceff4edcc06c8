/*
 * Natives supplied by the vendor plugin examples/native_lib/plugin.ts, registered under "env":
 *
 *   test_add   (ii)i    returns x + y
 *   test_sqrt  (ii)i    returns x * x + y * y
 *   test_hello ($*~)i   writes "Hello <name>!" into buf when it fits (snprintf semantics) and
 *                       returns the length the message needs including its NUL, i.e.
 *                       strlen(message) + 1; buf may be NULL when buf_size is 0
 */
#ifndef EXAMPLES_NATIVE_LIB_TEST_NATIVES_H
#define EXAMPLES_NATIVE_LIB_TEST_NATIVES_H

#include <stddef.h>

int test_add(int x, int y);
int test_sqrt(int x, int y);
int test_hello(const char *name, char *buf, size_t buf_size);

#endif /* EXAMPLES_NATIVE_LIB_TEST_NATIVES_H */
