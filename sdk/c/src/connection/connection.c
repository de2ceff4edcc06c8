/*
 * The app side of the connection API: a list of open connections, each with its handler, and
 * the on_connection_data export the runtime calls with (handle, data, length), or with a NULL
 * buffer and length 0 when the peer closed the connection.
 */
#include <stdlib.h>

#include "wa-inc/connection.h"

struct _connection {
    struct _connection *next;
    uint32_t handle;
    on_connection_event_f handler;
    void *user_data;
};

static struct _connection *open_connections;

connection_t *api_open_connection(const char *name, attr_container_t *args,
                                  on_connection_event_f on_event, void *user_data)
{
    uint32_t handle;
    struct _connection *conn;

    if (!name || !args)
        return NULL;
    handle = wasm_open_connection(name, (char *)args, attr_container_get_serialize_length(args));
    if (handle == 0xFFFFFFFFu)
        return NULL;
    conn = (struct _connection *)malloc(sizeof(*conn));
    if (!conn) {
        /* Nothing half-open: the runtime forgets it too. */
        wasm_close_connection(handle);
        return NULL;
    }
    conn->handle = handle;
    conn->handler = on_event;
    conn->user_data = user_data;
    conn->next = open_connections;
    open_connections = conn;
    return conn;
}

void api_close_connection(connection_t *conn)
{
    struct _connection **link = &open_connections;

    if (!conn)
        return;
    wasm_close_connection(conn->handle);
    while (*link && *link != conn)
        link = &(*link)->next;
    if (*link)
        *link = conn->next;
    free(conn);
}

int api_send_on_connection(connection_t *conn, const char *data, uint32_t len)
{
    if (!conn || (!data && len > 0))
        return -1;
    return wasm_send_on_connection(conn->handle, data, len);
}

bool api_config_connection(connection_t *conn, attr_container_t *cfg)
{
    if (!conn || !cfg)
        return false;
    return wasm_config_connection(conn->handle, (char *)cfg,
                                  attr_container_get_serialize_length(cfg));
}

__attribute__((export_name("on_connection_data"))) void on_connection_data(uint32_t handle,
                                                                              char *data,
                                                                              uint32_t len)
{
    struct _connection *conn;

    for (conn = open_connections; conn; conn = conn->next) {
        if (conn->handle == handle) {
            if (conn->handler) {
                if (data == NULL && len == 0)
                    conn->handler(conn, CONN_EVENT_TYPE_DISCONNECT, NULL, 0, conn->user_data);
                else
                    conn->handler(conn, CONN_EVENT_TYPE_DATA, data, len, conn->user_data);
            }
            return;
        }
    }
}
