# Fuzz target of the web console's parsers of outside input (Cookie header,
# login body, Origin); corpus = tests/fixtures/bad/console.
openfota_add_fuzz(fuzz_console_parse SOURCE ${CMAKE_CURRENT_LIST_DIR}/console_parse.c LIBS of_console_parse
                  CORPUS ${OPENFOTA_FIXTURES}/bad/console)
