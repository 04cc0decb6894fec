/*
 * The last error message (DESIGN section 3: code that reads files or user
 * input returns a status and sets a message; it never exits).
 */
#include "nnlab/error.h"
#include <stdarg.h>
#include <stdio.h>

/* Thread-local so that two threads reading files never mix messages. */
static _Thread_local char message[512];

const char *nn_last_error(void)
{
    return message;
}

nn_status nn_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return NN_ERROR;
}

void nn_clear_error(void)
{
    message[0] = '\0';
}
