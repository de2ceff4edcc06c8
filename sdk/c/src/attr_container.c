/*
 * attr_container, byte for byte as WAMR lays it out (reference/wamr-abi.md section 6). Every
 * multi-byte field is little-endian and unaligned, so it is read and written a byte at a time.
 */
#include "bi-inc/attr_container.h"

/* Room left after the tag by attr_container_create and added by every re-allocation. */
#define SPARE_BYTES 100
/* flags (2) + T (4) + tag_len (2) */
#define TAG_OFFSET 8
#define READONLY_BIT (1 << ATTR_CONT_READONLY_SHIFT)

typedef union attr_value {
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    unsigned char bytes[8];
} attr_value_t;

static uint32_t read_u16(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8);
}

static uint32_t read_u32(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16)
           | ((uint32_t)b[3] << 24);
}

static void write_u16(char *p, uint32_t v)
{
    p[0] = (char)v;
    p[1] = (char)(v >> 8);
}

static void write_u32(char *p, uint32_t v)
{
    p[0] = (char)v;
    p[1] = (char)(v >> 8);
    p[2] = (char)(v >> 16);
    p[3] = (char)(v >> 24);
}

/* T: the bytes from offset 2 to the end of the allocation. */
static uint32_t total_length(const attr_container_t *cont)
{
    return read_u32((const char *)cont + 2);
}

static const char *container_end(const attr_container_t *cont)
{
    return (const char *)cont + 2 + total_length(cont);
}

static uint32_t tag_length(const attr_container_t *cont)
{
    return read_u16((const char *)cont + 6);
}

static char *attr_num_field(const attr_container_t *cont)
{
    return (char *)cont + TAG_OFFSET + tag_length(cont);
}

static char *first_attr(const attr_container_t *cont)
{
    return attr_num_field(cont) + 2;
}

/* Bytes a value of this type takes after the type byte, given where it starts; 0 if unknown. */
static uint32_t value_size(int type, const char *value)
{
    if (type >= ATTR_TYPE_BEGIN && type <= ATTR_TYPE_BOOLEAN)
        return 1u << (type & 3);
    if (type == ATTR_TYPE_STRING)
        return 2 + read_u16(value);
    if (type == ATTR_TYPE_BYTEARRAY)
        return 4 + read_u32(value);
    return 0;
}

/* Length of the attribute at p, or 0 if it is malformed or runs past end. */
static uint32_t attr_size(const char *p, const char *end)
{
    if (end - p < 3)
        return 0;
    uint32_t key_len = read_u16(p);
    if (key_len == 0 || (uint32_t)(end - p) < 2 + key_len + 1)
        return 0;
    const char *value = p + 2 + key_len + 1;
    int type = (unsigned char)value[-1];
    /* Length prefixes of strings and byte arrays must be readable before they are used. */
    if ((type == ATTR_TYPE_STRING && end - value < 2)
        || (type == ATTR_TYPE_BYTEARRAY && end - value < 4))
        return 0;
    uint32_t size = value_size(type, value);
    if (size == 0 || (uint32_t)(end - value) < size)
        return 0;
    return 2 + key_len + 1 + size;
}

/* The byte after the last attribute. */
static char *attrs_end(const attr_container_t *cont)
{
    const char *end = container_end(cont);
    char *p = first_attr(cont);
    uint32_t n = read_u16(attr_num_field(cont));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = attr_size(p, end);
        if (size == 0)
            break;
        p += size;
    }
    return p;
}

/* The attribute with this key (its key_len field), and its length in *size. */
static char *find_attr(const attr_container_t *cont, const char *key, uint32_t *size)
{
    if (cont == NULL || key == NULL)
        return NULL;
    uint32_t key_len = (uint32_t)strlen(key) + 1;
    const char *end = container_end(cont);
    char *p = first_attr(cont);
    uint32_t n = read_u16(attr_num_field(cont));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = attr_size(p, end);
        if (len == 0)
            return NULL;
        /* Keys are compared with their NUL, as stored. */
        if (read_u16(p) == key_len && memcmp(p + 2, key, key_len) == 0) {
            if (size != NULL)
                *size = len;
            return p;
        }
        p += len;
    }
    return NULL;
}

attr_container_t *attr_container_create(const char *tag)
{
    size_t tag_len = tag != NULL ? strlen(tag) + 1 : 1;
    if (tag_len > 0xFFFF)
        return NULL;
    uint32_t total = 4 + 2 + (uint32_t)tag_len + SPARE_BYTES;
    char *buf = (char *)attr_container_malloc(2 + total);
    if (buf == NULL)
        return NULL;
    memset(buf, 0, 2 + total);
    write_u32(buf + 2, total);
    write_u16(buf + 6, (uint32_t)tag_len);
    if (tag != NULL)
        memcpy(buf + TAG_OFFSET, tag, tag_len);
    return (attr_container_t *)buf;
}

void attr_container_destroy(const attr_container_t *attr_cont)
{
    if (attr_cont != NULL)
        attr_container_free((void *)attr_cont);
}

bool attr_container_is_constant(const attr_container_t *attr_cont)
{
    return attr_cont != NULL && (attr_cont->flags[0] & READONLY_BIT) != 0;
}

/* Writes key_len, key, type, then the length prefix (strings, byte arrays) and the value. */
static void write_attr(char *p, const char *key, uint32_t key_len, int type, const void *value,
                       uint32_t value_len)
{
    write_u16(p, key_len);
    memcpy(p + 2, key, key_len);
    p += 2 + key_len;
    *p++ = (char)type;
    if (type == ATTR_TYPE_STRING) {
        write_u16(p, value_len);
        p += 2;
    }
    else if (type == ATTR_TYPE_BYTEARRAY) {
        write_u32(p, value_len);
        p += 4;
    }
    if (value_len > 0)
        memcpy(p, value, value_len);
}

/* A fresh zeroed container of total length `total` whose first `keep` bytes come from cont. */
static char *reallocate(const attr_container_t *cont, uint32_t total, uint32_t keep)
{
    char *buf = (char *)attr_container_malloc(2 + total);
    if (buf == NULL)
        return NULL;
    memset(buf, 0, 2 + total);
    memcpy(buf, cont, keep);
    write_u32(buf + 2, total);
    return buf;
}

static bool set_attr(attr_container_t **p_attr_cont, const char *key, int type,
                     const void *value, uint32_t value_len)
{
    if (p_attr_cont == NULL || *p_attr_cont == NULL || key == NULL)
        return false;
    attr_container_t *cont = *p_attr_cont;
    if (attr_container_is_constant(cont))
        return false;

    size_t key_len = strlen(key) + 1;
    if (key_len > 0xFFFF)
        return false;
    uint32_t prefix = type == ATTR_TYPE_STRING ? 2 : type == ATTR_TYPE_BYTEARRAY ? 4 : 0;
    uint32_t new_len = 2 + (uint32_t)key_len + 1 + prefix + value_len;

    char *base = (char *)cont;
    char *end = attrs_end(cont);
    uint32_t used = (uint32_t)(end - base);
    uint32_t room = 2 + total_length(cont) - used;
    uint32_t old_len = 0;
    char *old = find_attr(cont, key, &old_len);

    if (old == NULL) {
        if (new_len <= room) {
            write_attr(end, key, (uint32_t)key_len, type, value, value_len);
        }
        else {
            base = reallocate(cont, total_length(cont) + new_len + SPARE_BYTES, used);
            if (base == NULL)
                return false;
            write_attr(base + used, key, (uint32_t)key_len, type, value, value_len);
            attr_container_free(cont);
        }
        char *num = attr_num_field((attr_container_t *)base);
        write_u16(num, read_u16(num) + 1);
        *p_attr_cont = (attr_container_t *)base;
        return true;
    }

    if (old_len == new_len) {
        write_attr(old, key, (uint32_t)key_len, type, value, value_len);
        return true;
    }

    /* A resized attribute moves to the end: the attributes after it slide down. */
    uint32_t at = (uint32_t)(old - base);
    uint32_t tail = used - at - old_len;
    if (new_len <= room + old_len) {
        memmove(old, old + old_len, tail);
        write_attr(old + tail, key, (uint32_t)key_len, type, value, value_len);
        return true;
    }
    char *grown = reallocate(cont, total_length(cont) + new_len + SPARE_BYTES, at);
    if (grown == NULL)
        return false;
    memcpy(grown + at, old + old_len, tail);
    write_attr(grown + at + tail, key, (uint32_t)key_len, type, value, value_len);
    attr_container_free(cont);
    *p_attr_cont = (attr_container_t *)grown;
    return true;
}

bool attr_container_set_short(attr_container_t **p_attr_cont, const char *key, short value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_SHORT, &value, 2);
}

bool attr_container_set_int16(attr_container_t **p_attr_cont, const char *key, int16_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_INT16, &value, 2);
}

bool attr_container_set_int(attr_container_t **p_attr_cont, const char *key, int value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_INT, &value, 4);
}

bool attr_container_set_int32(attr_container_t **p_attr_cont, const char *key, int32_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_INT32, &value, 4);
}

bool attr_container_set_uint32(attr_container_t **p_attr_cont, const char *key, uint32_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_UINT32, &value, 4);
}

bool attr_container_set_int64(attr_container_t **p_attr_cont, const char *key, int64_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_INT64, &value, 8);
}

bool attr_container_set_uint64(attr_container_t **p_attr_cont, const char *key, uint64_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_UINT64, &value, 8);
}

bool attr_container_set_byte(attr_container_t **p_attr_cont, const char *key, int8_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_BYTE, &value, 1);
}

bool attr_container_set_int8(attr_container_t **p_attr_cont, const char *key, int8_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_INT8, &value, 1);
}

bool attr_container_set_uint8(attr_container_t **p_attr_cont, const char *key, uint8_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_UINT8, &value, 1);
}

bool attr_container_set_uint16(attr_container_t **p_attr_cont, const char *key, uint16_t value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_UINT16, &value, 2);
}

bool attr_container_set_float(attr_container_t **p_attr_cont, const char *key, float value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_FLOAT, &value, 4);
}

bool attr_container_set_double(attr_container_t **p_attr_cont, const char *key, double value)
{
    return set_attr(p_attr_cont, key, ATTR_TYPE_DOUBLE, &value, 8);
}

bool attr_container_set_bool(attr_container_t **p_attr_cont, const char *key, bool value)
{
    int8_t byte = value ? 1 : 0;
    return set_attr(p_attr_cont, key, ATTR_TYPE_BOOLEAN, &byte, 1);
}

bool attr_container_set_string(attr_container_t **p_attr_cont, const char *key,
                               const char *value)
{
    if (value == NULL)
        return false;
    size_t len = strlen(value) + 1;
    if (len > 0xFFFF)
        return false;
    return set_attr(p_attr_cont, key, ATTR_TYPE_STRING, value, (uint32_t)len);
}

bool attr_container_set_bytearray(attr_container_t **p_attr_cont, const char *key,
                                  const int8_t *value, unsigned length)
{
    if (value == NULL && length > 0)
        return false;
    return set_attr(p_attr_cont, key, ATTR_TYPE_BYTEARRAY, value, length);
}

const char *attr_container_get_tag(const attr_container_t *attr_cont)
{
    return attr_cont != NULL ? (const char *)attr_cont + TAG_OFFSET : NULL;
}

uint16_t attr_container_get_attr_num(const attr_container_t *attr_cont)
{
    return attr_cont != NULL ? (uint16_t)read_u16(attr_num_field(attr_cont)) : 0;
}

bool attr_container_contain_key(const attr_container_t *attr_cont, const char *key)
{
    return find_attr(attr_cont, key, NULL) != NULL;
}

/* Where the value of key starts (after its type byte), with the type; NULL if missing. */
static const char *find_value(const attr_container_t *cont, const char *key, int *type)
{
    char *attr = find_attr(cont, key, NULL);
    if (attr == NULL)
        return NULL;
    const char *type_byte = attr + 2 + read_u16(attr);
    *type = (unsigned char)*type_byte;
    return type_byte + 1;
}

/*
 * The stored bytes of key in a zeroed 8-byte union: whatever the stored type, its raw bytes
 * (at most 8) are copied and the caller reads the member it asked for, so nothing is converted.
 */
static attr_value_t load_value(const attr_container_t *cont, const char *key)
{
    attr_value_t out;
    memset(&out, 0, sizeof(out));
    int type = 0;
    const char *value = find_value(cont, key, &type);
    if (value == NULL)
        return out;
    uint32_t n;
    if (type == ATTR_TYPE_STRING) {
        n = read_u16(value);
        value += 2;
    }
    else if (type == ATTR_TYPE_BYTEARRAY) {
        n = read_u32(value);
        value += 4;
    }
    else {
        n = value_size(type, value);
    }
    memcpy(out.bytes, value, n < sizeof(out.bytes) ? n : sizeof(out.bytes));
    return out;
}

short attr_container_get_as_short(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i16;
}

int16_t attr_container_get_as_int16(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i16;
}

int attr_container_get_as_int(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i32;
}

int32_t attr_container_get_as_int32(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i32;
}

uint32_t attr_container_get_as_uint32(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).u32;
}

int64_t attr_container_get_as_int64(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i64;
}

uint64_t attr_container_get_as_uint64(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).u64;
}

int8_t attr_container_get_as_byte(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i8;
}

int8_t attr_container_get_as_int8(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).i8;
}

uint8_t attr_container_get_as_uint8(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).u8;
}

uint16_t attr_container_get_as_uint16(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).u16;
}

float attr_container_get_as_float(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).f32;
}

double attr_container_get_as_double(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).f64;
}

bool attr_container_get_as_bool(const attr_container_t *attr_cont, const char *key)
{
    return load_value(attr_cont, key).u8 != 0;
}

char *attr_container_get_as_string(const attr_container_t *attr_cont, const char *key)
{
    int type = 0;
    const char *value = find_value(attr_cont, key, &type);
    if (value == NULL || type != ATTR_TYPE_STRING)
        return NULL;
    return (char *)value + 2;
}

const int8_t *attr_container_get_as_bytearray(const attr_container_t *attr_cont,
                                              const char *key, unsigned *array_length)
{
    int type = 0;
    const char *value = find_value(attr_cont, key, &type);
    unsigned length = 0;
    const char *data = NULL;
    if (value != NULL) {
        if (type == ATTR_TYPE_BYTEARRAY) {
            length = read_u32(value);
            data = value + 4;
        }
        else if (type == ATTR_TYPE_STRING) {
            length = read_u16(value);
            data = value + 2;
        }
        else {
            length = value_size(type, value);
            data = value;
        }
    }
    if (array_length != NULL)
        *array_length = length;
    return (const int8_t *)data;
}

unsigned attr_container_get_serialize_length(const attr_container_t *attr_cont)
{
    return attr_cont != NULL ? 2 + total_length(attr_cont) : 0;
}

bool attr_container_serialize(char *buf, const attr_container_t *attr_cont)
{
    if (buf == NULL || attr_cont == NULL)
        return false;
    memcpy(buf, attr_cont, attr_container_get_serialize_length(attr_cont));
    buf[0] |= READONLY_BIT;
    return true;
}

void attr_container_dump(const attr_container_t *attr_cont)
{
    if (attr_cont == NULL)
        return;
    attr_container_printf("Attribute container dump:\n");
    attr_container_printf("Tag: %s\n", attr_container_get_tag(attr_cont));
    attr_container_printf("Attribute list:\n");

    const char *end = container_end(attr_cont);
    const char *p = first_attr(attr_cont);
    uint32_t n = read_u16(attr_num_field(attr_cont));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = attr_size(p, end);
        if (size == 0)
            break;
        const char *key = p + 2;
        const char *value = key + read_u16(p) + 1;
        int type = (unsigned char)value[-1];
        attr_value_t v;
        memset(&v, 0, sizeof(v));
        if (type <= ATTR_TYPE_BOOLEAN)
            memcpy(v.bytes, value, value_size(type, value));

        switch (type) {
            case ATTR_TYPE_BYTE:
                attr_container_printf("  key: %s, type: byte, value: 0x%x\n", key, v.u8);
                break;
            case ATTR_TYPE_SHORT:
                attr_container_printf("  key: %s, type: short, value: 0x%x\n", key, v.u16);
                break;
            case ATTR_TYPE_INT:
                attr_container_printf("  key: %s, type: int, value: 0x%x\n", key, v.u32);
                break;
            case ATTR_TYPE_INT64:
            case ATTR_TYPE_UINT64:
                /* WAMR names both 64-bit types int64 here. */
                attr_container_printf("  key: %s, type: int64, value: 0x%llx\n", key,
                                      (unsigned long long)v.u64);
                break;
            case ATTR_TYPE_UINT8:
                attr_container_printf("  key: %s, type: uint8, value: 0x%x\n", key, v.u8);
                break;
            case ATTR_TYPE_UINT16:
                attr_container_printf("  key: %s, type: uint16, value: 0x%x\n", key, v.u16);
                break;
            case ATTR_TYPE_UINT32:
                attr_container_printf("  key: %s, type: uint32, value: 0x%x\n", key, v.u32);
                break;
            case ATTR_TYPE_FLOAT:
                attr_container_printf("  key: %s, type: float, value: %f\n", key,
                                      (double)v.f32);
                break;
            case ATTR_TYPE_DOUBLE:
                attr_container_printf("  key: %s, type: double, value: %f\n", key, v.f64);
                break;
            case ATTR_TYPE_BOOLEAN:
                attr_container_printf("  key: %s, type: bool, value: 0x%x\n", key, v.u8);
                break;
            case ATTR_TYPE_STRING:
                attr_container_printf("  key: %s, type: string, value: %s\n", key, value + 2);
                break;
            case ATTR_TYPE_BYTEARRAY:
                attr_container_printf("  key: %s, type: byte array, length: %d\n", key,
                                      (int)read_u32(value));
                break;
            default:
                break;
        }
        p += size;
    }
    attr_container_printf("\n");
}
