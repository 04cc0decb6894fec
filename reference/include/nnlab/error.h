/**
 * @file error.h
 * @brief Status codes and the last error message.
 *
 * Every nnlab function that can fail on bad input (a file, a flag, a
 * malformed specification) returns a status and records a one-line message
 * that names the problem. The library never prints, aborts or exits on bad
 * input: the caller decides what to do with the message.
 */
#ifndef NNLAB_ERROR_H
#define NNLAB_ERROR_H

/** Status returned by functions that can fail. */
typedef enum {
    NN_OK = 0,      /**< success */
    NN_ERROR = -1   /**< failure; nn_last_error() tells why */
} nn_status;

/**
 * @brief The message of the most recent failure in this thread.
 * @return a NUL-terminated string owned by the library; "" when no error has
 *         been recorded. Valid until the next failing call.
 */
const char *nn_last_error(void);

/**
 * @brief Record a failure message (printf-style) and return NN_ERROR.
 *
 * Library code writes `return nn_fail("cannot open %s", path);`.
 * @param fmt printf format of the message
 * @return always NN_ERROR
 */
nn_status nn_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/** @brief Forget the recorded message (nn_last_error() returns ""). */
void nn_clear_error(void);

#endif
