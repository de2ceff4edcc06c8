/*
 * The app framework's natives (module "env"), as the runtime registers them. Apps normally use
 * the api_* wrappers in wa-inc/request.h and wa-inc/timer_wasm_app.h instead; the library in
 * sdk/c/src calls these.
 */
#ifndef MICRO_RUNTIME_NATIVE_INTERFACE_H
#define MICRO_RUNTIME_NATIVE_INTERFACE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Requests and events: ($), (*~), (*~)i, ($) */
void wasm_register_resource(const char *url);
void wasm_post_request(const char *buffer, int size);
bool wasm_response_send(const char *buffer, int size);
void wasm_sub_event(const char *url);

/* Timers: (iii)i, (i), (i), (ii), ()i. wasm_create_timer gives 0xFFFFFFFF when out of timers. */
uint32_t wasm_create_timer(int interval_ms, bool is_period, bool auto_start);
void wasm_timer_destroy(uint32_t timer_id);
void wasm_timer_cancel(uint32_t timer_id);
void wasm_timer_restart(uint32_t timer_id, int interval_ms);
uint32_t wasm_get_sys_tick_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_NATIVE_INTERFACE_H */
