#include "cli/kernel_wire.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zmq.h>

static const char delimiter[] = "<IDS|MSG>";
enum { SIGNATURE_HEX = 2 * 32, LINGER_MS = 2000 };

struct gf_kernel_wire {
    void *context;
    void *shell, *control, *stdin_socket, *iopub, *heartbeat;
    pthread_t heartbeat_thread;
    bool heartbeat_running;
    unsigned char *key;
    size_t key_length;
    char session[37];
    char username[64];
};

/* ---- the connection file ---- */

static const char *string_field(json_t *root, const char *name, const char *file, char *error,
                                size_t size) {
    const char *value = json_string_value(json_object_get(root, name));
    if (value == NULL) snprintf(error, size, "%s: \"%s\" is missing or not a string", file, name);
    return value;
}

static int port_field(json_t *root, const char *name, const char *file, char *error, size_t size) {
    json_t *value = json_object_get(root, name);
    json_int_t port = json_is_integer(value) ? json_integer_value(value) : -1;
    if (port < 1 || port > 65535) {
        snprintf(error, size, "%s: \"%s\" must be a port number from 1 to 65535", file, name);
        return -1;
    }
    return (int)port;
}

/* Binds a new socket of kind to transport://ip:port (ipc://ip-port). */
static void *bind_socket(gf_kernel_wire *wire, int kind, const char *transport, const char *ip,
                         int port, const char *channel, char *error, size_t size) {
    char endpoint[512];
    if (strcmp(transport, "ipc") == 0) snprintf(endpoint, sizeof endpoint, "ipc://%s-%d", ip, port);
    else snprintf(endpoint, sizeof endpoint, "%s://%s:%d", transport, ip, port);
    void *socket = zmq_socket(wire->context, kind);
    int linger = LINGER_MS;
    if (socket) zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (socket == NULL || zmq_bind(socket, endpoint) != 0) {
        snprintf(error, size, "cannot open the %s channel at %s: %s", channel, endpoint,
                 zmq_strerror(zmq_errno()));
        if (socket) zmq_close(socket);
        return NULL;
    }
    return socket;
}

/* ---- heartbeat: every ping is sent straight back, from a thread of its own so
 * that a long computation still answers ---- */

static void *answer_heartbeats(void *socket) {
    for (;;) {
        zmq_msg_t ping;
        zmq_msg_init(&ping);
        if (zmq_msg_recv(&ping, socket, 0) < 0) {
            zmq_msg_close(&ping);
            if (zmq_errno() == EINTR) continue;
            break; /* ETERM: the kernel is closing */
        }
        int sent = zmq_msg_send(&ping, socket, 0);
        if (sent < 0) {
            zmq_msg_close(&ping);
            if (zmq_errno() != EINTR) break;
        }
    }
    zmq_close(socket);
    return NULL;
}

/* ---- identifiers and signatures ---- */

static void new_uuid(char out[37]) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)rand();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* Hex HMAC-SHA256 of the four JSON frames; "" when the connection has no key. */
static bool sign(const gf_kernel_wire *wire, const gf_kernel_frame parts[4],
                 char out[SIGNATURE_HEX + 1]) {
    out[0] = '\0';
    if (wire->key_length == 0) return true;
    size_t total = 0;
    for (int i = 0; i < 4; i++) total += parts[i].size;
    unsigned char *joined = malloc(total ? total : 1), digest[EVP_MAX_MD_SIZE];
    if (joined == NULL) return false;
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(joined + at, parts[i].data, parts[i].size);
        at += parts[i].size;
    }
    unsigned int length = 0;
    bool ok = HMAC(EVP_sha256(), wire->key, (int)wire->key_length, joined, total, digest,
                   &length) != NULL && length == SIGNATURE_HEX / 2;
    free(joined);
    for (unsigned int i = 0; ok && i < length; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return ok;
}

static void now_iso8601(char out[64]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm utc;
    gmtime_r(&ts.tv_sec, &utc);
    char seconds[32];
    strftime(seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out, 64, "%s.%06ldZ", seconds, ts.tv_nsec / 1000);
}

/* ---- opening and closing ---- */

gf_kernel_wire *gf_kernel_wire_open(const char *connection_file, char *error, size_t size) {
    json_error_t parse_error;
    json_t *root = json_load_file(connection_file, 0, &parse_error);
    if (root == NULL && parse_error.line < 1) { /* not opened: jansson's text says why */
        snprintf(error, size, "cannot read the connection file: %s", parse_error.text);
        return NULL;
    }
    if (root == NULL) {
        snprintf(error, size, "cannot read the connection file %s: %s (line %d, column %d)",
                 connection_file, parse_error.text, parse_error.line, parse_error.column);
        return NULL;
    }
    gf_kernel_wire *wire = calloc(1, sizeof *wire);
    const char *transport = NULL, *ip = NULL, *key = NULL, *scheme = NULL;
    int ports[5] = {0};
    static const char *port_names[5] = {"shell_port", "control_port", "stdin_port",
                                        "iopub_port", "hb_port"};
    bool ok = wire != NULL;
    if (!ok) snprintf(error, size, "out of memory");
    if (ok) ok = (transport = string_field(root, "transport", connection_file, error, size)) &&
                 (ip = string_field(root, "ip", connection_file, error, size)) &&
                 (key = string_field(root, "key", connection_file, error, size));
    for (int i = 0; ok && i < 5; i++)
        ok = (ports[i] = port_field(root, port_names[i], connection_file, error, size)) > 0;
    if (ok && strcmp(transport, "tcp") != 0 && strcmp(transport, "ipc") != 0) {
        snprintf(error, size, "%s: transport \"%s\" is not tcp or ipc", connection_file, transport);
        ok = false;
    }
    if (ok) {
        scheme = json_string_value(json_object_get(root, "signature_scheme"));
        if (key[0] && scheme && strcmp(scheme, "hmac-sha256") != 0) {
            snprintf(error, size, "%s: signature_scheme \"%s\" is not supported (hmac-sha256 is)",
                     connection_file, scheme);
            ok = false;
        }
    }
    if (ok) {
        wire->key_length = strlen(key);
        wire->key = (unsigned char *)strdup(key);
        ok = wire->key != NULL;
        if (!ok) snprintf(error, size, "out of memory");
    }
    if (ok) {
        new_uuid(wire->session);
        const char *user = getenv("USER");
        snprintf(wire->username, sizeof wire->username, "%s", user && user[0] ? user : "graft");
        /* The threads ZeroMQ starts and the heartbeat thread must not take the
         * SIGINT meant for the Lua code (interrupt_mode "signal"). */
        sigset_t blocked, previous;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGINT);
        pthread_sigmask(SIG_BLOCK, &blocked, &previous);
        wire->context = zmq_ctx_new();
        ok = wire->context != NULL;
        if (!ok) snprintf(error, size, "cannot start ZeroMQ: %s", zmq_strerror(zmq_errno()));
        if (ok) ok = (wire->shell = bind_socket(wire, ZMQ_ROUTER, transport, ip, ports[0], "shell", error, size)) &&
                     (wire->control = bind_socket(wire, ZMQ_ROUTER, transport, ip, ports[1], "control", error, size)) &&
                     (wire->stdin_socket = bind_socket(wire, ZMQ_ROUTER, transport, ip, ports[2], "stdin", error, size)) &&
                     (wire->iopub = bind_socket(wire, ZMQ_PUB, transport, ip, ports[3], "iopub", error, size)) &&
                     (wire->heartbeat = bind_socket(wire, ZMQ_REP, transport, ip, ports[4], "heartbeat", error, size));
        if (ok) {
            int linger = 0;
            zmq_setsockopt(wire->heartbeat, ZMQ_LINGER, &linger, sizeof linger);
            ok = pthread_create(&wire->heartbeat_thread, NULL, answer_heartbeats, wire->heartbeat) == 0;
            if (ok) wire->heartbeat_running = true;
            else snprintf(error, size, "cannot start the heartbeat thread");
        }
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
    }
    json_decref(root);
    if (!ok && wire) {
        gf_kernel_wire_close(wire);
        wire = NULL;
    }
    return wire;
}

void gf_kernel_wire_close(gf_kernel_wire *wire) {
    if (wire == NULL) return;
    void *sockets[] = {wire->shell, wire->control, wire->stdin_socket, wire->iopub};
    for (size_t i = 0; i < sizeof sockets / sizeof sockets[0]; i++)
        if (sockets[i]) zmq_close(sockets[i]);
    if (wire->context) {
        zmq_ctx_shutdown(wire->context); /* the heartbeat thread's recv ends with ETERM */
        if (wire->heartbeat_running) pthread_join(wire->heartbeat_thread, NULL);
        else if (wire->heartbeat) zmq_close(wire->heartbeat);
        zmq_ctx_term(wire->context); /* waits (up to the linger) for queued messages */
    }
    free(wire->key);
    free(wire);
}

/* ---- receiving ---- */

static void free_frames(gf_kernel_frame *frames, size_t count) {
    for (size_t i = 0; i < count; i++) free(frames[i].data);
    free(frames);
}

/* All frames of the next multipart message on socket. */
static int read_frames(void *socket, gf_kernel_frame **frames, size_t *count) {
    *frames = NULL;
    *count = 0;
    size_t capacity = 0;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, socket, 0) < 0) {
            zmq_msg_close(&part);
            if (zmq_errno() == EINTR && *count > 0) continue; /* mid-message: finish it */
            free_frames(*frames, *count);
            return -1;
        }
        if (*count == capacity) {
            capacity = capacity ? 2 * capacity : 8;
            gf_kernel_frame *grown = realloc(*frames, capacity * sizeof *grown);
            if (grown == NULL) {
                zmq_msg_close(&part);
                free_frames(*frames, *count);
                errno = ENOMEM;
                return -1;
            }
            *frames = grown;
        }
        size_t size = zmq_msg_size(&part);
        void *data = malloc(size ? size : 1);
        if (data) memcpy(data, zmq_msg_data(&part), size);
        bool more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        if (data == NULL) {
            free_frames(*frames, *count);
            errno = ENOMEM;
            return -1;
        }
        (*frames)[(*count)++] = (gf_kernel_frame){data, size};
        if (!more) return 0;
    }
}

/* Checks the signature and decodes a request's frames into message. */
static bool parse(gf_kernel_wire *wire, gf_kernel_frame *frames, size_t count,
                  gf_kernel_message *message, char *error, size_t size) {
    size_t at = 0;
    while (at < count && !(frames[at].size == sizeof delimiter - 1 &&
                           memcmp(frames[at].data, delimiter, sizeof delimiter - 1) == 0))
        at++;
    if (at + 5 >= count) {
        snprintf(error, size, "a message without the %s delimiter and its five frames", delimiter);
        return false;
    }
    char expected[SIGNATURE_HEX + 1];
    if (!sign(wire, &frames[at + 2], expected) ||
        frames[at + 1].size != strlen(expected) ||
        CRYPTO_memcmp(frames[at + 1].data, expected, strlen(expected)) != 0) {
        snprintf(error, size, "a message with a wrong signature (not signed with the "
                              "connection file's key)");
        return false;
    }
    json_t **parts[4] = {&message->header, &message->parent_header, &message->metadata,
                         &message->content};
    static const char *names[4] = {"header", "parent_header", "metadata", "content"};
    for (int i = 0; i < 4; i++) {
        json_error_t json_error;
        *parts[i] = json_loadb(frames[at + 2 + i].data, frames[at + 2 + i].size, 0, &json_error);
        if (!json_is_object(*parts[i])) {
            snprintf(error, size, "a message whose %s is not a JSON object (%s)", names[i],
                     *parts[i] ? "another JSON value" : json_error.text);
            return false;
        }
    }
    message->msg_type = json_string_value(json_object_get(message->header, "msg_type"));
    if (message->msg_type == NULL) {
        snprintf(error, size, "a message whose header has no msg_type");
        return false;
    }
    /* the identities stay with the message for the reply; the rest is freed */
    message->identities = frames;
    message->identity_count = at;
    for (size_t i = at; i < count; i++) free(frames[i].data);
    return true;
}

gf_kernel_receive gf_kernel_wire_receive(gf_kernel_wire *wire, gf_kernel_message *message,
                                         int timeout_ms, char *error, size_t size) {
    memset(message, 0, sizeof *message);
    zmq_pollitem_t items[] = {{wire->control, 0, ZMQ_POLLIN, 0}, {wire->shell, 0, ZMQ_POLLIN, 0}};
    int ready = zmq_poll(items, 2, timeout_ms);
    if (ready < 0) {
        if (zmq_errno() == EINTR) return GF_NOTHING;
        snprintf(error, size, "waiting for requests failed: %s", zmq_strerror(zmq_errno()));
        return GF_WIRE_FAILED;
    }
    int which = (items[0].revents & ZMQ_POLLIN) ? 0 : (items[1].revents & ZMQ_POLLIN) ? 1 : -1;
    if (which < 0) return GF_NOTHING;
    gf_kernel_frame *frames;
    size_t count;
    if (read_frames(which == 0 ? wire->control : wire->shell, &frames, &count) != 0) {
        snprintf(error, size, "reading a request failed: %s", zmq_strerror(zmq_errno()));
        return zmq_errno() == EINTR ? GF_NOTHING : GF_WIRE_FAILED;
    }
    message->channel = which == 0 ? GF_CHANNEL_CONTROL : GF_CHANNEL_SHELL;
    if (!parse(wire, frames, count, message, error, size)) {
        if (message->identities == NULL) free_frames(frames, count);
        gf_kernel_message_clear(message);
        fprintf(stderr, "graft kernel: ignored %s\n", error);
        return GF_NOTHING;
    }
    return GF_RECEIVED;
}

void gf_kernel_message_clear(gf_kernel_message *message) {
    free_frames(message->identities, message->identity_count);
    json_decref(message->header);
    json_decref(message->parent_header);
    json_decref(message->metadata);
    json_decref(message->content);
    memset(message, 0, sizeof *message);
}

/* ---- sending ---- */

static json_t *new_header(const gf_kernel_wire *wire, const char *msg_type) {
    char id[37], date[64];
    new_uuid(id);
    now_iso8601(date);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "session", wire->session,
                     "username", wire->username, "date", date, "msg_type", msg_type,
                     "version", "5.3");
}

/* Sends prefix frames (identities or the topic), the delimiter, the signature and
 * the four JSON frames; content is taken over. */
static int send_message(gf_kernel_wire *wire, void *socket, const gf_kernel_frame *prefix,
                        size_t prefix_count, const json_t *parent_header, const char *msg_type,
                        json_t *content) {
    json_t *header = new_header(wire, msg_type);
    json_t *metadata = json_object();
    char *texts[4] = {NULL, NULL, NULL, NULL};
    int status = -1;
    if (header && metadata && content) {
        texts[0] = json_dumps(header, JSON_COMPACT);
        texts[1] = parent_header ? json_dumps(parent_header, JSON_COMPACT) : strdup("{}");
        texts[2] = json_dumps(metadata, JSON_COMPACT);
        texts[3] = json_dumps(content, JSON_COMPACT);
    }
    if (texts[0] && texts[1] && texts[2] && texts[3]) {
        gf_kernel_frame parts[4];
        for (int i = 0; i < 4; i++) parts[i] = (gf_kernel_frame){texts[i], strlen(texts[i])};
        char signature[SIGNATURE_HEX + 1];
        if (sign(wire, parts, signature)) {
            status = 0;
            for (size_t i = 0; status == 0 && i < prefix_count; i++)
                if (zmq_send(socket, prefix[i].data, prefix[i].size, ZMQ_SNDMORE) < 0) status = -1;
            if (status == 0 && zmq_send(socket, delimiter, sizeof delimiter - 1, ZMQ_SNDMORE) < 0) status = -1;
            if (status == 0 && zmq_send(socket, signature, strlen(signature), ZMQ_SNDMORE) < 0) status = -1;
            for (int i = 0; status == 0 && i < 4; i++)
                if (zmq_send(socket, parts[i].data, parts[i].size, i < 3 ? ZMQ_SNDMORE : 0) < 0)
                    status = -1;
        }
    }
    for (int i = 0; i < 4; i++) free(texts[i]);
    json_decref(header);
    json_decref(metadata);
    json_decref(content);
    return status;
}

int gf_kernel_wire_reply(gf_kernel_wire *wire, const gf_kernel_message *request,
                         const char *msg_type, json_t *content) {
    void *socket = request->channel == GF_CHANNEL_CONTROL ? wire->control : wire->shell;
    return send_message(wire, socket, request->identities, request->identity_count,
                        request->header, msg_type, content);
}

int gf_kernel_wire_publish(gf_kernel_wire *wire, const json_t *parent_header,
                           const char *msg_type, json_t *content) {
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", wire->session, msg_type);
    gf_kernel_frame prefix = {topic, strlen(topic)};
    return send_message(wire, wire->iopub, &prefix, 1, parent_header, msg_type, content);
}
