# `openfota sim` against a scripted server (result table, wire bytes, resume,
# loops, versions, time compression, exit statuses): see sim_fake_check.py.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
foreach(scenario table wire resume loop luat periodic psm faults cli)
  add_test(NAME sim_fake_${scenario}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/sim_fake_check.py $<TARGET_FILE:openfota> ${scenario})
  set_tests_properties(sim_fake_${scenario} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()
