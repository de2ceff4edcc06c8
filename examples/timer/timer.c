/*
 * The WAMR "timer" sample app: a 1 s periodic timer that prints "Timer update <n>" from 0.
 * The timer is created stopped and started with api_timer_restart, as the sample does.
 */
#include "wasm_app.h"
#include "wa-inc/timer_wasm_app.h"

static int g_updates = 0;

static void on_tick(user_timer_t timer)
{
    (void)timer;
    printf("Timer update %d\n", g_updates++);
}

void on_init(void)
{
    user_timer_t timer = api_timer_create(1000, true, false, on_tick);
    if (timer != NULL)
        api_timer_restart(timer, 1000);
}

void on_destroy(void)
{
    /* The runtime frees the app's timers when it is uninstalled. */
}
