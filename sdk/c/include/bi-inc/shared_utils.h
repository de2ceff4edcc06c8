/*
 * Requests and responses as apps see them, and the helpers that pack them into the big-endian
 * packets the runtime exchanges (reference/wamr-abi.md section 5). Names and fields are WAMR's,
 * including the spelling "reciever", so WAMR app sources compile unchanged.
 */
#ifndef MICRO_RUNTIME_SHARED_UTILS_H
#define MICRO_RUNTIME_SHARED_UTILS_H

#include "bh_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Payload formats. Any other number is allowed; the runtime passes it through. */
#define FMT_ATTR_CONTAINER 99
#define FMT_APP_RAW_BINARY 98

/* A request or event. After unpacking, url and payload point into the packet. */
typedef struct request {
    uint32 mid;
    char *url;
    /* COAP_GET, COAP_POST, COAP_PUT, COAP_DELETE or COAP_EVENT */
    int action;
    int fmt;
    void *payload;
    int payload_len;
    /* Id of the sending app, or of the host (0xFFFFFFFD); the runtime fills it in. */
    unsigned long sender;
} request_t;

typedef struct response {
    /* The mid of the request this answers. */
    uint32 mid;
    int status;
    int fmt;
    void *payload;
    int payload_len;
    unsigned long reciever;
} response_t;

/*
 * Whether url starts with the path leading_str, ignoring a leading '/' on both and a trailing
 * '/' on leading_str, and followed by the end, '/' or '?'. Returns the offset in url just past
 * the prefix and its separator, or 0 when it does not match.
 */
int check_url_start(const char *url, int url_len, const char *leading_str);

/*
 * Matches a URL against a pattern (a leading '/' on either is ignored): "/a" matches "/a" only,
 * "/a/" matches "/a" and "/a/...", "/a" plus '*' matches anything starting with "/a", and "/a/"
 * plus '*' matches "/a/..." but not "/a".
 */
bool match_url(char *pattern, char *matched);

/*
 * Finds key in a "k1=v1&k2=v2" style buffer split by delimiter and copies its value, at most
 * value_len - 1 bytes plus a NUL, into value. Returns value, or NULL when the key is absent.
 */
char *find_key_value(char *buffer, int buffer_len, char *key, char *value, int value_len,
                     char delimiter);

/* Deep copies (url and payload too), freed with request_cleaner / response_cleaner. */
request_t *clone_request(request_t *request);
void request_cleaner(request_t *request);
response_t *clone_response(response_t *response);
void response_cleaner(response_t *response);

/* Fills in status and payload; the payload is not copied. Returns response. */
response_t *set_response(response_t *response, int status, int fmt, const char *payload,
                         int payload_len);

/* Starts a response to request: same mid, addressed to the request's sender. */
response_t *make_response_for_request(request_t *request, response_t *response);

/* Fills in a request and gives it the next message id of this app (1, 2, 3...). */
request_t *init_request(request_t *request, char *url, int action, int fmt, void *payload,
                        int payload_len);

/* Packet encoding. pack_* return a malloc'ed packet (free_req_resp_packet) and its size. */
char *pack_request(request_t *request, int *size);
request_t *unpack_request(char *packet, int size, request_t *request);
char *pack_response(response_t *response, int *size);
response_t *unpack_response(char *packet, int size, response_t *response);
void free_req_resp_packet(char *packet);

char *wa_strdup(const char *str);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_SHARED_UTILS_H */
