/* store.c - stub, being written. */
#include "ob/store.h"
