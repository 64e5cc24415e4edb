# Rollouts that tell the truth (rollout_truth.py): held-back devices get code
# 60 with the reason in their history and count as held in the simulator;
# webhooks (paused, finished, banned) reach a local receiver, signed and
# retried, and a failing one is dropped after its tries; draft packages are
# offered only through their rollout or after a release.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(TARGET openfota)
  foreach(scenario held webhooks drafts)
    add_test(NAME rollout_truth_${scenario}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/rollout_truth.py $<TARGET_FILE:openfota> ${scenario})
    set_tests_properties(rollout_truth_${scenario} PROPERTIES LABELS integration TIMEOUT 150)
  endforeach()
endif()
