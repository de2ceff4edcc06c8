/*
 * A client of the room temperature service: every second it sends GET /room_temp and prints
 * the reading, or that the request timed out.
 */
#include "wasm_app.h"
#include "wa-inc/request.h"
#include "wa-inc/timer_wasm_app.h"

static void print_reading(response_t *response, void *user_data)
{
    (void)user_data;
    if (response == NULL) {
        printf("[client] room temperature request timeout!\n");
        return;
    }
    attr_container_t *reading = (attr_container_t *)response->payload;
    if (response->status != CONTENT_2_05 || reading == NULL || response->fmt != FMT_ATTR_CONTAINER
        || !attr_container_contain_key(reading, "temperature")) {
        printf("[client] room temperature request failed, status %d\n", response->status);
        return;
    }
    printf("[client] room temperature: %.1f\n",
           attr_container_get_as_double(reading, "temperature"));
}

static void request_reading(user_timer_t timer)
{
    (void)timer;
    request_t request;
    init_request(&request, "/room_temp", COAP_GET, 0, NULL, 0);
    api_send_request(&request, print_reading, NULL);
}

void on_init(void)
{
    user_timer_t timer = api_timer_create(1000, true, false, request_reading);
    if (timer != NULL)
        api_timer_restart(timer, 1000);
}

void on_destroy(void)
{
}
