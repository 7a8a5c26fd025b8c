/* The Jupyter wire protocol (messaging 5.3) over ZeroMQ: the connection file, the
 * sockets (shell, control, stdin, IOPub, heartbeat), and messages framed as
 * identities, "<IDS|MSG>", an HMAC-SHA256 signature and four JSON frames (header,
 * parent_header, metadata, content). */
#ifndef GRAFT_CLI_KERNEL_WIRE_H
#define GRAFT_CLI_KERNEL_WIRE_H

#include <jansson.h>
#include <stddef.h>

typedef struct gf_kernel_wire gf_kernel_wire;

typedef enum gf_kernel_channel { GF_CHANNEL_SHELL, GF_CHANNEL_CONTROL } gf_kernel_channel;

typedef struct gf_kernel_frame {
    void *data;
    size_t size;
} gf_kernel_frame;

/* A request: where it came from, who sent it (the ROUTER identities a reply goes
 * back to) and its four parts. */
typedef struct gf_kernel_message {
    gf_kernel_channel channel;
    gf_kernel_frame *identities;
    size_t identity_count;
    json_t *header, *parent_header, *metadata, *content;
    const char *msg_type; /* header.msg_type */
} gf_kernel_message;

typedef enum gf_kernel_receive {
    GF_RECEIVED,      /* a request is in the message */
    GF_NOTHING,       /* a signal, a timeout or an unreadable message: call again */
    GF_WIRE_FAILED,   /* the sockets do not work; the reason is in error */
} gf_kernel_receive;

/* Reads the connection file, binds the sockets and starts answering heartbeats.
 * NULL with a message naming the file and the field or endpoint on failure. */
gf_kernel_wire *gf_kernel_wire_open(const char *connection_file, char *error, size_t size);
/* Sends what is queued (for a moment), stops the heartbeat, closes everything. */
void gf_kernel_wire_close(gf_kernel_wire *wire);

/* Waits up to timeout_ms for a request on control (first) or shell. */
gf_kernel_receive gf_kernel_wire_receive(gf_kernel_wire *wire, gf_kernel_message *message,
                                         int timeout_ms, char *error, size_t size);
void gf_kernel_message_clear(gf_kernel_message *message);

/* Answers request on its channel with msg_type and content (taken over). */
int gf_kernel_wire_reply(gf_kernel_wire *wire, const gf_kernel_message *request,
                         const char *msg_type, json_t *content);
/* Publishes on IOPub as a child of parent_header (NULL: none); content taken over. */
int gf_kernel_wire_publish(gf_kernel_wire *wire, const json_t *parent_header,
                           const char *msg_type, json_t *content);

#endif
