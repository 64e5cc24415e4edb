# Delta serving for signed packages (issue 4, "Server integration"): the real
# `openfota serve` with a signing key, packages made with `openfota package
# keygen|sign`, deltas checked with `openfota package verify` and
# `openfota delta apply` (python3 stdlib only).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME server_delta
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_delta.py $<TARGET_FILE:openfota>)
set_tests_properties(server_delta PROPERTIES LABELS integration TIMEOUT 240)
