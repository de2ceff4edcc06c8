/*
 * A TCP client that behaves like WAMR's connection sample: it connects to a server on
 * 127.0.0.1:7777, says "Hello <n>" once a second, prints what the server sends back, and closes
 * the connection when a DELETE comes for /close. The runtime connects only where its operator
 * allows:
 *
 *   deno run --allow-read --allow-net=127.0.0.1:7777 mod.ts apps \
 *     --allow-connect=127.0.0.1:7777 examples/connection/connection.wasm
 */
#include "wasm_app.h"

static connection_t *server;
static user_timer_t ticker;
static int hellos;

static void on_server_event(connection_t *conn, conn_event_type_t type, const char *data,
                            uint32 len, void *user_data)
{
    char text[257];

    (void)conn;
    (void)user_data;
    if (type == CONN_EVENT_TYPE_DISCONNECT) {
        printf("connection is close by server!\n");
        api_timer_cancel(ticker);
        return;
    }
    if (len >= sizeof(text))
        len = sizeof(text) - 1;
    memcpy(text, data, len);
    text[len] = '\0';
    printf("Client got a message from server -> %s\n", text);
}

static void say_hello(user_timer_t timer)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "Hello %d", hellos++);

    (void)timer;
    api_send_on_connection(server, text, (uint32)n);
}

static void on_close(request_t *request)
{
    response_t response[1];

    if (server) {
        api_timer_cancel(ticker);
        api_close_connection(server);
        server = NULL;
    }
    make_response_for_request(request, response);
    set_response(response, DELETED_2_02, 0, NULL, 0);
    api_response_send(response);
}

void on_init(void)
{
    attr_container_t *args = attr_container_create("");

    api_register_resource_handler("/close", on_close);
    attr_container_set_string(&args, "address", "127.0.0.1");
    attr_container_set_uint16(&args, "port", 7777);
    server = api_open_connection("TCP", args, on_server_event, NULL);
    attr_container_destroy(args);
    if (!server) {
        printf("connect to server fail!\n");
        return;
    }
    printf("connect to server success! handle: %p\n", (void *)server);
    ticker = api_timer_create(1000, true, true, say_hello);
}
