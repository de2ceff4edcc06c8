/* The sensor API under the short name some apps include; see wa-inc/sensor.h. */
#ifndef MICRO_RUNTIME_SENSOR_H
#define MICRO_RUNTIME_SENSOR_H

#include "wa-inc/sensor.h"

#endif /* MICRO_RUNTIME_SENSOR_H */
