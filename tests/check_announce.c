/* check_announce.c - stub, being written. */
#include "check_ob.h"

Suite *ob_suite_announce(void)
{
	return suite_create("announce");
}
