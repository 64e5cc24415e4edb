# libFuzzer target of the delta patch decoder; corpus = its bad-input fixtures.
openfota_add_fuzz(fuzz_delta_patch SOURCE ${CMAKE_CURRENT_LIST_DIR}/delta_patch.c LIBS of_delta_patch
                  CORPUS ${OPENFOTA_FIXTURES}/bad/delta)
