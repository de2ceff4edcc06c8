/*
 * A request storm: on_init posts a request to the app's own /storm resource, and each /storm
 * request it gets posts two more, so its queue is full for as long as it runs. The queue-full
 * errors come back to it as responses, which its full queue refuses too. It answers nothing
 * and prints nothing; a runtime that serves queues fairly keeps serving the host link and the
 * other apps while it runs.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"
#include "wa-inc/native_interface.h"

/* Fire and forget: api_send_request would keep a transaction per request in the app heap. */
static void post_to_self(void)
{
    request_t request;
    init_request(&request, "/storm", COAP_POST, 0, NULL, 0);
    int size = 0;
    char *packet = pack_request(&request, &size);
    if (packet == NULL)
        return;
    wasm_post_request(packet, size);
    free_req_resp_packet(packet);
}

static void handle_storm(request_t *request)
{
    (void)request;
    post_to_self();
    post_to_self();
}

void on_init(void)
{
    api_register_resource_handler("/storm", handle_storm);
    post_to_self();
}

void on_destroy(void)
{
}
