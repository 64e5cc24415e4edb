# Push and staged rollouts end to end with the real server and the simulator
# (see fleet_e2e.py): the acceptance line on the push port, 2,000 devices at
# the rate cap, PSM devices that sleep through a push, a package that does not
# boot (the rollout pauses itself in its first stage), a good one (100%), and
# device authentication on the push port (--push-key-file).
# fleet_e2e.py fails, never skips, when the server lacks the push port or the
# fleet routes.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(TARGET openfota)
  foreach(scenario accept rate psm noboot good auth)
    set(_fleet_e2e_dev "")
    if(scenario STREQUAL "auth" AND TARGET device_e2e_client)
      # the device library's push listener with its push key, too
      set(_fleet_e2e_dev $<TARGET_FILE:device_e2e_client>)
    endif()
    add_test(NAME fleet_e2e_${scenario}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/fleet_e2e.py $<TARGET_FILE:openfota> ${scenario}
              ${_fleet_e2e_dev})
    set_tests_properties(fleet_e2e_${scenario} PROPERTIES LABELS integration TIMEOUT 150)
  endforeach()
  set_tests_properties(fleet_e2e_rate PROPERTIES RESOURCE_LOCK fleet_many_sockets)
endif()
