/*
 * App entry points the library supplies when the app does not: on_destroy is optional for apps,
 * but the runtime (and the examples' export checks) expect every app to export it.
 */
#include "wasm_app.h"

__attribute__((weak)) void on_destroy(void)
{
}
