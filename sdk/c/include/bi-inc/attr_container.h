/*
 * attr_container: the little-endian key/value container apps, the runtime and host_tool use as
 * payload format 99 (FMT_ATTR_CONTAINER). Layout, growth rule, type codes (the current AF/HEAD
 * set) and dump text are WAMR's; see reference/wamr-abi.md section 6.
 *
 * Setters take attr_container_t ** because a set that does not fit re-allocates the container.
 * Getters return 0 (or NULL) for a missing key and copy the stored bytes without converting.
 */
#ifndef MICRO_RUNTIME_ATTR_CONTAINER_H
#define MICRO_RUNTIME_ATTR_CONTAINER_H

#include "bh_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Type codes. A fixed-size value takes 1 << (code & 3) bytes. */
enum {
    ATTR_TYPE_BEGIN = 0,
    ATTR_TYPE_BYTE = 0,
    ATTR_TYPE_INT8 = 0,
    ATTR_TYPE_SHORT = 1,
    ATTR_TYPE_INT16 = 1,
    ATTR_TYPE_INT = 2,
    ATTR_TYPE_INT32 = 2,
    ATTR_TYPE_INT64 = 3,
    ATTR_TYPE_UINT8 = 4,
    ATTR_TYPE_UINT16 = 5,
    ATTR_TYPE_UINT32 = 6,
    ATTR_TYPE_UINT64 = 7,
    ATTR_TYPE_FLOAT = 10,
    ATTR_TYPE_DOUBLE = 11,
    ATTR_TYPE_BOOLEAN = 12,
    ATTR_TYPE_STRING = 13,
    ATTR_TYPE_BYTEARRAY = 14,
    ATTR_TYPE_END = 14
};

/* Bit of flags[0] that marks a read-only (serialized) container. */
#define ATTR_CONT_READONLY_SHIFT 2

typedef struct attr_container {
    /* Bits 0-1: storage kind, always 0 (one buffer); bit 2: read-only. */
    char flags[2];
    /*
     * Then, unaligned and little-endian: total length T (u32, counting from here to the end of
     * the allocation), tag length (u16, with NUL), tag, attribute count (u16), and the
     * attributes: key length (u16, with NUL), key, type (u8), value.
     */
    char buf[1];
} attr_container_t;

attr_container_t *attr_container_create(const char *tag);
void attr_container_destroy(const attr_container_t *attr_cont);

bool attr_container_set_short(attr_container_t **p_attr_cont, const char *key, short value);
bool attr_container_set_int16(attr_container_t **p_attr_cont, const char *key, int16_t value);
bool attr_container_set_int(attr_container_t **p_attr_cont, const char *key, int value);
bool attr_container_set_int32(attr_container_t **p_attr_cont, const char *key, int32_t value);
bool attr_container_set_uint32(attr_container_t **p_attr_cont, const char *key, uint32_t value);
bool attr_container_set_int64(attr_container_t **p_attr_cont, const char *key, int64_t value);
bool attr_container_set_uint64(attr_container_t **p_attr_cont, const char *key, uint64_t value);
bool attr_container_set_byte(attr_container_t **p_attr_cont, const char *key, int8_t value);
bool attr_container_set_int8(attr_container_t **p_attr_cont, const char *key, int8_t value);
bool attr_container_set_uint8(attr_container_t **p_attr_cont, const char *key, uint8_t value);
bool attr_container_set_uint16(attr_container_t **p_attr_cont, const char *key, uint16_t value);
bool attr_container_set_float(attr_container_t **p_attr_cont, const char *key, float value);
bool attr_container_set_double(attr_container_t **p_attr_cont, const char *key, double value);
bool attr_container_set_bool(attr_container_t **p_attr_cont, const char *key, bool value);
bool attr_container_set_string(attr_container_t **p_attr_cont, const char *key,
                               const char *value);
bool attr_container_set_bytearray(attr_container_t **p_attr_cont, const char *key,
                                  const int8_t *value, unsigned length);

const char *attr_container_get_tag(const attr_container_t *attr_cont);
uint16_t attr_container_get_attr_num(const attr_container_t *attr_cont);
bool attr_container_contain_key(const attr_container_t *attr_cont, const char *key);

short attr_container_get_as_short(const attr_container_t *attr_cont, const char *key);
int16_t attr_container_get_as_int16(const attr_container_t *attr_cont, const char *key);
int attr_container_get_as_int(const attr_container_t *attr_cont, const char *key);
int32_t attr_container_get_as_int32(const attr_container_t *attr_cont, const char *key);
uint32_t attr_container_get_as_uint32(const attr_container_t *attr_cont, const char *key);
int64_t attr_container_get_as_int64(const attr_container_t *attr_cont, const char *key);
uint64_t attr_container_get_as_uint64(const attr_container_t *attr_cont, const char *key);
int8_t attr_container_get_as_byte(const attr_container_t *attr_cont, const char *key);
int8_t attr_container_get_as_int8(const attr_container_t *attr_cont, const char *key);
uint8_t attr_container_get_as_uint8(const attr_container_t *attr_cont, const char *key);
uint16_t attr_container_get_as_uint16(const attr_container_t *attr_cont, const char *key);
float attr_container_get_as_float(const attr_container_t *attr_cont, const char *key);
double attr_container_get_as_double(const attr_container_t *attr_cont, const char *key);
bool attr_container_get_as_bool(const attr_container_t *attr_cont, const char *key);
/* A pointer to the stored string (inside the container), NULL if the value is not a string. */
char *attr_container_get_as_string(const attr_container_t *attr_cont, const char *key);
/* A pointer to the stored bytes and their count, NULL if the key is missing. */
const int8_t *attr_container_get_as_bytearray(const attr_container_t *attr_cont,
                                              const char *key, unsigned *array_length);

/* 2 + T: the whole allocation, spare bytes included. */
unsigned attr_container_get_serialize_length(const attr_container_t *attr_cont);
/* Copies the container to buf (get_serialize_length bytes) and marks the copy read-only. */
bool attr_container_serialize(char *buf, const attr_container_t *attr_cont);
bool attr_container_is_constant(const attr_container_t *attr_cont);
/* Prints the container with printf, in WAMR's exact words. */
void attr_container_dump(const attr_container_t *attr_cont);

#ifndef attr_container_malloc
#define attr_container_malloc WA_MALLOC
#endif
#ifndef attr_container_free
#define attr_container_free WA_FREE
#endif
#ifndef attr_container_printf
#define attr_container_printf printf
#endif

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_ATTR_CONTAINER_H */
