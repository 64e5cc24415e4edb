# Integration tests of the update server (issue 2): each script starts the
# real `openfota serve` on 127.0.0.1 with a temp data folder and talks to it
# with exact device bytes, the admin API and the CLI (python3 stdlib only).
find_package(Python3 COMPONENTS Interpreter REQUIRED)

foreach(t basic check_params range upload http http_chaos isolation kill9 roles tls nginx ops)
  add_test(NAME server_${t}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_${t}.py $<TARGET_FILE:openfota>)
  set_tests_properties(server_${t} PROPERTIES LABELS integration TIMEOUT 180)
endforeach()
