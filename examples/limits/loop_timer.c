/*
 * A hostile timer: on_init starts a 10 ms periodic timer whose first expiry never returns.
 * on_init itself returns, so the app installs; the spin starts at the first timer event.
 */
#include "wasm_app.h"
#include "wa-inc/timer_wasm_app.h"

/* volatile: a loop without side effects is undefined behaviour, and clang would delete it. */
static volatile unsigned int g_spins;

static void on_tick(user_timer_t timer)
{
    (void)timer;
    printf("loop_timer: tick, spinning\n");
    for (;;)
        g_spins++;
}

void on_init(void)
{
    printf("loop_timer: starting a 10 ms timer\n");
    api_timer_create(10, true, true, on_tick);
}

void on_destroy(void)
{
}
