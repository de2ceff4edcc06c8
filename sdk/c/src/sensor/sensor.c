/*
 * The app side of the sensor API: a list of open sensors, each with its handler, and the
 * on_sensor_event export the runtime calls with (sensor id, reading buffer, length).
 */
#include <stdlib.h>
#include <string.h>

#include "wa-inc/sensor.h"

struct _sensor {
    struct _sensor *next;
    uint32_t id;
    char *name;
    int instance;
    sensor_event_handler_f handler;
    void *user_data;
};

static struct _sensor *open_sensors;

sensor_t sensor_open(const char *name, int index, sensor_event_handler_f handler,
                     void *user_data)
{
    uint32_t id = wasm_sensor_open(name, index);
    struct _sensor *s;
    size_t len;

    if (id == 0xFFFFFFFFu)
        return NULL;
    s = (struct _sensor *)malloc(sizeof(*s));
    len = strlen(name) + 1;
    if (s)
        s->name = (char *)malloc(len);
    if (!s || !s->name) {
        /* Keep the runtime's view consistent with ours: nothing half-open. */
        wasm_sensor_close(id);
        free(s);
        return NULL;
    }
    memcpy(s->name, name, len);
    s->id = id;
    s->instance = index;
    s->handler = handler;
    s->user_data = user_data;
    s->next = open_sensors;
    open_sensors = s;
    return s;
}

bool sensor_config(sensor_t sensor, int interval, int bit_cfg, int delay)
{
    return sensor && wasm_sensor_config(sensor->id, interval, bit_cfg, delay);
}

bool sensor_config_with_attr_container(sensor_t sensor, attr_container_t *cfg)
{
    if (!sensor || !cfg)
        return false;
    return wasm_sensor_config_with_attr_container(
        sensor->id, (char *)cfg, (int)attr_container_get_serialize_length(cfg));
}

bool sensor_close(sensor_t sensor)
{
    struct _sensor **link = &open_sensors;
    bool closed;

    if (!sensor)
        return false;
    closed = wasm_sensor_close(sensor->id);
    while (*link && *link != sensor)
        link = &(*link)->next;
    if (*link)
        *link = sensor->next;
    free(sensor->name);
    free(sensor);
    return closed;
}

__attribute__((export_name("on_sensor_event"))) void on_sensor_event(uint32_t sensor_id,
                                                                        char *buf, int len)
{
    struct _sensor *s;

    (void)len;
    for (s = open_sensors; s; s = s->next) {
        if (s->id == sensor_id) {
            if (s->handler)
                s->handler(s, (attr_container_t *)buf, s->user_data);
            return;
        }
    }
}
