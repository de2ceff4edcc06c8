/* Recursive Fibonacci for main, plus small exports whose results the CLI's -f prints. */
#include <stdio.h>
#include <stdlib.h>

int fib(int n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int add(int a, int b) {
  return a + b;
}

/* -f i64f 5 2.5 -> 0xc:i64 */
long long i64f(long long a, double b) {
  return (long long)(a * b - 0.5);
}

/* -f f32f 2 -> 3:f32 */
float f32f(int x) {
  return x + 1.0f;
}

/* -f f64f 2 -> 3:f64 */
double f64f(double x) {
  return x * 1.5;
}

/* -f divz 5 -> 0x2:i32; -f divz 0 traps with "integer divide by zero". */
int divz(int x) {
  return 10 / x;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 24;
  printf("fib(%d) = %d\n", n, fib(n));
  return 0;
}
