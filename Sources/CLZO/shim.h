#include <lzo1x.h>

/* lzo_init() is a function-like macro, which Swift cannot call. */
static inline int clzo_init(void) { return lzo_init(); }
