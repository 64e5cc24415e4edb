# End-to-end: a device built on the device library (tests/unit/device/
# e2e_client.c) against the real server: see device_e2e.py.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(TARGET device_e2e_client)
  foreach(scenario libfota2 agent agent_delta)
    add_test(NAME device_e2e_${scenario}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/device_e2e.py
              $<TARGET_FILE:openfota> $<TARGET_FILE:device_e2e_client> ${scenario})
    set_tests_properties(device_e2e_${scenario} PROPERTIES LABELS integration TIMEOUT 120)
  endforeach()
endif()
