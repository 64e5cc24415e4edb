# Issue 11, safe on the public internet (server_hardening.py): check floods
# (per-device and per-address limits, 429 + Retry-After), the download cap,
# the loop guard counting delivered bytes, signed reports, no devices from
# unknown keys, history notes that are not valid UTF-8.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(TARGET openfota)
  set(_hardening_dev "")
  if(TARGET device_e2e_client)
    # the device library's signed status report, end to end
    set(_hardening_dev $<TARGET_FILE:device_e2e_client>)
  endif()
  add_test(NAME server_hardening
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_hardening.py $<TARGET_FILE:openfota>
            ${_hardening_dev})
  set_tests_properties(server_hardening PROPERTIES LABELS integration TIMEOUT 240)
endif()
