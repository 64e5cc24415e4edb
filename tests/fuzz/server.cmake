# Fuzz targets of the update server's parsers (libFuzzer, clang build only).
# Corpora are the bad-input fixture folders of each parser.
set(SRV_FUZZ ${CMAKE_CURRENT_LIST_DIR})
set(SRV_BAD ${CMAKE_SOURCE_DIR}/tests/fixtures/bad)
openfota_add_fuzz(fuzz_server_query SOURCE ${SRV_FUZZ}/server_query.c LIBS of_server_parsers CORPUS ${SRV_BAD}/query)
openfota_add_fuzz(fuzz_server_version SOURCE ${SRV_FUZZ}/server_version.c LIBS of_server_parsers CORPUS ${SRV_BAD}/query)
openfota_add_fuzz(fuzz_server_range SOURCE ${SRV_FUZZ}/server_range.c LIBS of_server_parsers CORPUS ${SRV_BAD}/range)
openfota_add_fuzz(fuzz_server_config SOURCE ${SRV_FUZZ}/server_config.c LIBS of_server_parsers CORPUS ${SRV_BAD}/config)
openfota_add_fuzz(fuzz_server_http_head SOURCE ${SRV_FUZZ}/server_http_head.c LIBS of_server_parsers CORPUS ${SRV_BAD}/http_request)
openfota_add_fuzz(fuzz_server_xff SOURCE ${SRV_FUZZ}/server_xff.c LIBS of_server_parsers CORPUS ${SRV_BAD}/xff)
