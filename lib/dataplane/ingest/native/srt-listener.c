/*
 * livestack-srt-listener: the SRT front door of one channel's ingest workload.
 *
 * It listens on one UDP port with libsrt and decides in libsrt's listen callback, before a connection
 * is accepted (so refused callers get a rejection code, and nothing is allocated for them):
 *   - the handshake carries a stream id naming this channel for publishing, in one of the forms
 *     encoders use: `#!::r=<channel>,m=publish` (SRT access control) or `publish:<channel>` (MediaMTX);
 *   - the caller's address is in the channel's ingest allow list;
 *   - nobody publishes to the channel yet (over SRT here, or over RTMP: the supervisor says `busy`);
 * and sets the channel's passphrase on the connection, so libsrt refuses a caller with another one
 * (the key itself never crosses the network, and the contribution is encrypted with it).
 *
 * Key length: the listener advertises the channel's (SRTO_PBKEYLEN) in its first handshake answer. In
 * HSv5 an encoder that sets none adopts it; one that sets another keeps its own when it is the sender
 * (SRTO_SENDER, which ffmpeg and OBS set; docs/API/API-socket-options.md, SRTO_PBKEYLEN), and libsrt
 * then takes the key the encoder generated: such a caller is closed as soon as it is accepted, with
 * the reason in the refusal event.
 *
 * Latency: SRT's own, with timestamp-based delivery (TSBPD) and too-late packet drop: the link asks
 * for a lost packet again until `latency` after it was sent, then gives it up. The negotiated value
 * is the larger of the channel's and the encoder's (SRTO_RCVLATENCY, SRTO_PEERLATENCY), as libsrt
 * negotiates it. When the encoder closes, libsrt hands on only packets whose time has come and keeps
 * the rest in the buffer (CUDT::receiveMessage on a broken socket): the listener drains them as their
 * time comes, up to the negotiated latency, before it ends the session, so the stream's tail (the
 * last `latency` of it) is recorded too.
 *
 * It serves one publisher at a time and hands its MPEG-TS to the supervisor (ingest/main.ts).
 *
 *   argv:   --listen HOST:PORT --resource NAME [--key-length 16|24|32] [--latency MS]
 *           [--peer-idle-timeout MS] [--allow CIDR]...            (nothing secret)
 *   stdin:  first line: the passphrase (10-79 characters). Then commands, one a line:
 *           `busy 1` / `busy 0` (another protocol's publisher holds the channel), `drop` (end the
 *           current session). End of input: close and exit.
 *   stdout: frames `[type: 1 byte][length: 4 bytes, big endian][payload]`: type 'D' carries stream
 *           data of the current session, type 'E' one JSON event (ready, refused, open, stats, closed).
 *           One writer (the main thread), so data and events arrive in the order they happened.
 *   stderr: libsrt's own error lines.
 *
 * Neither the passphrase nor a caller's stream id is ever written anywhere: a stream id may hold a
 * key typed into the wrong field, so events say what was wrong with it, not what it was.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <srt/access_control.h>
#include <srt/srt.h>

#define MAX_ALLOW 64
#define MAX_RESOURCE 63
/* Longer than any form we accept needs; SRT itself carries up to 512 bytes. */
#define MAX_STREAMID 256
#define MIN_PASSPHRASE 10
#define MAX_PASSPHRASE 79
/* Refusal events queued by the callback thread for the main thread; beyond that they are counted. */
#define REFUSAL_QUEUE 64
#define STATS_EVERY_MS 1000
#define POLL_MS 100
/* While draining a closed session: how often packets whose time has come are read. */
#define DRAIN_POLL_MS 10
/* A drain waits for the last packet's delivery time (negotiated latency after it was sent) plus this. */
#define DRAIN_MARGIN_MS 250
/* The receive buffer holds the latency (plus a second of round trips) of a contribution this fast. */
#define MAX_CONTRIBUTION_MBPS 40
#define LIVE_PAYLOAD_BYTES 1316
#define MIN_LATENCY_MS 20
#define MAX_LATENCY_MS 8000

struct cidr {
  int family;              /* AF_INET or AF_INET6 */
  unsigned char addr[16];
  int bits;
};

struct refusal {
  char address[INET6_ADDRSTRLEN + 8];
  const char *reason;      /* metric label */
  const char *detail;      /* safe to log: never the stream id */
  int code;
};

static struct {
  char listen_host[64];
  int listen_port;
  char resource[MAX_RESOURCE + 1];
  /* The channel's AES key length, in bytes (SRTO_PBKEYLEN). */
  int key_length;
  /* The channel's receive latency in ms (SRTO_LATENCY); the encoder may ask for more. */
  int latency_ms;
  int peer_idle_ms;
  struct cidr allow[MAX_ALLOW];
  int allow_count;
  char passphrase[MAX_PASSPHRASE + 2];
} config = { .key_length = 16, .latency_ms = 120, .peer_idle_ms = 5000 };

/* Set by the main thread (a session is open) and the supervisor (another protocol publishes); read by
 * libsrt's receiver thread in the listen callback. */
static atomic_int session_open;
static atomic_int busy_elsewhere;
/* Set by the command thread (the supervisor said `drop`, or its input ended) and by signals. */
static atomic_int drop_requested;
static volatile sig_atomic_t stopping;

static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct refusal refusals[REFUSAL_QUEUE];
static int refusal_count;
static unsigned long refusals_lost;

static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("livestack-srt-listener: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

/* --- output frames ---------------------------------------------------------------------------- */

static void write_all(const struct iovec *parts, int count) {
  struct iovec iov[2];
  memcpy(iov, parts, sizeof(struct iovec) * (size_t)count);
  int index = 0;
  while (index < count) {
    ssize_t written = writev(STDOUT_FILENO, iov + index, count - index);
    if (written < 0) {
      if (errno == EINTR) continue;
      /* The supervisor is gone: nobody to hand the stream to. */
      exit(errno == EPIPE ? 0 : 3);
    }
    while (index < count && (size_t)written >= iov[index].iov_len) {
      written -= (ssize_t)iov[index].iov_len;
      index++;
    }
    if (index < count) {
      iov[index].iov_base = (char *)iov[index].iov_base + written;
      iov[index].iov_len -= (size_t)written;
    }
  }
}

static void write_frame(char type, const void *payload, size_t length) {
  unsigned char header[5] = { (unsigned char)type, (unsigned char)(length >> 24), (unsigned char)(length >> 16),
                              (unsigned char)(length >> 8), (unsigned char)length };
  struct iovec parts[2] = { { header, sizeof header }, { (void *)payload, length } };
  write_all(parts, 2);
}

static void event(const char *format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(text, sizeof text, format, args);
  va_end(args);
  if (length < 0) return;
  if ((size_t)length >= sizeof text) length = sizeof text - 1;
  write_frame('E', text, (size_t)length);
}

/* --- addresses and the allow list ------------------------------------------------------------- */

static int parse_cidr(const char *text, struct cidr *out) {
  char address[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr(text, '/');
  size_t length = slash ? (size_t)(slash - text) : strlen(text);
  if (length == 0 || length >= sizeof address) return -1;
  memcpy(address, text, length);
  address[length] = '\0';
  if (inet_pton(AF_INET, address, out->addr) == 1) out->family = AF_INET;
  else if (inet_pton(AF_INET6, address, out->addr) == 1) out->family = AF_INET6;
  else return -1;
  int max = out->family == AF_INET ? 32 : 128;
  out->bits = max;
  if (slash) {
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || bits < 0 || bits > max) return -1;
    out->bits = (int)bits;
  }
  return 0;
}

/* The peer's address as bytes of its family; an IPv4-mapped IPv6 address counts as IPv4. */
static int peer_bytes(const struct sockaddr *peer, unsigned char bytes[16]) {
  if (peer->sa_family == AF_INET) {
    memcpy(bytes, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    return AF_INET;
  }
  if (peer->sa_family == AF_INET6) {
    const unsigned char *six = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(six, mapped, 12) == 0) {
      memcpy(bytes, six + 12, 4);
      return AF_INET;
    }
    memcpy(bytes, six, 16);
    return AF_INET6;
  }
  return -1;
}

static void format_peer(const struct sockaddr *peer, char *out, size_t size) {
  unsigned char bytes[16];
  int family = peer_bytes(peer, bytes);
  if (family < 0 || !inet_ntop(family, bytes, out, (socklen_t)size)) snprintf(out, size, "?");
}

static int peer_port(const struct sockaddr *peer) {
  if (peer->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)peer)->sin_port);
  if (peer->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
  return 0;
}

static int address_allowed(const struct sockaddr *peer) {
  if (config.allow_count == 0) return 1;
  unsigned char bytes[16];
  int family = peer_bytes(peer, bytes);
  for (int i = 0; i < config.allow_count; i++) {
    const struct cidr *block = &config.allow[i];
    if (block->family != family) continue;
    int whole = block->bits / 8, rest = block->bits % 8;
    if (memcmp(bytes, block->addr, (size_t)whole) != 0) continue;
    if (rest == 0) return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    if ((bytes[whole] & mask) == (block->addr[whole] & mask)) return 1;
  }
  return 0;
}

/* --- stream ids --------------------------------------------------------------------------------- */

struct verdict {
  int code;            /* 0: accepted */
  const char *reason;  /* metric label */
  const char *detail;
};

static const struct verdict ACCEPTED = { 0, NULL, NULL };

static struct verdict refuse(int code, const char *reason, const char *detail) {
  struct verdict verdict = { code, reason, detail };
  return verdict;
}

static int equals_resource(const char *value, size_t length) {
  return length == strlen(config.resource) && memcmp(value, config.resource, length) == 0;
}

/* `#!::key=value,key=value`: r (this channel) required; m absent or publish; t absent or stream;
 * other keys (u, h, s, custom ones) are tolerated, as the access control guidelines allow. */
static struct verdict check_keyed(const char *content) {
  int seen_r = 0, seen_m = 0, seen_t = 0;
  const char *item = content;
  for (;;) {
    const char *end = strchr(item, ',');
    size_t length = end ? (size_t)(end - item) : strlen(item);
    const char *equals = memchr(item, '=', length);
    if (!equals || equals == item) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "malformed stream id: expected #!::r=<channel>,m=publish");
    size_t key_length = (size_t)(equals - item);
    const char *value = equals + 1;
    size_t value_length = length - key_length - 1;
    if (key_length == 1 && item[0] == 'r') {
      if (seen_r++) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id repeats r=");
      if (!equals_resource(value, value_length)) return refuse(SRT_REJX_NOTFOUND, "wrong-streamid", "stream id names another resource than this channel");
    } else if (key_length == 1 && item[0] == 'm') {
      if (seen_m++) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id repeats m=");
      if (!(value_length == 7 && memcmp(value, "publish", 7) == 0)) {
        return refuse(SRT_REJX_BAD_MODE, "bad-mode", "stream id asks for a mode other than m=publish (this listener only takes publishers; play through the channel's locators)");
      }
    } else if (key_length == 1 && item[0] == 't') {
      if (seen_t++) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id repeats t=");
      if (!(value_length == 6 && memcmp(value, "stream", 6) == 0)) return refuse(SRT_REJX_NOTSUP_MEDIA, "bad-streamid", "stream id asks for a type other than t=stream");
    }
    if (!end) break;
    item = end + 1;
  }
  if (!seen_r) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id has no r=<channel>");
  return ACCEPTED;
}

static struct verdict check_streamid(const char *streamid) {
  size_t length = strnlen(streamid, MAX_STREAMID + 1);
  if (length == 0) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "no stream id: set streamid=publish:<channel> (or #!::r=<channel>,m=publish)");
  if (length > MAX_STREAMID) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id longer than 256 bytes");
  if (strncmp(streamid, "#!::", 4) == 0) return check_keyed(streamid + 4);
  if (strncmp(streamid, "#!:", 3) == 0) return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "nested (#!:{...}) stream ids are not supported: use #!::r=<channel>,m=publish");
  if (strncmp(streamid, "publish:", 8) == 0) {
    const char *path = streamid + 8;
    if (strchr(path, ':')) {
      return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "user and password in a publish: stream id are not accepted (the stream id travels in clear; the stream key is the passphrase)");
    }
    if (!equals_resource(path, strlen(path))) return refuse(SRT_REJX_NOTFOUND, "wrong-streamid", "stream id names another path than this channel");
    return ACCEPTED;
  }
  if (strncmp(streamid, "read:", 5) == 0 || strncmp(streamid, "request:", 8) == 0) {
    return refuse(SRT_REJX_BAD_MODE, "bad-mode", "stream id asks to read (this listener only takes publishers; play through the channel's locators)");
  }
  return refuse(SRT_REJX_BAD_REQUEST, "bad-streamid", "stream id in no known form: expected publish:<channel> or #!::r=<channel>,m=publish");
}

/* --- the listen callback (libsrt's receiver thread) -------------------------------------------- */

static void queue_refusal(const struct sockaddr *peer, const struct verdict *verdict) {
  pthread_mutex_lock(&refusals_lock);
  if (refusal_count < REFUSAL_QUEUE) {
    struct refusal *r = &refusals[refusal_count++];
    char host[INET6_ADDRSTRLEN];
    format_peer(peer, host, sizeof host);
    snprintf(r->address, sizeof r->address, "%s", host);
    r->reason = verdict->reason;
    r->detail = verdict->detail;
    r->code = verdict->code;
  } else {
    refusals_lost++;
  }
  pthread_mutex_unlock(&refusals_lock);
}

/*
 * libsrt checks the key right after the callback let a caller through, in the same receiver thread,
 * and only says so in its log: the caller the callback approved last is the one a key refusal is about.
 */
static __thread char checking_key_of[INET6_ADDRSTRLEN];

static void on_srt_log(void *opaque, int level, const char *file, int line, const char *area, const char *message) {
  (void)opaque; (void)level; (void)file; (void)line; (void)area;
  if (checking_key_of[0] != '\0' && strstr(message, "per enforced encryption")) {
    pthread_mutex_lock(&refusals_lock);
    if (refusal_count < REFUSAL_QUEUE) {
      struct refusal *r = &refusals[refusal_count++];
      snprintf(r->address, sizeof r->address, "%s", checking_key_of);
      r->reason = "wrong-key";
      r->detail = "wrong or missing passphrase (the passphrase is the channel's stream key)";
      r->code = SRT_REJ_BADSECRET;
    } else {
      refusals_lost++;
    }
    pthread_mutex_unlock(&refusals_lock);
    checking_key_of[0] = '\0';
  }
  size_t length = strlen(message);
  while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r')) length--;
  fprintf(stderr, "libsrt: %.*s\n", (int)length, message);
}

static int on_listen(void *opaque, SRTSOCKET ns, int hs_version, const struct sockaddr *peer, const char *streamid) {
  (void)opaque;
  struct verdict verdict;
  if (hs_version < 5) {
    verdict = refuse(SRT_REJX_VERSION, "bad-streamid", "caller speaks SRT before 1.3 (no stream id): update the encoder");
  } else {
    verdict = check_streamid(streamid ? streamid : "");
    if (verdict.code == 0 && !address_allowed(peer)) verdict = refuse(SRT_REJX_FORBIDDEN, "address-not-allowed", "address not in the channel's ingest allow list");
    if (verdict.code == 0 && (atomic_load(&session_open) || atomic_load(&busy_elsewhere))) {
      verdict = refuse(SRT_REJX_CONFLICT, "already-publishing", "the channel already has a publisher");
    }
  }
  if (verdict.code == 0) {
    /* libsrt checks the caller's key material against this once the callback returns. */
    if (srt_setsockflag(ns, SRTO_PASSPHRASE, config.passphrase, (int)strlen(config.passphrase)) == 0) {
      format_peer(peer, checking_key_of, sizeof checking_key_of);
      return 0;
    }
    verdict = refuse(SRT_REJX_ISE, "internal", "could not set the passphrase on the connection");
  }
  queue_refusal(peer, &verdict);
  srt_setrejectreason(ns, verdict.code);
  return -1;
}

static void flush_refusals(void) {
  struct refusal batch[REFUSAL_QUEUE];
  unsigned long lost;
  pthread_mutex_lock(&refusals_lock);
  int count = refusal_count;
  memcpy(batch, refusals, sizeof(struct refusal) * (size_t)count);
  refusal_count = 0;
  lost = refusals_lost;
  refusals_lost = 0;
  pthread_mutex_unlock(&refusals_lock);
  for (int i = 0; i < count; i++) {
    event("{\"event\":\"refused\",\"address\":\"%s\",\"reason\":\"%s\",\"code\":%d,\"detail\":\"%s\"}",
          batch[i].address, batch[i].reason, batch[i].code, batch[i].detail);
  }
  if (lost > 0) event("{\"event\":\"refusals-unreported\",\"count\":%lu}", lost);
}

/* --- set-up ---------------------------------------------------------------------------------- */

static int int_option(const char *name, const char *text, int min, int max) {
  char *end;
  long value = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < min || value > max) die("%s: expected a whole number from %d to %d, received %s", name, min, max, text);
  return (int)value;
}

static void parse_arguments(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *name = argv[i];
    if (i + 1 >= argc) die("%s needs a value", name);
    const char *value = argv[++i];
    if (strcmp(name, "--listen") == 0) {
      const char *colon = strrchr(value, ':');
      if (!colon || colon == value || (size_t)(colon - value) >= sizeof config.listen_host) die("--listen: expected HOST:PORT, received %s", value);
      const char *host = value;
      size_t host_length = (size_t)(colon - value);
      if (host[0] == '[' && host[host_length - 1] == ']') { host++; host_length -= 2; }
      memcpy(config.listen_host, host, host_length);
      config.listen_host[host_length] = '\0';
      config.listen_port = int_option("--listen port", colon + 1, 1, 65535);
    } else if (strcmp(name, "--resource") == 0) {
      if (strlen(value) == 0 || strlen(value) > MAX_RESOURCE) die("--resource: expected 1-%d characters", MAX_RESOURCE);
      strcpy(config.resource, value);
    } else if (strcmp(name, "--key-length") == 0) {
      config.key_length = int_option(name, value, 16, 32);
      if (config.key_length % 8 != 0) die("--key-length: expected 16, 24 or 32");
    } else if (strcmp(name, "--latency") == 0) {
      config.latency_ms = int_option(name, value, MIN_LATENCY_MS, MAX_LATENCY_MS);
    } else if (strcmp(name, "--peer-idle-timeout") == 0) {
      config.peer_idle_ms = int_option(name, value, 1000, 60000);
    } else if (strcmp(name, "--allow") == 0) {
      if (config.allow_count == MAX_ALLOW) die("--allow: at most %d blocks", MAX_ALLOW);
      if (parse_cidr(value, &config.allow[config.allow_count]) != 0) die("--allow: expected an address or CIDR block, received %s", value);
      config.allow_count++;
    } else {
      die("unknown option %s", name);
    }
  }
  if (config.listen_port == 0 || config.resource[0] == '\0') die("--listen and --resource are required");
}

static void read_passphrase(void) {
  size_t length = 0;
  for (;;) {
    char c;
    ssize_t got = read(STDIN_FILENO, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) die("expected the passphrase on the first line of stdin");
    if (c == '\n') break;
    if (length > MAX_PASSPHRASE) die("the passphrase must be %d to %d characters (it is longer; not shown)", MIN_PASSPHRASE, MAX_PASSPHRASE);
    config.passphrase[length++] = c;
  }
  config.passphrase[length] = '\0';
  if (length < MIN_PASSPHRASE) die("the passphrase must be %d to %d characters (it has %zu; not shown)", MIN_PASSPHRASE, MAX_PASSPHRASE, length);
}

static void set_flag(SRTSOCKET socket, SRT_SOCKOPT option, const char *name, const void *value, int length) {
  if (srt_setsockflag(socket, option, value, length) != 0) die("setting %s: %s", name, srt_getlasterror_str());
}

/*
 * libsrt's receive buffer (8192 packets) holds about 86 Mbit: enough for the default latency, not for a
 * long one at a high bit rate (docs/API/configuration-guidelines.md). Grown for the channel's latency;
 * the flow control window (SRTO_FC) caps it, so it grows first.
 */
static void size_buffers(SRTSOCKET listener) {
  long long packets = (long long)(config.latency_ms + 1000) * MAX_CONTRIBUTION_MBPS * 1000 / 8 / LIVE_PAYLOAD_BYTES;
  if (packets <= 8192) return;
  int window = packets > 25600 ? (int)packets : 25600;
  int bytes = (int)packets * (1500 - 28);
  set_flag(listener, SRTO_FC, "SRTO_FC", &window, sizeof window);
  set_flag(listener, SRTO_RCVBUF, "SRTO_RCVBUF", &bytes, sizeof bytes);
}

static SRTSOCKET open_listener(void) {
  struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_DGRAM };
  struct addrinfo *address;
  char port[8];
  snprintf(port, sizeof port, "%d", config.listen_port);
  int failed = getaddrinfo(config.listen_host, port, &hints, &address);
  if (failed) die("--listen %s: %s", config.listen_host, gai_strerror(failed));

  SRTSOCKET listener = srt_create_socket();
  if (listener == SRT_INVALID_SOCK) die("srt_create_socket: %s", srt_getlasterror_str());
  int no = 0, yes = 1, live = SRTT_LIVE, min_version = 0x010300;
  set_flag(listener, SRTO_TRANSTYPE, "SRTO_TRANSTYPE", &live, sizeof live);
  /* Stream ids (HSv5) came with SRT 1.3; older callers could not name the channel. */
  set_flag(listener, SRTO_MINVERSION, "SRTO_MINVERSION", &min_version, sizeof min_version);
  set_flag(listener, SRTO_ENFORCEDENCRYPTION, "SRTO_ENFORCEDENCRYPTION", &yes, sizeof yes);
  /* Live mode's defaults, said out loud: the latency below means what SRT users expect of it. */
  set_flag(listener, SRTO_TSBPDMODE, "SRTO_TSBPDMODE", &yes, sizeof yes);
  set_flag(listener, SRTO_TLPKTDROP, "SRTO_TLPKTDROP", &yes, sizeof yes);
  /* Both directions (RCVLATENCY, and PEERLATENCY for what little flows back); accepted sockets inherit it. */
  set_flag(listener, SRTO_LATENCY, "SRTO_LATENCY", &config.latency_ms, sizeof config.latency_ms);
  /* Advertised in the induction answer, so an encoder that sets no key length adopts the channel's. */
  set_flag(listener, SRTO_PBKEYLEN, "SRTO_PBKEYLEN", &config.key_length, sizeof config.key_length);
  size_buffers(listener);
  set_flag(listener, SRTO_PEERIDLETIMEO, "SRTO_PEERIDLETIMEO", &config.peer_idle_ms, sizeof config.peer_idle_ms);
  set_flag(listener, SRTO_RCVSYN, "SRTO_RCVSYN", &no, sizeof no);
  /* No passphrase on the listener itself: the callback sets it on each connection it lets through,
   * so its own rejection codes reach callers it refuses (Haivision/srt#2925). */
  if (srt_bind(listener, address->ai_addr, (int)address->ai_addrlen) != 0) die("cannot listen on UDP %s:%d: %s", config.listen_host, config.listen_port, srt_getlasterror_str());
  freeaddrinfo(address);
  if (srt_listen_callback(listener, on_listen, NULL) != 0) die("srt_listen_callback: %s", srt_getlasterror_str());
  /* The backlog only holds callers that passed the callback and the key check; the main loop takes
   * them at once. */
  if (srt_listen(listener, 8) != 0) die("srt_listen: %s", srt_getlasterror_str());
  return listener;
}

/* --- the session ------------------------------------------------------------------------------ */

static SRTSOCKET session = SRT_INVALID_SOCK;
static int64_t last_stats_ms;
/* The session's negotiated receive latency. */
static int session_latency_ms;
/* The encoder closed the session: packets still in the buffer are read as their time comes, until this
 * time (0: not draining). */
static int64_t drain_until_ms;
static const char *drain_why;
static long long drained_packets;
/* Interval counters are cleared at each stats report: the retransmissions received add up here. */
static long long retransmitted_received;

static int64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void end_session(int eid, const char *why) {
  if (session == SRT_INVALID_SOCK) return;
  srt_epoll_remove_usock(eid, session);
  srt_close(session);
  session = SRT_INVALID_SOCK;
  long long drained = drain_until_ms ? drained_packets : 0;
  drain_until_ms = 0;
  atomic_store(&session_open, 0);
  event("{\"event\":\"closed\",\"why\":\"%s\",\"drainedPackets\":%lld}", why, drained);
}

/* One caller per readiness: the listener stays ready while more wait (and srt_accept would log an
 * error each time it finds nobody). */
static void accept_caller(SRTSOCKET listener, int eid) {
  struct sockaddr_storage peer;
  int peer_length = sizeof peer;
  SRTSOCKET caller = srt_accept(listener, (struct sockaddr *)&peer, &peer_length);
  if (caller == SRT_INVALID_SOCK) return;
  char host[INET6_ADDRSTRLEN];
  format_peer((struct sockaddr *)&peer, host, sizeof host);
  if (session != SRT_INVALID_SOCK || atomic_load(&busy_elsewhere)) {
    /* Two callers passed the callback at once: the first one keeps the channel. */
    srt_close(caller);
    event("{\"event\":\"refused\",\"address\":\"%s\",\"reason\":\"already-publishing\",\"code\":%d,\"detail\":\"the channel already has a publisher\"}", host, SRT_REJX_CONFLICT);
    return;
  }
  int key_length = 0, length = sizeof key_length;
  srt_getsockflag(caller, SRTO_PBKEYLEN, &key_length, &length);
  if (key_length != config.key_length) {
    srt_close(caller);
    event("{\"event\":\"refused\",\"address\":\"%s\",\"reason\":\"key-length-mismatch\",\"code\":%d,\"detail\":\"the encoder sets pbkeylen=%d (AES-%d); the channel encrypts with AES-%d (set pbkeylen=%d in the encoder, or none)\"}",
          host, SRT_REJX_UNACCEPTABLE, key_length, key_length * 8, config.key_length * 8, config.key_length);
    return;
  }
  /* Read on a connected socket, this is the negotiated value: the larger of the channel's latency and
   * the encoder's SRTO_PEERLATENCY (ffmpeg's `latency`). */
  int latency = 0;
  length = sizeof latency;
  srt_getsockflag(caller, SRTO_RCVLATENCY, &latency, &length);
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(eid, caller, &events);
  session = caller;
  session_latency_ms = latency;
  drain_until_ms = 0;
  retransmitted_received = 0;
  atomic_store(&session_open, 1);
  last_stats_ms = now_ms();
  event("{\"event\":\"open\",\"address\":\"%s\",\"port\":%d,\"keyLength\":%d,\"latencyMs\":%d}",
        host, peer_port((struct sockaddr *)&peer), key_length, latency);
}

/* Packets of the session whose delivery time has come, to the supervisor; their count. */
static int read_ready(void) {
  char buffer[1500];
  int count = 0;
  for (;;) {
    int got = srt_recvmsg(session, buffer, sizeof buffer);
    if (got <= 0) return count;
    write_frame('D', buffer, (size_t)got);
    count++;
  }
}

/* Packets in order that wait for their delivery time (libsrt's receive buffer, up to the first gap). */
static int packets_waiting(void) {
  int waiting = 0, length = sizeof waiting;
  if (srt_getsockflag(session, SRTO_RCVDATA, &waiting, &length) != 0) return 0;
  return waiting;
}

/* A drain step: what has become due, then the end of the session once nothing waits or time is up. */
static void drain_session(int eid) {
  drained_packets += read_ready();
  if (packets_waiting() == 0 || now_ms() >= drain_until_ms) end_session(eid, drain_why);
}

static void read_session(int eid) {
  read_ready();
  if (srt_getlasterror(NULL) == SRT_EASYNCRCV) return;
  const char *why = srt_getsockstate(session) == SRTS_BROKEN ? "the connection broke or the encoder closed it" : "the connection ended";
  if (packets_waiting() == 0) {
    end_session(eid, why);
    return;
  }
  /* A broken socket stays ready (error) in epoll: edge-triggered, it wakes the loop no more, which
   * polls the drain instead. (Unsubscribing it makes libsrt log an internal error at every read.) */
  int edge = SRT_EPOLL_IN | SRT_EPOLL_ERR | SRT_EPOLL_ET;
  srt_epoll_update_usock(eid, session, &edge);
  drain_why = why;
  drained_packets = 0;
  drain_until_ms = now_ms() + session_latency_ms + DRAIN_MARGIN_MS;
}

static void report_stats(void) {
  if (drain_until_ms) return;
  SRT_TRACEBSTATS stats;
  if (srt_bstats(session, &stats, 1) != 0) return;
  retransmitted_received += stats.pktRcvRetrans;
  event("{\"event\":\"stats\",\"bytesReceived\":%llu,\"packetsReceived\":%lld,\"packetsLost\":%d,\"packetsRetransmitted\":%lld,\"packetsDropped\":%d,\"rttMs\":%.1f,\"receiveMbps\":%.3f}",
        (unsigned long long)stats.byteRecvTotal, (long long)stats.pktRecvTotal, stats.pktRcvLossTotal, retransmitted_received,
        stats.pktRcvDropTotal, stats.msRTT, stats.mbpsRecvRate);
}

/*
 * Commands from the supervisor, on their own thread: a blocking read sees the end of its input at once
 * (libsrt's epoll reports only readable system sockets, not a closed pipe), and the main loop picks up
 * what it asked for within POLL_MS.
 */
static void *read_commands(void *unused) {
  (void)unused;
  char line[64];
  size_t length = 0;
  for (;;) {
    char c;
    ssize_t got = read(STDIN_FILENO, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (c != '\n') {
      if (length < sizeof line - 1) line[length++] = c;
      continue;
    }
    line[length] = '\0';
    length = 0;
    if (strcmp(line, "busy 1") == 0) atomic_store(&busy_elsewhere, 1);
    else if (strcmp(line, "busy 0") == 0) atomic_store(&busy_elsewhere, 0);
    else if (strcmp(line, "drop") == 0) atomic_store(&drop_requested, 1);
    else fprintf(stderr, "livestack-srt-listener: unknown command ignored\n");
  }
  /* The supervisor is gone or stopping: close the session (the encoder is told) and exit. */
  stopping = 1;
  return NULL;
}

static void on_signal(int signal) {
  (void)signal;
  stopping = 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction stop = { .sa_handler = on_signal };
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  parse_arguments(argc, argv);
  read_passphrase();

  if (srt_startup() < 0) die("srt_startup: %s", srt_getlasterror_str());
  srt_setloglevel(LOG_ERR);
  srt_setloghandler(NULL, on_srt_log);
  SRTSOCKET listener = open_listener();
  int eid = srt_epoll_create();
  if (eid < 0) die("srt_epoll_create: %s", srt_getlasterror_str());
  int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(eid, listener, &in);
  pthread_t commands;
  if (pthread_create(&commands, NULL, read_commands, NULL) != 0) die("cannot start the command thread");
  pthread_detach(commands);
  event("{\"event\":\"ready\",\"port\":%d,\"keyLength\":%d,\"latencyMs\":%d}", config.listen_port, config.key_length, config.latency_ms);

  while (!stopping) {
    SRTSOCKET ready[4];
    int ready_count = 4;
    if (srt_epoll_wait(eid, ready, &ready_count, NULL, NULL, drain_until_ms ? DRAIN_POLL_MS : POLL_MS, NULL, NULL, NULL, NULL) < 0) ready_count = 0;
    for (int i = 0; i < ready_count; i++) {
      if (ready[i] == listener) accept_caller(listener, eid);
      else if (ready[i] == session && !drain_until_ms) read_session(eid);
    }
    if (drain_until_ms) drain_session(eid);
    if (atomic_exchange(&drop_requested, 0)) end_session(eid, "the ingest dropped it");
    flush_refusals();
    if (session != SRT_INVALID_SOCK && now_ms() - last_stats_ms >= STATS_EVERY_MS) {
      last_stats_ms = now_ms();
      report_stats();
    }
  }
  /* Closing sends the encoder a shutdown, so it reconnects at once instead of timing out. */
  end_session(eid, "the ingest is stopping");
  srt_close(listener);
  srt_epoll_release(eid);
  srt_cleanup();
  return 0;
}
