/*
 * A hostile module whose instantiation never finishes: a constructor spins, and the exported
 * _initialize, which the runtime calls right after instantiating, runs the constructors. So
 * on_init is never reached unless the runtime's limits stop _initialize first.
 */
#include "wasm_app.h"

/* Made by wasm-ld: calls every __attribute__((constructor)) function. */
extern void __wasm_call_ctors(void);

/* volatile: a loop without side effects is undefined behaviour, and clang would delete it. */
static volatile unsigned int g_spins;

__attribute__((constructor)) static void spin_at_start(void)
{
    for (;;)
        g_spins++;
}

/* No wasi-libc crt here to provide it, so the app exports the reactor entry point itself. */
__attribute__((export_name("_initialize"))) void _initialize(void)
{
    __wasm_call_ctors();
}

void on_init(void)
{
    printf("loop_start: on_init reached\n");
}

void on_destroy(void)
{
}
