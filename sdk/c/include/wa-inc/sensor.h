/*
 * Sensors for apps: open a sensor by name and instance, configure its read interval, and get
 * each reading as an attr_container in a handler. Readings arrive through the app's
 * on_sensor_event export, which sdk/c/src/sensor/sensor.c supplies.
 */
#ifndef MICRO_RUNTIME_WA_SENSOR_H
#define MICRO_RUNTIME_WA_SENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "bi-inc/attr_container.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Natives (module "env"): ($i)i, (iiii)i, (i*~)i, (i)i. */
uint32_t wasm_sensor_open(const char *name, int instance);
bool wasm_sensor_config(uint32_t sensor, int interval, int bit_cfg, int delay);
bool wasm_sensor_config_with_attr_container(uint32_t sensor, char *buffer, int len);
bool wasm_sensor_close(uint32_t sensor);

typedef struct _sensor *sensor_t;

/* Called for each reading; the container is freed when the handler returns. */
typedef void (*sensor_event_handler_f)(sensor_t sensor, attr_container_t *event, void *user_data);

/* Opens a sensor; NULL when it does not exist or this app has it open already. */
sensor_t sensor_open(const char *name, int index, sensor_event_handler_f handler,
                     void *user_data);

/* Sets the read interval (ms), a driver-specific bit configuration and a delay. */
bool sensor_config(sensor_t sensor, int interval, int bit_cfg, int delay);

/* Hands a configuration container to the sensor's driver. */
bool sensor_config_with_attr_container(sensor_t sensor, attr_container_t *cfg);

/* Closes the sensor and frees the handle. */
bool sensor_close(sensor_t sensor);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_WA_SENSOR_H */
