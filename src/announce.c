/* announce.c - stub, being written. */
#include "ob/announce.h"
