/* sns.c - stub, being written. */
#include "ob/sns.h"
