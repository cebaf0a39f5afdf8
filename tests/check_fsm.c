/* check_fsm.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_fsm(void)
{
	return suite_create("fsm");
}
