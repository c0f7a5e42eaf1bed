/* FarmHash Fingerprint32, written for swimring from the published algorithm
 * (farmhashmk's Hash32). It places keys and replica points exactly as
 * ringpop-go and ringpop-node do; tests/vectors/farmhash32.tsv holds
 * reference values made by Google's implementation. The result is the same
 * on every platform (byte loads are little-endian by construction). */
#ifndef SWIMRING_FARMHASH_H
#define SWIMRING_FARMHASH_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

SR_API uint32_t sr_farmhash_fingerprint32(const void *data, size_t len);

#endif
