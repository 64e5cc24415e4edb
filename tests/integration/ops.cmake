# Running openfota as a service (issue 9): health and readiness routes, the
# systemd notify protocol, the first-start token, `openfota backup` under
# load, `make install DESTDIR=` and the Debian package (see each script).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME ops_health COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ops_health.py $<TARGET_FILE:openfota>)
set_tests_properties(ops_health PROPERTIES LABELS integration TIMEOUT 180)
add_test(NAME ops_backup COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ops_backup.py $<TARGET_FILE:openfota>)
set_tests_properties(ops_backup PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME ops_install COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ops_install.py ${CMAKE_SOURCE_DIR}
  ${CMAKE_BINARY_DIR})
set_tests_properties(ops_install PROPERTIES LABELS integration TIMEOUT 300)
# Builds the Debian package (a release build of the program alone, about a
# minute on two cores) in the build folder, never in the source tree.
add_test(NAME ops_deb COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ops_deb.py ${CMAKE_SOURCE_DIR}
  ${CMAKE_BINARY_DIR}/ops-deb)
set_tests_properties(ops_deb PROPERTIES LABELS "integration;package" TIMEOUT 1500)
