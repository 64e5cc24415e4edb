# Push channels without the server: the fleet's TCP push listener and MQTT
# publisher on loopback, driven by tests/unit/fleet/fleet_push_itest.
if(TARGET fleet_push_itest)
  add_test(NAME fleet_push_accept COMMAND $<TARGET_FILE:fleet_push_itest> accept)
  # 2,000 connected devices, one fleet-wide push at a 200/s cap (~10 s)
  add_test(NAME fleet_push_rate COMMAND $<TARGET_FILE:fleet_push_itest> rate 2000 200)
  add_test(NAME fleet_push_abuse COMMAND $<TARGET_FILE:fleet_push_itest> abuse)
  # a push key on the listener: nonce, authenticated device, impostors refused
  add_test(NAME fleet_push_auth COMMAND $<TARGET_FILE:fleet_push_itest> auth)
  # a device streaming newlines never holds up another device's push (issue 11)
  add_test(NAME fleet_push_flood COMMAND $<TARGET_FILE:fleet_push_itest> flood)
  add_test(NAME fleet_push_mqtt
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/fleet_mqtt.sh $<TARGET_FILE:fleet_push_itest>)
  set_tests_properties(fleet_push_accept fleet_push_flood fleet_push_rate fleet_push_abuse fleet_push_auth fleet_push_mqtt
    PROPERTIES LABELS integration TIMEOUT 120)
  # the rate and abuse tests open thousands of sockets: not both at once
  set_tests_properties(fleet_push_rate fleet_push_abuse PROPERTIES RESOURCE_LOCK fleet_many_sockets)
endif()
