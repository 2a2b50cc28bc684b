/* Telling the service manager how hlsd is doing: the systemd notification
 * protocol (sd_notify(3), from libsystemd). With Type=notify, systemd
 * counts hlsd as started only at READY=1, shows STATUS= in systemctl
 * status, and knows a reload or a stop is under way.
 *
 * Every call is a no-op when NOTIFY_SOCKET is unset (hlsd not run by
 * systemd as Type=notify), and when hlsd is built with HLS_SYSTEMD=OFF.
 * A message that cannot be sent is logged (event=notify_failed), never an
 * error: the node runs on either way. The status text is one line; a
 * newline in it is sent as a space. */
#ifndef HLS_NOTIFY_H
#define HLS_NOTIFY_H

#include "err.h"

/* STATUS=: what hlsd is doing, e.g. while it starts. */
void hls_notify_status(const char *fmt, ...) HLS_PRINTF(1, 2);
/* READY=1 and STATUS=: hls can talk to the node now (at start, and when a
 * reload is over). */
void hls_notify_ready(const char *fmt, ...) HLS_PRINTF(1, 2);
/* RELOADING=1 with MONOTONIC_USEC= (which systemd 253's Type=notify-reload
 * requires): a SIGHUP reload began; hls_notify_ready ends it. */
void hls_notify_reloading(void);
/* STOPPING=1 and STATUS=: shutting down. */
void hls_notify_stopping(const char *fmt, ...) HLS_PRINTF(1, 2);

#endif
