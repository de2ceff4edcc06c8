/*
 * Timers for apps. The runtime calls the library's on_timer_callback export when a timer
 * expires, and the library calls the timer's on_timer_update function.
 */
#ifndef MICRO_RUNTIME_WA_TIMER_H
#define MICRO_RUNTIME_WA_TIMER_H

#include "bh_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

struct user_timer;
typedef struct user_timer *user_timer_t;

typedef void (*on_user_timer_update_f)(user_timer_t timer);

/*
 * Creates a timer that fires every interval ms (is_period) or once, now (auto_start) or at the
 * first api_timer_restart. Returns NULL when the app has no timers left.
 */
user_timer_t api_timer_create(int interval, bool is_period, bool auto_start,
                              on_user_timer_update_f on_timer_update);

/* Stops the timer. It stays valid: api_timer_restart starts it again. */
void api_timer_cancel(user_timer_t timer);

/* (Re)starts the timer; interval replaces the old one when it is > 0. */
void api_timer_restart(user_timer_t timer, int interval);

/* Stops the timer and frees it, here and in the runtime. */
void api_timer_destroy(user_timer_t timer);

/* Milliseconds of a monotonic clock. */
uint32 api_get_sys_tick_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_WA_TIMER_H */
