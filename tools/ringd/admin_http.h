/* ringd's HTTP admin endpoints on evhttp (a later issue moves them to lib/node):
 *   GET  /admin/members  this node's view + membership checksum (JSON)
 *   GET  /admin/stats    core and driver counters (JSON)
 *   POST /admin/leave    graceful leave; the process keeps running */
#ifndef RINGD_ADMIN_HTTP_H
#define RINGD_ADMIN_HTTP_H

#include <event2/http.h>
#include "swimring/swim_udp.h"

/* Register the handlers on `http`; `u` must outlive it. */
int ringd_admin_register(struct evhttp *http, struct sr_swim_udp *u);

#endif
