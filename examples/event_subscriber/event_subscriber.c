/*
 * The WAMR "event_subscriber" sample app: prints and dumps every "alert/overheat" event.
 * It includes only wasm_app.h, the way 2019 (seed-era) apps were written, to show that header
 * alone declares the whole request, event, timer and attr_container API.
 */
#include "wasm_app.h"

static void on_overheat(request_t *request)
{
    printf("### user over heat event handler called\n");
    if (request->payload != NULL && request->fmt == FMT_ATTR_CONTAINER)
        attr_container_dump((attr_container_t *)request->payload);
}

void on_init(void)
{
    api_subscribe_event("alert/overheat", on_overheat);
}

void on_destroy(void)
{
}
