/*
 * Short integer names and byte-order helpers that WAMR app sources use (uint8, uint32, htonl...).
 * Kept as its own header because WAMR's app headers include it by this name.
 */
#ifndef MICRO_RUNTIME_BH_PLATFORM_H
#define MICRO_RUNTIME_BH_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned char uint8;
typedef char int8;
typedef unsigned short uint16;
typedef short int16;
typedef unsigned int uint32;
typedef int int32;

/* Code shared between apps and natives in WAMR allocates through these two names. */
#ifndef WA_MALLOC
#define WA_MALLOC malloc
#endif
#ifndef WA_FREE
#define WA_FREE free
#endif

uint32 htonl(uint32 value);
uint32 ntohl(uint32 value);
uint16 htons(uint16 value);
uint16 ntohs(uint16 value);

/* The sandbox bounds-checks every access, so the checked copy is a plain one here. */
#define bh_memcpy_s(dst, dst_len, src, src_len) memcpy((dst), (src), (src_len))

#ifdef NDEBUG
#define bh_assert(v) ((void)0)
#else
#define bh_assert(v)                                                                 \
    do {                                                                             \
        if (!(v)) {                                                                  \
            printf("ASSERTION FAILED: %s, at %s, line %d\n", #v, __FILE__, __LINE__); \
            abort();                                                                 \
        }                                                                            \
    } while (0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_BH_PLATFORM_H */
