#include "CMediaShim.h"

int hearth_vips_init(void) {
    return VIPS_INIT("hearth");
}
