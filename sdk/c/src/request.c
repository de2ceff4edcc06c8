/*
 * The request, response and event half of the app library: it keeps the app's URL handlers,
 * event subscriptions and outstanding requests, and exports the on_request and on_response
 * callbacks through which the runtime delivers packets.
 */
#include "wa-inc/native_interface.h"
#include "wa-inc/request.h"
#include "wa-inc/timer_wasm_app.h"

/* How long api_send_request waits for a response before calling back with NULL. */
#define TRANSACTION_TIMEOUT_MS 5000

typedef enum { HANDLER_RESOURCE, HANDLER_EVENT } handler_kind_t;

typedef struct handler_entry {
    struct handler_entry *next;
    handler_kind_t kind;
    char *url;
    request_handler_f handler;
} handler_entry_t;

typedef struct transaction {
    struct transaction *next;
    uint32 mid;
    /* wasm_get_sys_tick_ms() value at which the request times out */
    uint32 deadline;
    response_handler_f handler;
    void *user_data;
} transaction_t;

/* Newest first, so a later registration shadows an earlier overlapping prefix. */
static handler_entry_t *g_handlers = NULL;
/* Oldest first: every request gets the same timeout, so this is also deadline order. */
static transaction_t *g_transactions = NULL;
/* One timer serves every outstanding request; it is armed for the oldest deadline. */
static user_timer_t g_transaction_timer = NULL;

static bool add_handler(handler_kind_t kind, const char *url, request_handler_f handler)
{
    for (handler_entry_t *e = g_handlers; e != NULL; e = e->next) {
        if (e->kind == kind && strcmp(e->url, url) == 0) {
            /* The runtime already routes this URL here; only the local handler changes. */
            e->handler = handler;
            return true;
        }
    }

    handler_entry_t *entry = (handler_entry_t *)malloc(sizeof(handler_entry_t));
    if (entry == NULL)
        return false;
    entry->url = wa_strdup(url);
    if (entry->url == NULL) {
        free(entry);
        return false;
    }
    entry->kind = kind;
    entry->handler = handler;
    entry->next = g_handlers;
    g_handlers = entry;

    if (kind == HANDLER_RESOURCE)
        wasm_register_resource(url);
    else
        wasm_sub_event(url);
    return true;
}

bool api_register_resource_handler(const char *url, request_handler_f handler)
{
    return add_handler(HANDLER_RESOURCE, url, handler);
}

bool api_subscribe_event(const char *url, request_handler_f handler)
{
    return add_handler(HANDLER_EVENT, url, handler);
}

static void post_request(request_t *request)
{
    int size = 0;
    char *packet = pack_request(request, &size);
    if (packet == NULL)
        return;
    wasm_post_request(packet, size);
    free_req_resp_packet(packet);
}

static void arm_transaction_timer(uint32 now);

static void on_transaction_timeout(user_timer_t timer)
{
    (void)timer;
    uint32 now = wasm_get_sys_tick_ms();
    /* Signed difference, so the comparison survives the tick counter wrapping. */
    while (g_transactions != NULL && (int32_t)(now - g_transactions->deadline) >= 0) {
        transaction_t *expired = g_transactions;
        g_transactions = expired->next;
        if (expired->handler != NULL)
            expired->handler(NULL, expired->user_data);
        free(expired);
    }
    arm_transaction_timer(now);
}

static void arm_transaction_timer(uint32 now)
{
    if (g_transactions == NULL) {
        if (g_transaction_timer != NULL)
            api_timer_cancel(g_transaction_timer);
        return;
    }
    if (g_transaction_timer == NULL) {
        g_transaction_timer =
            api_timer_create(TRANSACTION_TIMEOUT_MS, false, false, on_transaction_timeout);
        if (g_transaction_timer == NULL)
            return;
    }
    int32_t wait = (int32_t)(g_transactions->deadline - now);
    api_timer_restart(g_transaction_timer, wait > 0 ? wait : 1);
}

void api_send_request(request_t *request, response_handler_f response_handler, void *user_data)
{
    transaction_t *t = (transaction_t *)malloc(sizeof(transaction_t));
    if (t == NULL)
        return;
    uint32 now = wasm_get_sys_tick_ms();
    t->next = NULL;
    t->mid = request->mid;
    t->deadline = now + TRANSACTION_TIMEOUT_MS;
    t->handler = response_handler;
    t->user_data = user_data;

    bool was_idle = g_transactions == NULL;
    transaction_t **tail = &g_transactions;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = t;

    post_request(request);
    /* A response may already have arrived and removed it; only then is the list idle again. */
    if (was_idle && g_transactions != NULL)
        arm_transaction_timer(now);
}

void api_response_send(response_t *response)
{
    int size = 0;
    char *packet = pack_response(response, &size);
    if (packet == NULL)
        return;
    wasm_response_send(packet, size);
    free_req_resp_packet(packet);
}

bool api_publish_event(const char *url, int fmt, void *payload, int payload_len)
{
    request_t request;
    init_request(&request, (char *)url, COAP_EVENT, fmt, payload, payload_len);
    int size = 0;
    char *packet = pack_request(&request, &size);
    if (packet == NULL)
        return false;
    wasm_post_request(packet, size);
    free_req_resp_packet(packet);
    return true;
}

static void reply_not_found(request_t *request)
{
    response_t response;
    make_response_for_request(request, &response);
    set_response(&response, NOT_FOUND_4_04, 0, NULL, 0);
    api_response_send(&response);
}

__attribute__((export_name("on_request"))) void on_request(char *buffer, int size)
{
    request_t request;
    if (unpack_request(buffer, size, &request) == NULL)
        return;
    int url_len = (int)strlen(request.url);

    if (request.action == COAP_EVENT) {
        for (handler_entry_t *e = g_handlers; e != NULL; e = e->next) {
            if (e->kind == HANDLER_EVENT && check_url_start(request.url, url_len, e->url) > 0)
                e->handler(&request);
        }
        return;
    }

    for (handler_entry_t *e = g_handlers; e != NULL; e = e->next) {
        if (e->kind == HANDLER_RESOURCE && check_url_start(request.url, url_len, e->url) > 0) {
            e->handler(&request);
            return;
        }
    }
    /* WAMR stays silent here and the sender waits for its timeout; answering is kinder. */
    reply_not_found(&request);
}

__attribute__((export_name("on_response"))) void on_response(char *buffer, int size)
{
    response_t response;
    if (unpack_response(buffer, size, &response) == NULL)
        return;

    transaction_t **link = &g_transactions;
    while (*link != NULL && (*link)->mid != response.mid)
        link = &(*link)->next;
    transaction_t *t = *link;
    if (t == NULL)
        return; /* late (already timed out) or not ours */
    bool was_oldest = t == g_transactions;
    *link = t->next;

    if (was_oldest)
        arm_transaction_timer(wasm_get_sys_tick_ms());
    if (t->handler != NULL)
        t->handler(&response, t->user_data);
    free(t);
}
