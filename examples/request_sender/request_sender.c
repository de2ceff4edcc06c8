/*
 * The WAMR "request_sender" sample app: on start it sends two PUT requests, one addressed to
 * the request_handler app by name and one to whichever app serves "url1", and prints each
 * response (or the timeout after 5 s). The tag passed as user_data names the request.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"

static void print_response(response_t *response, void *user_data)
{
    const char *tag = (const char *)user_data;
    if (response == NULL) {
        printf("[req] request timeout!\n");
        return;
    }

    printf("[req] response handler called mid:%d, status:%d, fmt:%d, payload:%p, len:%d, tag:%s\n",
           (int)response->mid, response->status, response->fmt, response->payload,
           response->payload_len, tag);
    if (response->payload != NULL && response->payload_len > 0
        && response->fmt == FMT_ATTR_CONTAINER) {
        printf("[req] dump the response payload:\n");
        attr_container_dump((attr_container_t *)response->payload);
    }
}

static void send_put(char *url, char *tag)
{
    request_t request;
    init_request(&request, url, COAP_PUT, 0, NULL, 0);
    api_send_request(&request, print_response, tag);
}

void on_init(void)
{
    send_put("/app/request_handler/url1", "a request to target app");
    send_put("url1", "a general request");
}

void on_destroy(void)
{
}
