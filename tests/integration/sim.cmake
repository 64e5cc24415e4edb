# End-to-end checks of `openfota sim` against the real server (`openfota
# serve` on 127.0.0.1, port chosen by the kernel): see sim_e2e.py.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
foreach(scenario upgrade resume noboot)
  add_test(NAME sim_e2e_${scenario}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/sim_e2e.py $<TARGET_FILE:openfota> ${scenario})
  set_tests_properties(sim_e2e_${scenario} PROPERTIES LABELS integration TIMEOUT 150)
endforeach()
