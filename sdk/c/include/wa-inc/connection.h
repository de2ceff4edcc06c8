/*
 * Connections for apps: open a TCP client connection, a UDP socket or a serial line by name
 * with an attr_container of arguments, send bytes without blocking, and get what arrives (and
 * the peer's disconnect) in a handler. Events arrive through the app's on_connection_data
 * export, which sdk/c/src/connection/connection.c supplies.
 *
 * Arguments by name: "TCP" takes the string "address" and the uint16 "port"; "UDP" takes the
 * uint16 "bind port" (then api_config_connection with "address" and "port" says where sends
 * go); "UART" takes the string "device" and the int "baudrate". The runtime opens only what
 * its operator allows (--allow-connect); anything else gives NULL.
 */
#ifndef MICRO_RUNTIME_WA_CONNECTION_H
#define MICRO_RUNTIME_WA_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "bi-inc/attr_container.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Natives (module "env"): ($*~)i, (i), (i*~)i, (i*~)i. */
uint32_t wasm_open_connection(const char *name, char *args_buf, uint32_t args_len);
void wasm_close_connection(uint32_t handle);
int wasm_send_on_connection(uint32_t handle, const char *data, uint32_t data_len);
bool wasm_config_connection(uint32_t handle, char *cfg_buf, uint32_t cfg_len);

typedef struct _connection connection_t;

/* What a handler is told. */
typedef enum {
    CONN_EVENT_TYPE_DATA = 1,  /* bytes arrived: data and len */
    CONN_EVENT_TYPE_DISCONNECT /* the peer closed it: data NULL, len 0 */
} conn_event_type_t;

/* Called for each event; data is valid only until the handler returns. */
typedef void (*on_connection_event_f)(connection_t *conn, conn_event_type_t type,
                                      const char *data, uint32_t len, void *user_data);

/* Opens a connection; NULL when the name, the arguments or the operator refuse it. */
connection_t *api_open_connection(const char *name, attr_container_t *args,
                                  on_connection_event_f on_event, void *user_data);

/* Closes a connection and frees it; NULL is ignored. */
void api_close_connection(connection_t *conn);

/* Queues bytes to send; returns how many were taken, or -1 (closed, or too much unsent). */
int api_send_on_connection(connection_t *conn, const char *data, uint32_t len);

/* Configures a connection (UDP: "address" and "port" of the peer); false when refused. */
bool api_config_connection(connection_t *conn, attr_container_t *cfg);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_WA_CONNECTION_H */
