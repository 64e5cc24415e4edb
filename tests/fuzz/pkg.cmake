# Fuzz targets of of_pkg (built only with -DOPENFOTA_FUZZ=ON under clang).
openfota_add_fuzz(fuzz_pkg_luatbin SOURCE ${CMAKE_CURRENT_LIST_DIR}/pkg_luatbin.c
  LIBS of_pkg CORPUS ${OPENFOTA_FIXTURES}/bad/luatbin)
openfota_add_fuzz(fuzz_pkg_manifest SOURCE ${CMAKE_CURRENT_LIST_DIR}/pkg_manifest.c
  LIBS of_pkg_device CORPUS ${OPENFOTA_FIXTURES}/bad/manifest)
