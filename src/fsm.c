/* fsm.c - stub, being written. */
#include "ob/fsm.h"
