/* These declarations map to the runtime's libc natives (module "env"); there is no libc to link. */
#ifndef MICRO_RUNTIME_STDLIB_H
#define MICRO_RUNTIME_STDLIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
int atoi(const char *nptr);
long strtol(const char *nptr, char **endptr, int base);
unsigned long strtoul(const char *nptr, char **endptr, int base);
void exit(int status) __attribute__((__noreturn__));
void abort(void) __attribute__((__noreturn__));

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_STDLIB_H */
