/* The "swim" configuration section (lib/swim), for the YAML loader in
 * swimring/config.h. Defaults equal sr_swim_cfg_default_lan(). */
#ifndef SWIMRING_SWIM_CFG_H
#define SWIMRING_SWIM_CFG_H

#include "swimring/config.h"
#include "swimring/swim.h"

/* The section describing `cfg` (NULL for docs only). */
SR_API struct sr_cfg_section sr_swim_cfg_section(struct sr_swim_cfg *cfg);

#endif
