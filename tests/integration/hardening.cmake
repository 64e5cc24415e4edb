# Issue 11: HTTP-engine and storage holes (empty-line deadline, absolute-form
# targets, auth scheme case, report answers, file modes, symlinks in blobs/,
# orphaned blobs, out of file descriptors, the open-file limit at start), and
# a full disk (a size-capped tmpfs: needs root to mount; skipped otherwise).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME server_hardening
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_hardening.py $<TARGET_FILE:openfota>)
add_test(NAME server_diskfull
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_diskfull.py $<TARGET_FILE:openfota>)
set_tests_properties(server_hardening server_diskfull PROPERTIES LABELS integration TIMEOUT 180)
set_tests_properties(server_diskfull PROPERTIES SKIP_RETURN_CODE 77)

# Issue 11, floods held off (server_limits.py): per-device and per-address
# check limits (429 + Retry-After), the download cap, the loop guard counting
# delivered bytes, signed reports, no devices from unknown keys, history
# notes that are not valid UTF-8.
if(TARGET openfota)
  set(_limits_dev "")
  if(TARGET device_e2e_client)
    # the device library's signed status report, end to end
    set(_limits_dev $<TARGET_FILE:device_e2e_client>)
  endif()
  add_test(NAME server_limits
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_limits.py $<TARGET_FILE:openfota> ${_limits_dev})
  set_tests_properties(server_limits PROPERTIES LABELS integration TIMEOUT 240)
endif()
