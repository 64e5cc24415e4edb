# The PostgreSQL backend (`serve --db`): one throw-away cluster started by
# scripts/pg.sh serves every test here (CTest fixture "pg"), then is deleted.
# The key suites of server.cmake run a second time on it (the harness sees
# OPENFOTA_TEST_PG and gives each server a database of its own).
set(OF_PG_DIR ${CMAKE_BINARY_DIR}/pg-test)
add_test(NAME pg_cluster_start COMMAND ${CMAKE_SOURCE_DIR}/scripts/pg.sh start ${OF_PG_DIR})
set_tests_properties(pg_cluster_start PROPERTIES FIXTURES_SETUP pg LABELS integration TIMEOUT 120)
add_test(NAME pg_cluster_stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/pg.sh stop ${OF_PG_DIR})
set_tests_properties(pg_cluster_stop PROPERTIES FIXTURES_CLEANUP pg LABELS integration TIMEOUT 60)

foreach(t basic check_params range upload roles ops)
  add_test(NAME server_${t}_pg
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_${t}.py $<TARGET_FILE:openfota>)
  set_tests_properties(server_${t}_pg PROPERTIES FIXTURES_REQUIRED pg ENVIRONMENT OPENFOTA_TEST_PG=${OF_PG_DIR}
    LABELS integration TIMEOUT 300)
endforeach()

# The database stopped and started again under a running server (a cluster of
# its own: stopping the shared one would disturb the suites above).
add_test(NAME server_pg_outage
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/server_pg_outage.py $<TARGET_FILE:openfota>)
set_tests_properties(server_pg_outage PROPERTIES LABELS integration TIMEOUT 300)

# `openfota db copy`: an installation moved from SQLite, compared row by row.
add_test(NAME db_copy COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/db_copy.py $<TARGET_FILE:openfota>)
set_tests_properties(db_copy PROPERTIES FIXTURES_REQUIRED pg ENVIRONMENT OPENFOTA_TEST_PG_CLUSTER=${OF_PG_DIR}
  LABELS integration TIMEOUT 300)

# Schema migrations: a database made by every earlier schema version
# (tests/fixtures/schema/) on both backends; two nodes starting together.
add_test(NAME store_migrate COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/store_migrate.py $<TARGET_FILE:openfota>)
set_tests_properties(store_migrate PROPERTIES FIXTURES_REQUIRED pg ENVIRONMENT OPENFOTA_TEST_PG_CLUSTER=${OF_PG_DIR}
  LABELS integration TIMEOUT 300)
