# GET /metrics parsed with Prometheus' own text-format parser (Debian's
# python3-prometheus-client, importable only by the system interpreter, hence
# /usr/bin/python3) and GET /admin/v1/stats, after a known set of checks,
# deliveries, a cut download and failed upgrades: see server_metrics.py.
if(TARGET openfota)
  add_test(NAME server_metrics
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/server_metrics.py $<TARGET_FILE:openfota>)
  set_tests_properties(server_metrics PROPERTIES LABELS integration TIMEOUT 180)
endif()
