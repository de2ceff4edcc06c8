/*
 * The one header a micro-runtime app needs: libc, attr_container, requests, events and timers.
 * Apps written for either WAMR era compile unchanged: 2019 apps include only this file, later
 * ones also include wa-inc/request.h, wa-inc/timer_wasm_app.h, wa-inc/connection.h or
 * bi-inc/attr_container.h, which this file already pulls in (the connection API's code is in
 * sdk/c/src/connection/connection.c, linked only by apps that use it).
 *
 * An app defines on_init() (required) and on_destroy() (optional). The declarations below
 * export both under their plain names, so no linker flag is needed; the library in sdk/c/src
 * exports on_request, on_response and on_timer_callback.
 */
#ifndef MICRO_RUNTIME_WASM_APP_H
#define MICRO_RUNTIME_WASM_APP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_platform.h"
#include "bi-inc/attr_container.h"
#include "bi-inc/shared_utils.h"
#include "wa-inc/connection.h"
#include "wa-inc/request.h"
#include "wa-inc/timer_wasm_app.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once after the app is installed; register handlers and start timers here. */
__attribute__((export_name("on_init"))) void on_init(void);

/* Called before the app is uninstalled. The library provides an empty default. */
__attribute__((export_name("on_destroy"))) void on_destroy(void);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_WASM_APP_H */
