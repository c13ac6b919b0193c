/* Status codes shared by every module: 0 is success, negatives are failures,
 * and AGAIN (more input or time needed) is kept distinct from failure. */
#ifndef CACHELY_CORE_STATUS_H
#define CACHELY_CORE_STATUS_H

enum status {
    STATUS_OK = 0,
    STATUS_ERR = -1,     /* generic failure; details in a module's error field */
    STATUS_AGAIN = -2,   /* not finished: feed more bytes / try later */
    STATUS_NOMEM = -3,   /* allocation or memory limit */
    STATUS_INVAL = -4,   /* invalid argument from a caller or a client */
    STATUS_NOTFOUND = -5,
    STATUS_EXISTS = -6,
    STATUS_RANGE = -7,   /* numeric overflow or out of range */
};

#endif
