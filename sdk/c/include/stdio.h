/* These declarations map to the runtime's libc natives (module "env"); there is no libc to link. */
#ifndef MICRO_RUNTIME_STDIO_H
#define MICRO_RUNTIME_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int printf(const char *format, ...) __attribute__((__format__(__printf__, 1, 2)));
int sprintf(char *str, const char *format, ...) __attribute__((__format__(__printf__, 2, 3)));
int snprintf(char *str, size_t size, const char *format, ...)
    __attribute__((__format__(__printf__, 3, 4)));
int vprintf(const char *format, va_list ap) __attribute__((__format__(__printf__, 1, 0)));
int vsprintf(char *str, const char *format, va_list ap)
    __attribute__((__format__(__printf__, 2, 0)));
int vsnprintf(char *str, size_t size, const char *format, va_list ap)
    __attribute__((__format__(__printf__, 3, 0)));
int puts(const char *s);
int putchar(int c);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_STDIO_H */
