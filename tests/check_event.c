/* check_event.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_event(void)
{
	return suite_create("event");
}
