/*
 * A room temperature service: answers /room_temp with status 69 and an attr_container tagged
 * "room temperature" whose "temperature" (a double) rises 0.5 degrees per request from 20.0
 * and starts over after 25.0, so each reading is predictable.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"

static int g_requests = 0;

static void handle_room_temp(request_t *request)
{
    double temperature = 20.0 + 0.5 * (g_requests++ % 11);

    attr_container_t *reading = attr_container_create("room temperature");
    if (reading == NULL)
        return;
    attr_container_set_double(&reading, "temperature", temperature);

    response_t response;
    make_response_for_request(request, &response);
    set_response(&response, CONTENT_2_05, FMT_ATTR_CONTAINER, (const char *)reading,
                 (int)attr_container_get_serialize_length(reading));
    api_response_send(&response);
    attr_container_destroy(reading);
}

void on_init(void)
{
    api_register_resource_handler("/room_temp", handle_room_temp);
}

void on_destroy(void)
{
}
