/* check_retain.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_retain(void)
{
	return suite_create("retain");
}
