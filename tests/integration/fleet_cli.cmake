# `openfota push` / `openfota rollout` against a recording stand-in for the
# admin API (fleet_cli.py): requests sent, output, exit statuses, lookup of
# the server URL and token.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(TARGET openfota)
  add_test(NAME fleet_cli
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/fleet_cli.py $<TARGET_FILE:openfota>)
  set_tests_properties(fleet_cli PROPERTIES LABELS integration TIMEOUT 120)
endif()
