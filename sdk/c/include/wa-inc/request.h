/*
 * Requests, responses and events for apps: register URL handlers, send requests and get their
 * responses, publish and subscribe to events. The library (sdk/c/src/request.c) exports the
 * on_request and on_response callbacks the runtime calls and dispatches them to these handlers.
 */
#ifndef MICRO_RUNTIME_WA_REQUEST_H
#define MICRO_RUNTIME_WA_REQUEST_H

#include "bi-inc/shared_utils.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Request methods: the CoAP method numbers, plus 6 for events. */
typedef enum {
    COAP_GET = 1,
    COAP_POST = 2,
    COAP_PUT = 3,
    COAP_DELETE = 4,
    COAP_EVENT = 6
} coap_method_t;

/* Response status: CoAP class * 32 + detail. */
typedef enum {
    NO_ERROR = 0,

    CREATED_2_01 = 65,
    DELETED_2_02 = 66,
    VALID_2_03 = 67,
    CHANGED_2_04 = 68,
    CONTENT_2_05 = 69,
    CONTINUE_2_31 = 95,

    BAD_REQUEST_4_00 = 128,
    UNAUTHORIZED_4_01 = 129,
    BAD_OPTION_4_02 = 130,
    FORBIDDEN_4_03 = 131,
    NOT_FOUND_4_04 = 132,
    METHOD_NOT_ALLOWED_4_05 = 133,
    NOT_ACCEPTABLE_4_06 = 134,
    PRECONDITION_FAILED_4_12 = 140,
    REQUEST_ENTITY_TOO_LARGE_4_13 = 141,
    UNSUPPORTED_MEDIA_TYPE_4_15 = 143,

    INTERNAL_SERVER_ERROR_5_00 = 160,
    NOT_IMPLEMENTED_5_01 = 161,
    BAD_GATEWAY_5_02 = 162,
    SERVICE_UNAVAILABLE_5_03 = 163,
    GATEWAY_TIMEOUT_5_04 = 164,
    PROXYING_NOT_SUPPORTED_5_05 = 165,

    MEMORY_ALLOCATION_ERROR = 192,
    PACKET_SERIALIZATION_ERROR = 193,
    MANUAL_RESPONSE = 194,
    PING_RESPONSE = 195
} coap_status_t;

/* Handles a request to a registered URL, or an event the app subscribed to. */
typedef void (*request_handler_f)(request_t *request);

/* Handles the response to a sent request; response is NULL when it timed out (5 s). */
typedef void (*response_handler_f)(response_t *response, void *user_data);

/*
 * Routes requests whose URL starts with url (see check_url_start) to handler. Handlers are
 * tried newest first; registering the same URL again replaces its handler.
 */
bool api_register_resource_handler(const char *url, request_handler_f handler);

/*
 * Sends request (prepared with init_request) and calls response_handler with its response,
 * or with NULL if none arrives within 5000 ms. user_data is passed through.
 */
void api_send_request(request_t *request, response_handler_f response_handler, void *user_data);

/* Sends a response made with make_response_for_request and set_response. */
void api_response_send(response_t *response);

/* Publishes an event to every subscriber of url (an app or the host). */
bool api_publish_event(const char *url, int fmt, void *payload, int payload_len);

/* Calls handler for each event published on url, e.g. "alert/overheat". */
bool api_subscribe_event(const char *url, request_handler_f handler);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_WA_REQUEST_H */
