/*
 * Opens the two test sensors, reads each once a second and prints every reading:
 * the sensor sample of WAMR's app framework, on our SDK.
 */
#include "wasm_app.h"
#include "wa-inc/sensor.h"

static sensor_t sensor1, sensor2;

static void sensor_event_handler(sensor_t sensor, attr_container_t *event, void *user_data)
{
    printf("### app get sensor event from %s\n", (const char *)user_data);
    attr_container_dump(event);
    (void)sensor;
}

void on_init(void)
{
    sensor1 = sensor_open("sensor_test1", 0, sensor_event_handler, "sensor1");
    if (!sensor1) {
        printf("open sensor1 failed!\n");
        return;
    }
    sensor_config(sensor1, 1000, 0, 0);

    sensor2 = sensor_open("sensor_test2", 0, sensor_event_handler, "sensor2");
    if (!sensor2) {
        printf("open sensor2 failed!\n");
        return;
    }
    sensor_config(sensor2, 1000, 0, 0);
    printf("### app on_init done\n");
}

void on_destroy(void)
{
    if (sensor1)
        sensor_close(sensor1);
    if (sensor2)
        sensor_close(sensor2);
    printf("### app on_destroy done\n");
}
