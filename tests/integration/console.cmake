# The web console (server/console/):
#   console_session  login cookie flags, anti-forgery refusals, logout, asset
#                    headers, the device list's paging/filters/search (stdlib)
#   console_i18n     both string catalogs hold the same keys, every key used exists
#   console_e2e      a real browser (Debian's chromium headless through
#                    chromium-driver and python3-selenium, hence /usr/bin/python3)
#                    walks an operator's day; screenshots in console-shots/
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME console_session
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/console_session.py $<TARGET_FILE:openfota>)
add_test(NAME console_i18n
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/console_i18n.py ${CMAKE_SOURCE_DIR}/server/console/assets)
add_test(NAME console_e2e
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/console_e2e.py $<TARGET_FILE:openfota> ${CMAKE_BINARY_DIR}/console-shots)
set_tests_properties(console_session console_i18n console_e2e PROPERTIES LABELS integration TIMEOUT 300)
