/*
 * Request and response packets (big-endian, reference/wamr-abi.md section 5), the URL helpers
 * and the small request/response utilities declared in bi-inc/shared_utils.h.
 */
#include "bi-inc/shared_utils.h"

#define REQUEST_PACKET_VERSION 1
#define REQUEST_FIXED_SIZE 18
#define RESPONSE_FIXED_SIZE 16

static void put_u16(unsigned char *p, uint32 v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put_u32(unsigned char *p, uint32 v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32 get_u16(const unsigned char *p)
{
    return ((uint32)p[0] << 8) | p[1];
}

static uint32 get_u32(const unsigned char *p)
{
    return ((uint32)p[0] << 24) | ((uint32)p[1] << 16) | ((uint32)p[2] << 8) | p[3];
}

uint32 htonl(uint32 value)
{
    uint32 out;
    put_u32((unsigned char *)&out, value);
    return out;
}

uint32 ntohl(uint32 value)
{
    return get_u32((const unsigned char *)&value);
}

uint16 htons(uint16 value)
{
    uint16 out;
    put_u16((unsigned char *)&out, value);
    return out;
}

uint16 ntohs(uint16 value)
{
    return (uint16)get_u16((const unsigned char *)&value);
}

char *wa_strdup(const char *str)
{
    if (str == NULL)
        return NULL;
    size_t size = strlen(str) + 1;
    char *copy = (char *)malloc(size);
    if (copy != NULL)
        memcpy(copy, str, size);
    return copy;
}

char *pack_request(request_t *request, int *size)
{
    uint32 url_len = (uint32)strlen(request->url) + 1;
    uint32 payload_len = request->payload != NULL && request->payload_len > 0
                             ? (uint32)request->payload_len
                             : 0;
    uint32 total = REQUEST_FIXED_SIZE + url_len + payload_len;
    unsigned char *packet = (unsigned char *)malloc(total);
    if (packet == NULL)
        return NULL;

    packet[0] = REQUEST_PACKET_VERSION;
    packet[1] = (unsigned char)request->action;
    put_u16(packet + 2, (uint32)request->fmt);
    put_u32(packet + 4, request->mid);
    put_u32(packet + 8, (uint32)request->sender);
    put_u16(packet + 12, url_len);
    put_u32(packet + 14, payload_len);
    memcpy(packet + REQUEST_FIXED_SIZE, request->url, url_len);
    if (payload_len > 0)
        memcpy(packet + REQUEST_FIXED_SIZE + url_len, request->payload, payload_len);

    *size = (int)total;
    return (char *)packet;
}

request_t *unpack_request(char *packet, int size, request_t *request)
{
    const unsigned char *p = (const unsigned char *)packet;
    if (packet == NULL || size < REQUEST_FIXED_SIZE || p[0] != REQUEST_PACKET_VERSION)
        return NULL;

    uint32 url_len = get_u16(p + 12);
    uint32 payload_len = get_u32(p + 14);
    /* Compare in 64 bits: a hostile payload_len must not wrap the sum. */
    if ((unsigned long long)REQUEST_FIXED_SIZE + url_len + payload_len
        != (unsigned long long)size)
        return NULL;
    if (url_len == 0 || p[REQUEST_FIXED_SIZE + url_len - 1] != '\0')
        return NULL;

    memset(request, 0, sizeof(*request));
    request->action = p[1];
    request->fmt = (int)get_u16(p + 2);
    request->mid = get_u32(p + 4);
    request->sender = get_u32(p + 8);
    request->url = packet + REQUEST_FIXED_SIZE;
    request->payload_len = (int)payload_len;
    request->payload = payload_len > 0 ? packet + REQUEST_FIXED_SIZE + url_len : NULL;
    return request;
}

char *pack_response(response_t *response, int *size)
{
    uint32 payload_len = response->payload != NULL && response->payload_len > 0
                             ? (uint32)response->payload_len
                             : 0;
    uint32 total = RESPONSE_FIXED_SIZE + payload_len;
    unsigned char *packet = (unsigned char *)malloc(total);
    if (packet == NULL)
        return NULL;

    packet[0] = REQUEST_PACKET_VERSION;
    packet[1] = (unsigned char)response->status;
    put_u16(packet + 2, (uint32)response->fmt);
    put_u32(packet + 4, response->mid);
    put_u32(packet + 8, (uint32)response->reciever);
    put_u32(packet + 12, payload_len);
    if (payload_len > 0)
        memcpy(packet + RESPONSE_FIXED_SIZE, response->payload, payload_len);

    *size = (int)total;
    return (char *)packet;
}

response_t *unpack_response(char *packet, int size, response_t *response)
{
    const unsigned char *p = (const unsigned char *)packet;
    if (packet == NULL || size < RESPONSE_FIXED_SIZE || p[0] != REQUEST_PACKET_VERSION)
        return NULL;

    uint32 payload_len = get_u32(p + 12);
    if ((unsigned long long)RESPONSE_FIXED_SIZE + payload_len != (unsigned long long)size)
        return NULL;

    memset(response, 0, sizeof(*response));
    response->status = p[1];
    response->fmt = (int)get_u16(p + 2);
    response->mid = get_u32(p + 4);
    response->reciever = get_u32(p + 8);
    response->payload_len = (int)payload_len;
    response->payload = payload_len > 0 ? packet + RESPONSE_FIXED_SIZE : NULL;
    return response;
}

void free_req_resp_packet(char *packet)
{
    free(packet);
}

response_t *set_response(response_t *response, int status, int fmt, const char *payload,
                         int payload_len)
{
    response->status = status;
    response->fmt = fmt;
    response->payload = (void *)payload;
    response->payload_len = payload_len;
    return response;
}

response_t *make_response_for_request(request_t *request, response_t *response)
{
    memset(response, 0, sizeof(*response));
    response->mid = request->mid;
    response->reciever = request->sender;
    return response;
}

static uint32 g_next_mid = 1;

request_t *init_request(request_t *request, char *url, int action, int fmt, void *payload,
                        int payload_len)
{
    memset(request, 0, sizeof(*request));
    request->mid = g_next_mid++;
    request->url = url;
    request->action = action;
    request->fmt = fmt;
    request->payload = payload;
    request->payload_len = payload_len;
    return request;
}

/* Copies len bytes into a fresh buffer; NULL in gives NULL out. */
static void *dup_bytes(const void *bytes, int len)
{
    if (bytes == NULL || len <= 0)
        return NULL;
    void *copy = malloc((size_t)len);
    if (copy != NULL)
        memcpy(copy, bytes, (size_t)len);
    return copy;
}

request_t *clone_request(request_t *request)
{
    request_t *copy = (request_t *)malloc(sizeof(request_t));
    if (copy == NULL)
        return NULL;
    *copy = *request;
    copy->url = wa_strdup(request->url);
    copy->payload = dup_bytes(request->payload, request->payload_len);
    if ((request->url != NULL && copy->url == NULL)
        || (request->payload != NULL && request->payload_len > 0 && copy->payload == NULL)) {
        request_cleaner(copy);
        return NULL;
    }
    return copy;
}

void request_cleaner(request_t *request)
{
    if (request == NULL)
        return;
    free(request->url);
    free(request->payload);
    free(request);
}

response_t *clone_response(response_t *response)
{
    response_t *copy = (response_t *)malloc(sizeof(response_t));
    if (copy == NULL)
        return NULL;
    *copy = *response;
    copy->payload = dup_bytes(response->payload, response->payload_len);
    if (response->payload != NULL && response->payload_len > 0 && copy->payload == NULL) {
        response_cleaner(copy);
        return NULL;
    }
    return copy;
}

void response_cleaner(response_t *response)
{
    if (response == NULL)
        return;
    free(response->payload);
    free(response);
}

int check_url_start(const char *url, int url_len, const char *leading_str)
{
    int skipped = 0;
    if (url_len > 0 && url[0] == '/') {
        url++;
        url_len--;
        skipped = 1;
    }
    if (leading_str[0] == '/')
        leading_str++;

    int prefix_len = (int)strlen(leading_str);
    if (prefix_len > 0 && leading_str[prefix_len - 1] == '/')
        prefix_len--;
    if (prefix_len == 0 || url_len < prefix_len || memcmp(url, leading_str, prefix_len) != 0)
        return 0;

    if (url_len == prefix_len)
        return skipped + prefix_len;
    if (url[prefix_len] == '/' || url[prefix_len] == '?')
        return skipped + prefix_len + 1;
    return 0;
}

bool match_url(char *pattern, char *matched)
{
    if (pattern[0] == '/')
        pattern++;
    if (matched[0] == '/')
        matched++;

    size_t url_len = strlen(matched);
    if (url_len > 0 && matched[url_len - 1] == '/')
        url_len--;
    size_t pattern_len = strlen(pattern);
    if (url_len == 0 || pattern_len == 0)
        return false;

    char last = pattern[pattern_len - 1];
    if (last == '*') {
        /* A trailing star: everything that starts with the part before it. */
        size_t stem = pattern_len - 1;
        return url_len >= stem && strncmp(pattern, matched, stem) == 0;
    }
    if (last == '/') {
        /* "a/": the path itself or anything below it. */
        size_t stem = pattern_len - 1;
        if (url_len < stem || strncmp(pattern, matched, stem) != 0)
            return false;
        return url_len == stem || matched[stem] == '/';
    }
    return url_len == pattern_len && strncmp(pattern, matched, pattern_len) == 0;
}

char *find_key_value(char *buffer, int buffer_len, char *key, char *value, int value_len,
                     char delimiter)
{
    int key_len = (int)strlen(key);
    int i = 0;
    while (i < buffer_len) {
        /* Skip separators between pairs. */
        while (i < buffer_len && (buffer[i] == ' ' || buffer[i] == delimiter))
            i++;
        int start = i;
        while (i < buffer_len && buffer[i] != delimiter)
            i++;
        /* buffer[start, i) is one "k=v" pair. */
        if (i - start > key_len && memcmp(buffer + start, key, key_len) == 0
            && buffer[start + key_len] == '=') {
            int from = start + key_len + 1;
            int n = i - from;
            if (value_len <= 0)
                return NULL;
            if (n > value_len - 1)
                n = value_len - 1;
            memcpy(value, buffer + from, (size_t)n);
            value[n] = '\0';
            return value;
        }
    }
    return NULL;
}
