/*
 * A forger: it answers requests that were never routed to it. Each time it runs it sends a
 * 69 "forged" response to the host for each mid the host link hands out first
 * (0x80000000 on) and each mid AppManager.request hands out first (1 on), guessing them, then
 * posts a request to its own /forge resource so it runs again: with a message always waiting,
 * it gets a turn right after a host request is queued for another app and before that app
 * answers. The runtime must drop every forged response: only the app a request was routed to
 * may answer it.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"
#include "wa-inc/native_interface.h"

#define HOST_ID 0xFFFFFFFDu
#define LINK_MIDS 0x80000000u
#define GUESSES 32

static void forge(uint32 mid)
{
    response_t response;
    response.mid = mid;
    response.reciever = HOST_ID;
    /* Format 0 is CoAP's text/plain; the payload has no NUL. */
    set_response(&response, CONTENT_2_05, 0, "forged", 6);
    api_response_send(&response);
}

static void post_to_self(void)
{
    request_t request;
    init_request(&request, "/forge", COAP_POST, 0, NULL, 0);
    int size = 0;
    char *packet = pack_request(&request, &size);
    if (packet == NULL)
        return;
    wasm_post_request(packet, size);
    free_req_resp_packet(packet);
}

static void handle_forge(request_t *request)
{
    (void)request;
    for (uint32 i = 0; i < GUESSES; i++) {
        forge(LINK_MIDS + i);
        forge(1 + i);
    }
    post_to_self();
}

void on_init(void)
{
    api_register_resource_handler("/forge", handle_forge);
    post_to_self();
}

void on_destroy(void)
{
}
