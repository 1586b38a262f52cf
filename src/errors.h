/*
 * errors.h - the core's result codes. Fallible core functions return 0 or one of these
 * negative values; the N-API glue maps each to a JS error class and a stable code string
 * (mirrored in lib/errors.ts). The table is the single source: keep both sides in step.
 *
 *   code              JS class     JS code
 *   RP_EINVAL         TypeError    ERR_RINGPOOL_INVALID_ARG_TYPE
 *   RP_ERANGE         RangeError   ERR_RINGPOOL_OUT_OF_RANGE
 *   RP_ELAYOUT        TypeError    ERR_RINGPOOL_BAD_LAYOUT     (magic, version or size wrong)
 *   RP_EALIGN         RangeError   ERR_RINGPOOL_MISALIGNED
 *   RP_EFULL          RangeError   ERR_RINGPOOL_FULL
 *   RP_ETOOBIG        RangeError   ERR_RINGPOOL_TOO_LARGE      (can never fit)
 *   RP_ESTATE         Error        ERR_RINGPOOL_INVALID_STATE  (e.g. freeing a free slot)
 *   RP_ENOMEM         Error        ERR_RINGPOOL_NO_MEMORY
 *   RP_EINTR          Error        ERR_RINGPOOL_INTERRUPTED    (thread is being terminated)
 * Non-error outcomes of waits are not errors: see wait.h.
 */
#ifndef RP_ERRORS_H
#define RP_ERRORS_H

#define RP_EINVAL (-1)
#define RP_ERANGE (-2)
#define RP_ELAYOUT (-3)
#define RP_EALIGN (-4)
#define RP_EFULL (-5)
#define RP_ETOOBIG (-6)
#define RP_ESTATE (-7)
#define RP_ENOMEM (-8)
#define RP_EINTR (-9)

#endif
