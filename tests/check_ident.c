/* check_ident.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_ident(void)
{
	return suite_create("ident");
}
