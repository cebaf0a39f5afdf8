/* check_store.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_store(void)
{
	return suite_create("store");
}
