/*
 * A hostile request handler: /ok answers 69 with the text "ok", /spin never returns. The app
 * stays usable after a /spin request is stopped by --deadline-ms or --fuel only if the runtime
 * recovers it; /ok shows whether it did.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"

/* volatile: a loop without side effects is undefined behaviour, and clang would delete it. */
static volatile unsigned int g_spins;

static void handle_ok(request_t *request)
{
    response_t response;
    make_response_for_request(request, &response);
    /* Format 0 is CoAP's text/plain; the payload has no NUL. */
    set_response(&response, CONTENT_2_05, 0, "ok", 2);
    api_response_send(&response);
}

static void handle_spin(request_t *request)
{
    (void)request;
    for (;;)
        g_spins++;
}

void on_init(void)
{
    api_register_resource_handler("/spin", handle_spin);
    api_register_resource_handler("/ok", handle_ok);
}

void on_destroy(void)
{
}
