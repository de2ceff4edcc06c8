/*
 * A printf-format showcase. The same file is built for the host against glibc and its output is
 * kept in expected.txt: the runtime's printf family must print exactly the same bytes.
 * Every line shows the format and arguments, then the result in brackets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CASE(fmt, ...) printf("%-42s [" fmt "]\n", #fmt ", " #__VA_ARGS__, __VA_ARGS__)

static int format_into(char *dst, size_t size, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));
static int format_unbounded(char *dst, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));
static int say(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

static int format_into(char *dst, size_t size, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(dst, size, fmt, ap);
  va_end(ap);
  return n;
}

static int format_unbounded(char *dst, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsprintf(dst, fmt, ap);
  va_end(ap);
  return n;
}

static int say(const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

static void integers(void) {
  puts("-- integers: flags, width, precision");
  CASE("%d", 42);
  CASE("%i", -42);
  CASE("%d", -2147483647 - 1);
  CASE("%d", 2147483647);
  CASE("%5d", 42);
  CASE("%-5d", 42);
  CASE("%05d", 42);
  CASE("%05d", -42);
  CASE("%+d", 42);
  CASE("%+d", -42);
  CASE("% d", 42);
  CASE("% 5d", -42);
  CASE("%+05d", 42);
  CASE("%-+6d", 7);
  CASE("%.3d", 7);
  CASE("%8.3d", -7);
  CASE("%-8.3d", 7);
  CASE("%05.2d", 5);
  CASE("%.0d", 0);
  CASE("%*d", 6, 42);
  CASE("%-*d", 6, 42);
  CASE("%*d", -6, 42);
  CASE("%.*d", 4, 42);
  CASE("%*.*d", 8, 4, -42);
  CASE("%u", 4294967295u);
  CASE("%u", 0u);
  CASE("%o", 8);
  CASE("%#o", 8);
  CASE("%#o", 0);
  CASE("%x", 48879);
  CASE("%X", 48879);
  CASE("%#x", 255);
  CASE("%#X", 255);
  CASE("%#x", 0);
  CASE("%08x", 255);
  CASE("%#010x", 255);
  CASE("%-#8x", 255);
  CASE("%.6x", 255);
  CASE("%d%%", 100);
  CASE("%% %d %%", 1);
}

static void modifiers(void) {
  puts("-- integers: length modifiers");
  CASE("%ld", -123456789L);
  CASE("%lu", 4000000000UL);
  CASE("%lx", 0xdeadbeefUL);
  CASE("%lld", 1234567890123LL);
  CASE("%lld", -1234567890123LL);
  CASE("%lli", -9223372036854775807LL - 1);
  CASE("%llu", 18446744073709551615ULL);
  CASE("%llx", 0x123456789abcdefULL);
  CASE("%#llX", 0xfedcba9876543210ULL);
  CASE("%llo", 01234567012345670123LL);
  CASE("%020lld", -1234567890123LL);
  CASE("%+lld", 0LL);
  CASE("%-22lld", 9000000000LL);
  CASE("%jd", (intmax_t)-9000000000LL);
  CASE("%ju", (uintmax_t)9000000000ULL);
  CASE("%zu", (size_t)123456);
  CASE("%zx", (size_t)0xabcdef);
  CASE("%td", (ptrdiff_t)-5);
  CASE("%hd", 70000);
  CASE("%hu", 65537);
  CASE("%hx", 0x12345);
  CASE("%hhd", 200);
  CASE("%hhu", 257);
  CASE("%hhx", 0x1ff);
}

static void chars_strings_pointers(void) {
  puts("-- characters, strings, pointers");
  CASE("%c", 'A');
  CASE("%3c", 'B');
  CASE("%-3c", 'C');
  CASE("%c%c%c", 'x', 'y', 'z');
  CASE("%s", "hello");
  CASE("%s", "");
  CASE("%5s", "ab");
  CASE("%-5s", "ab");
  CASE("%.2s", "hello");
  CASE("%7.3s", "hello");
  CASE("%-7.3s", "hello");
  CASE("%*s", 4, "x");
  CASE("%.*s", 3, "abcdef");
  CASE("%s", (char *)0);
  CASE("%p", (void *)0);
}

static void doubles(void) {
  puts("-- floating point");
  CASE("%f", 3.5);
  CASE("%f", -0.0);
  CASE("%f", 0.1);
  CASE("%f", (double)1.1f);
  CASE("%.2f", 3.14159);
  CASE("%.0f", 3.7);
  CASE("%10.3f", -3.14159);
  CASE("%-10.2f", 2.5);
  CASE("%08.3f", -1.5);
  CASE("% f", 1.0);
  CASE("%+f", 1.0);
  CASE("%#.0f", 3.0);
  CASE("%*.*f", 10, 2, 3.14159);
  CASE("%F", 1.5);
  CASE("%f", 1e20);
  CASE("%f", 123456789.125);
  CASE("%.10f", 1.0 / 3);
  CASE("%.20f", 0.1);
  CASE("%.3f", 1e-10);
  CASE("%e", 12345.678);
  CASE("%E", 0.000123);
  CASE("%.2e", 0.0);
  CASE("%+.3e", -6.02214076e23);
  CASE("%e", 1e100);
  CASE("%.0e", 12345.0);
  CASE("%#.0e", 3.0);
  CASE("%12.4e", 1.5);
  CASE("%g", 0.0001234);
  CASE("%g", 0.00001234);
  CASE("%g", 100000.0);
  CASE("%g", 1000000.0);
  CASE("%G", 1e-10);
  CASE("%g", 3.5);
  CASE("%g", 0.0);
  CASE("%.3g", 2.0 / 3);
  CASE("%.10g", 2.0 / 3);
  CASE("%.2g", 123.0);
  CASE("%#g", 1.0);
  CASE("%10.4g", 3.14159);
  CASE("%-12g", -2.5e-3);
  CASE("%G", 1.5e300);
  CASE("%.15g", 0.1);
  CASE("%.17g", 0.1);
  CASE("%f", __builtin_inf());
  CASE("%F", __builtin_inf());
  CASE("%e", -__builtin_inf());
  CASE("%5.1f", __builtin_inf());
  CASE("%g", __builtin_nan(""));
  CASE("%E", __builtin_nan(""));
  /* Exact binary ties: glibc rounds half to even, unlike a naive decimal rounding. */
  CASE("%.2f", 0.125);
  CASE("%.0f", 2.5);
  CASE("%.0f", 3.5);
  CASE("%.1f", 0.25);
}

static void mixed(void) {
  puts("-- mixed argument sizes (64-bit values are 8-byte aligned in the va buffer)");
  CASE("%d %lld %d %f %d", 1, 2LL, 3, 4.5, 5);
  CASE("%c%lld%c", 'a', -1LL, 'b');
  CASE("%s|%e|%hhd|%llu", "x", 0.5, 300, 5ULL);
  CASE("%d %g %d %g", 1, 0.5, 2, 0.25);
}

static void buffers(void) {
  char small[8];
  char buf[64];
  int n;

  puts("-- sprintf, snprintf, v* variants, return values");

  n = snprintf(small, sizeof small, "%s-%d", "abcdef", 12345);
  printf("snprintf(small, 8, \"%%s-%%d\", \"abcdef\", 12345) -> [%s] returned %d\n", small, n);

  n = snprintf(small, sizeof small, "[%d]", 12345);
  printf("snprintf(small, 8, \"[%%d]\", 12345) -> [%s] returned %d\n", small, n);

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-truncation"
  n = snprintf(small, 1, "%d", 99);
#pragma clang diagnostic pop
  printf("snprintf(small, 1, \"%%d\", 99) -> [%s] returned %d\n", small, n);

  n = snprintf(NULL, 0, "%d", 123456);
  printf("snprintf(NULL, 0, \"%%d\", 123456) returned %d\n", n);

  n = sprintf(buf, "%d/%x/%s", 42, 42, "ok");
  printf("sprintf(buf, \"%%d/%%x/%%s\", 42, 42, \"ok\") -> [%s] returned %d\n", buf, n);

  n = format_into(buf, sizeof buf, "%s=%lld", "big", 1LL << 40);
  printf("vsnprintf(buf, 64, \"%%s=%%lld\", \"big\", 1LL << 40) -> [%s] returned %d\n", buf, n);

  n = format_into(small, sizeof small, "%f", 2.0 / 3);
  printf("vsnprintf(small, 8, \"%%f\", 2.0 / 3) -> [%s] returned %d\n", small, n);

  n = format_unbounded(buf, "%05.1f|%-4d|", 9.74, 3);
  printf("vsprintf(buf, \"%%05.1f|%%-4d|\", 9.74, 3) -> [%s] returned %d\n", buf, n);

  n = say("vprintf(\"%%d-%%s\\n\", 7, \"seven\") -> %d-%s\n", 7, "seven");
  printf("vprintf returned %d\n", n);

  n = printf("printf(\"%%s\\n\", \"counted\") -> %s\n", "counted");
  printf("printf returned %d\n", n);

  puts("puts(\"puts\") -> puts");
  putchar('p');
  putchar('u');
  putchar('t');
  putchar('c');
  putchar('\n');
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  integers();
  modifiers();
  chars_strings_pointers();
  doubles();
  mixed();
  buffers();
  return 0;
}
