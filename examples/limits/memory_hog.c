/*
 * A memory hog: every 10 ms it grows its memory by 16 MiB (256 pages), 64 times in all, so it
 * asks for 1 GiB. A --max-memory cap makes memory.grow return -1; the app prints the first
 * refusal, stops asking after its 64 tries and keeps running. /hog answers 69 with the text
 * "pages=<memory.size> refused=<refusals>".
 */
#include "wasm_app.h"
#include "wa-inc/request.h"
#include "wa-inc/timer_wasm_app.h"

#define GROW_PAGES 256
#define MAX_GROWS 64

static int g_grows;
static int g_refused;

static void on_tick(user_timer_t timer)
{
    (void)timer;
    if (g_grows >= MAX_GROWS)
        return;
    g_grows++;
    if (__builtin_wasm_memory_grow(0, GROW_PAGES) != (__SIZE_TYPE__)-1)
        return;
    if (g_refused++ == 0)
        printf("memory_hog: grow refused at %d pages\n", (int)__builtin_wasm_memory_size(0));
}

static void handle_hog(request_t *request)
{
    char text[48];
    int length = snprintf(text, sizeof(text), "pages=%d refused=%d",
                          (int)__builtin_wasm_memory_size(0), g_refused);
    response_t response;
    make_response_for_request(request, &response);
    /* Format 0 is CoAP's text/plain; the payload has no NUL. */
    set_response(&response, CONTENT_2_05, 0, text, length);
    api_response_send(&response);
}

void on_init(void)
{
    api_register_resource_handler("/hog", handle_hog);
    api_timer_create(10, true, true, on_tick);
}

void on_destroy(void)
{
}
