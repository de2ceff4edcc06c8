/*
 * A hostile app whose on_init never returns: it prints one line, then spins. Only the
 * runtime's deadline (--deadline-ms) or fuel (--fuel) can stop it.
 */
#include "wasm_app.h"

/* volatile: a loop without side effects is undefined behaviour, and clang would delete it. */
static volatile unsigned int g_spins;

void on_init(void)
{
    printf("loop_init: spinning\n");
    for (;;)
        g_spins++;
}

void on_destroy(void)
{
}
