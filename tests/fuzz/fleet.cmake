# fleet fuzz targets: the TCP push first-line parser, and the admin router
# with stored-state readers. Corpora are the bad-input fixture folders.
get_filename_component(_fleet_src ${CMAKE_CURRENT_LIST_DIR}/../../fleet ABSOLUTE)
openfota_add_fuzz(fleet_fuzz_push SOURCE ${CMAKE_CURRENT_LIST_DIR}/fleet_fuzz_push.c
  LIBS of_fleet CORPUS ${CMAKE_CURRENT_LIST_DIR}/../fixtures/bad/push)
target_include_directories(fleet_fuzz_push PRIVATE ${_fleet_src})
openfota_add_fuzz(fleet_fuzz_admin SOURCE ${CMAKE_CURRENT_LIST_DIR}/fleet_fuzz_admin.c
  LIBS of_fleet CORPUS ${CMAKE_CURRENT_LIST_DIR}/../fixtures/bad/fleet-admin)
target_include_directories(fleet_fuzz_admin PRIVATE ${_fleet_src})
