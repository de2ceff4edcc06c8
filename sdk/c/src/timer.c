/*
 * The timer half of the app library: api_timer_* wrap the timer natives and remember each
 * timer's callback, which the exported on_timer_callback looks up by the runtime's timer id.
 */
#include "wa-inc/native_interface.h"
#include "wa-inc/timer_wasm_app.h"

#define TIMER_ID_NONE 0xFFFFFFFFu

struct user_timer {
    struct user_timer *next;
    uint32 id;
    on_user_timer_update_f on_update;
};

static struct user_timer *g_timers = NULL;

user_timer_t api_timer_create(int interval, bool is_period, bool auto_start,
                              on_user_timer_update_f on_timer_update)
{
    /* Allocate first: a runtime timer must not leak because this app is out of memory. */
    struct user_timer *timer = (struct user_timer *)malloc(sizeof(struct user_timer));
    if (timer == NULL)
        return NULL;

    uint32 id = wasm_create_timer(interval, is_period, auto_start);
    if (id == TIMER_ID_NONE) {
        free(timer);
        return NULL;
    }
    timer->id = id;
    timer->on_update = on_timer_update;
    timer->next = g_timers;
    g_timers = timer;
    return timer;
}

void api_timer_cancel(user_timer_t timer)
{
    if (timer != NULL)
        wasm_timer_cancel(timer->id);
}

void api_timer_restart(user_timer_t timer, int interval)
{
    if (timer != NULL)
        wasm_timer_restart(timer->id, interval);
}

void api_timer_destroy(user_timer_t timer)
{
    if (timer == NULL)
        return;
    for (struct user_timer **link = &g_timers; *link != NULL; link = &(*link)->next) {
        if (*link == timer) {
            *link = timer->next;
            wasm_timer_destroy(timer->id);
            free(timer);
            return;
        }
    }
}

uint32 api_get_sys_tick_ms(void)
{
    return wasm_get_sys_tick_ms();
}

__attribute__((export_name("on_timer_callback"))) void on_timer_callback(int timer_id)
{
    for (struct user_timer *t = g_timers; t != NULL; t = t->next) {
        if (t->id == (uint32)timer_id) {
            /* The callback may destroy its own timer, so t is not touched afterwards. */
            if (t->on_update != NULL)
                t->on_update(t);
            return;
        }
    }
}
