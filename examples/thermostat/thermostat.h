/*
 * Natives of the thermostat vendor plugin (examples/thermostat/plugin.ts, module "env").
 * Temperatures are tenths of a degree Celsius (215 = 21.5 C). Each app has its own room.
 *
 *   thermo_get         ()i     the room temperature, after it drifts 0.5 C toward the target
 *   thermo_set_target  (i)     sets the target temperature
 *   thermo_label       ($*~)i  writes "<name>: 21.5 C" into buf with snprintf semantics (what
 *                              fits, always NUL-terminated when buf_size > 0) and returns the
 *                              label's length without the NUL; buf may be NULL when buf_size is 0
 */
#ifndef EXAMPLES_THERMOSTAT_H
#define EXAMPLES_THERMOSTAT_H

#include <stddef.h>

int thermo_get(void);
void thermo_set_target(int tenths);
int thermo_label(const char *name, char *buf, size_t buf_size);

#endif /* EXAMPLES_THERMOSTAT_H */
