#include "swimring/error.h"

const char *sr_strerror(int err)
{
    switch (err) {
#define SR_ERR_MSG(name, val, msg) case SR_##name: return msg;
        SR_ERRNO_MAP(SR_ERR_MSG)
#undef SR_ERR_MSG
    }
    return "unknown error";
}

const char *sr_err_name(int err)
{
    switch (err) {
#define SR_ERR_NAME(name, val, msg) case SR_##name: return "SR_" #name;
        SR_ERRNO_MAP(SR_ERR_NAME)
#undef SR_ERR_NAME
    }
    return "SR_UNKNOWN";
}
