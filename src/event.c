/* event.c - stub, being written. */
#include "ob/event.h"
