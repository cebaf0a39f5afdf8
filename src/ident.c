/* ident.c - stub, being written. */
#include "ob/ident.h"
