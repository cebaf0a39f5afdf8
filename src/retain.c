/* retain.c - stub, being written. */
#include "ob/retain.h"
