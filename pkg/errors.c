/*
 * errors.c — the of_pkg error enum as text, and the message helpers every
 * validator uses to say what was wrong and what to do.
 */
#include <stdarg.h>
#include <stdio.h>

#include "pkg_internal.h"

const char *ofpkg_strerror(ofpkg_err err)
{
    switch (err) {
    case OFPKG_OK: return "success";
    case OFPKG_ERR_ARG: return "invalid argument";
    case OFPKG_ERR_IO: return "input/output error";
    case OFPKG_ERR_NOMEM: return "out of memory";
    case OFPKG_ERR_TRUNCATED: return "file is truncated";
    case OFPKG_ERR_MAGIC: return "unknown magic number";
    case OFPKG_ERR_CRC: return "header CRC mismatch";
    case OFPKG_ERR_LENGTH: return "lengths do not add up";
    case OFPKG_ERR_MD5: return "MD5 mismatch";
    case OFPKG_ERR_FIELD: return "impossible field value";
    case OFPKG_ERR_VERSION: return "versions contradict the declared ones";
    case OFPKG_ERR_FORMAT: return "malformed data";
    case OFPKG_ERR_UNSUPPORTED: return "unsupported format version or option";
    case OFPKG_ERR_HASH: return "SHA-256 mismatch";
    case OFPKG_ERR_SIGNATURE: return "signature does not verify";
    case OFPKG_ERR_KEY: return "unusable key";
    case OFPKG_ERR_CRYPTO: return "crypto library failure";
    case OFPKG_ERR_FAMILY: return "package for another firmware family or layout";
    case OFPKG_ERR_HWID: return "package for another hardware id";
    case OFPKG_ERR_ROLLBACK: return "release counter lower than the installed one";
    case OFPKG_ERR_BASE: return "delta made for another base image";
    case OFPKG_ERR_TOO_BIG: return "larger than allowed";
    case OFPKG_ERR_STATE: return "called in the wrong order";
    }
    return "unknown error";
}

void pkg__clear(char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
}

#ifndef OFPKG_NO_MESSAGES
ofpkg_err pkg__fail(char *msg, size_t msglen, ofpkg_err err, const char *fmt, ...)
{
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return err;
}
#endif
