/*
 * Transition shim: the shared helpers moved into k5_check.h (one header for
 * every helper a rule may call). Include "k5_check.h"; this file goes away.
 */
#include "k5_check.h"
