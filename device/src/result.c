/*
 * result.c — libfota2 result codes and the error texts of of_device.
 *
 * fota_result_from_http() is the single place where an exchange's outcome
 * becomes one of libfota2's six numbers; the table is in fota.h and in
 * docs/device-library.md.
 */
#include "fota_internal.h"

int fota_result_from_http(int err, int status, uint64_t body_len)
{
  switch (err) {
  case FOTA_OK:
    if ((status == 200 || status == 206) && body_len > 0)
      return FOTA_RESULT_OK;
    return FOTA_RESULT_RECV;
  case FOTA_ERR_CONNECT:
  case FOTA_ERR_URL:
  case FOTA_ERR_TLS:
    return FOTA_RESULT_CONNECT;
  case FOTA_ERR_CLOSED_HEADERS:
    return FOTA_RESULT_CLOSED;
  case FOTA_ERR_VERSION:
  case FOTA_ERR_NO_PROJECT_KEY:
  case FOTA_ERR_NO_IDENTITY:
    return FOTA_RESULT_VERSION;
  default:
    return FOTA_RESULT_RECV;
  }
}

const char *fota_strerror(int err)
{
  switch (err) {
  case FOTA_OK: return "success";
  case FOTA_ERR_INVAL: return "invalid argument: a required option is missing or malformed (check method, headers, firmware_name)";
  case FOTA_ERR_TOOBIG: return "a field does not fit its buffer: shorten the URL/headers or give a larger buffer";
  case FOTA_ERR_URL: return "bad URL: use http://host[:port]/path? or https://..., without CR/LF";
  case FOTA_ERR_NO_PROJECT_KEY: return "no project_key: set opts.project_key or prefix the URL with ### (result 5)";
  case FOTA_ERR_VERSION: return "version missing or not X.Y.Z digits: set opts.version, e.g. from fota_version_string (result 5)";
  case FOTA_ERR_NO_IDENTITY: return "no device identity: set opts.imei (cellular) or opts.mac (Wi-Fi/MCU)";
  case FOTA_ERR_CONNECT: return "could not connect: check host name, port and network (result 1)";
  case FOTA_ERR_TLS: return "TLS failed: check the server CA, client certificate/key/password, or TLS is not built in";
  case FOTA_ERR_TIMEOUT: return "timed out: the server did not answer in time (result 4)";
  case FOTA_ERR_CLOSED_HEADERS: return "server closed the connection before/inside the response headers: check its allow-list (result 3)";
  case FOTA_ERR_CLOSED_BODY: return "server closed the connection before the whole body arrived; retry (resume in agent mode)";
  case FOTA_ERR_IO: return "network send/receive error";
  case FOTA_ERR_PROTOCOL: return "malformed HTTP response (status line, header or chunk framing)";
  case FOTA_ERR_HTTP_STATUS: return "server answered a status other than 200/206: no upgrade, or an error (result 4)";
  case FOTA_ERR_EMPTY: return "server answered 200/206 with an empty body: the package file is missing or empty (result 4)";
  case FOTA_ERR_TOO_LARGE: return "package larger than the announced length or the slot: refused";
  case FOTA_ERR_HASH: return "package hash mismatch: the download is corrupt; it was not made bootable";
  case FOTA_ERR_STORAGE: return "flash erase/write/read failed";
  case FOTA_ERR_BUSY: return "an update is already running; trigger ignored";
  case FOTA_ERR_UNSUPPORTED: return "feature not built into this library (TLS, delta or signature check)";
  case FOTA_ERR_CHANGED: return "the package changed on the server while resuming: restarted from zero";
  case FOTA_ERR_BOOTSTATE: return "no valid boot-state record or image";
  case FOTA_ERR_SIGNATURE: return "package signature or install policy check failed: not installed";
  case FOTA_ERR_DELTA: return "delta package could not be applied (wrong base image or corrupt delta)";
  case FOTA_ERR_NOT_FOUND: return "nothing pending to confirm";
  case FOTA_ERR_DELTA_PENDING: return "the server is still making the delta package (503, code 43) after the allowed waits: check again later (result 4)";
  default: return "unknown error";
  }
}
