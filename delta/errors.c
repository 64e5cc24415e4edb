/* errors.c — ofdelta_strerror: what went wrong and what to do about it. */
#include "ofdelta.h"

const char *ofdelta_strerror(ofdelta_err err)
{
    switch (err) {
    case OFDELTA_OK: return "success";
    case OFDELTA_ERR_ARG: return "invalid argument (a required pointer is missing or an option is out of range)";
    case OFDELTA_ERR_NOMEM: return "out of memory";
    case OFDELTA_ERR_TOO_BIG: return "image larger than 1 GiB; the delta engine handles images up to 1 GiB";
    case OFDELTA_ERR_MAGIC: return "not an openfota delta patch (bad magic); check that the right file was given";
    case OFDELTA_ERR_VERSION: return "patch made by a newer delta format version; update the patcher";
    case OFDELTA_ERR_HEADER: return "patch header damaged or out of bounds; download the patch again";
    case OFDELTA_ERR_WORKSPACE: return "patch needs more patcher memory than given; make it with a smaller --window";
    case OFDELTA_ERR_BASE_SIZE: return "old image has another size than the patch was made for; use the matching base or a full image";
    case OFDELTA_ERR_BASE_HASH: return "old image differs from the one the patch was made for (SHA-256 mismatch); use the matching base or a full image";
    case OFDELTA_ERR_FRAME_CRC: return "patch data damaged (frame CRC mismatch); download the patch again";
    case OFDELTA_ERR_CORRUPT: return "patch data invalid (a length or offset out of bounds); the patch is damaged or forged";
    case OFDELTA_ERR_TRUNCATED: return "patch ended early; download the rest of it";
    case OFDELTA_ERR_TRAILING: return "more data than the patch declares; check the download length";
    case OFDELTA_ERR_RESULT_HASH: return "result SHA-256 does not match the patch; the result must not be used";
    case OFDELTA_ERR_IO: return "reading the old image or writing the new one failed";
    case OFDELTA_ERR_STATE: return "patcher already finished or failed; start a new apply";
    case OFDELTA_ERR_SAVED: return "saved patcher state damaged or from another build; restart the apply from the beginning";
    case OFDELTA_ERR_LZMA: return "LZMA encoder failed";
    }
    return "unknown delta engine error";
}
