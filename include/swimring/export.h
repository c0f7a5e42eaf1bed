/* Symbol visibility for the public API. The library builds with
 * -fvisibility=hidden; only declarations marked SR_API are exported. */
#ifndef SWIMRING_EXPORT_H
#define SWIMRING_EXPORT_H

#if defined(SR_BUILDING_LIB)
#define SR_API __attribute__((visibility("default")))
#else
#define SR_API
#endif

#endif
