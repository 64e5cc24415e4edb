# The console's assets (console/assets/) become a C table at build time:
# embed_assets (a tiny host program built here) writes console_assets.c.
# Nothing is downloaded; the chart library is kept in assets/vendor/.
add_executable(embed_assets ${CMAKE_CURRENT_LIST_DIR}/embed_assets.c)
file(GLOB_RECURSE CONSOLE_ASSET_FILES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/assets/*)
list(SORT CONSOLE_ASSET_FILES)
set(CONSOLE_ASSETS_C ${CMAKE_CURRENT_BINARY_DIR}/console_assets.c)
add_custom_command(OUTPUT ${CONSOLE_ASSETS_C}
  COMMAND embed_assets ${CONSOLE_ASSETS_C} ${CMAKE_CURRENT_LIST_DIR}/assets ${CONSOLE_ASSET_FILES}
  DEPENDS embed_assets ${CONSOLE_ASSET_FILES}
  COMMENT "Embedding the console's assets"
  VERBATIM)
