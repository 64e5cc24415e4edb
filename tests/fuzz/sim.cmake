# Fuzz target of of_sim: the response head parser and the JSON code reader
# (what a server answers to a simulated device).
openfota_add_fuzz(fuzz_sim_http SOURCE ${CMAKE_CURRENT_LIST_DIR}/sim_http.c
  LIBS of_sim CORPUS ${OPENFOTA_FIXTURES}/bad/sim_http)
target_include_directories(fuzz_sim_http PRIVATE ${CMAKE_SOURCE_DIR}/sim)
