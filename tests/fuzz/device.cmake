# Device library fuzz targets (libFuzzer; clang fuzz build only).
#   device_http_response: the HTTP response parser, split at a fuzzed point
#   device_push_line:     the one-line push JSON parser
#   device_request_build: the libfota2 request builder with fuzzed options
openfota_add_fuzz(device_http_response SOURCE ${CMAKE_CURRENT_LIST_DIR}/device_http_response.c
  LIBS of_device CORPUS ${OPENFOTA_FIXTURES}/bad/http_response)
openfota_add_fuzz(device_push_line SOURCE ${CMAKE_CURRENT_LIST_DIR}/device_push_line.c
  LIBS of_device CORPUS ${OPENFOTA_FIXTURES}/bad/device_push)
openfota_add_fuzz(device_request_build SOURCE ${CMAKE_CURRENT_LIST_DIR}/device_request_build.c
  LIBS of_device CORPUS ${OPENFOTA_FIXTURES}/bad/device_push)
#   device_bootstate:     the boot-state record read back from flash
openfota_add_fuzz(device_bootstate SOURCE ${CMAKE_CURRENT_LIST_DIR}/device_bootstate.c
  LIBS of_device CORPUS ${OPENFOTA_FIXTURES}/bad/device_bootstate)
