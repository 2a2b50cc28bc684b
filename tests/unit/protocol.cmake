hls_unit_test(err hlsproto)
hls_unit_test(mp hlsproto)
hls_unit_test(text hlsproto)
hls_unit_test(date hlsproto)
hls_unit_test(record hlsproto)
hls_unit_test(nodeid hlsproto)
hls_unit_test(cursor hlsproto)
hls_unit_test(addr hlsproto)
hls_unit_test(ctl hlsproto)
hls_unit_test(methods hlsproto)
hls_unit_test(disclosure hlsproto)
hls_unit_test(envelope hlsproto PkgConfig::JANSSON)
# The known-answer vectors test_envelope rebuilds (argv[1] overrides).
target_compile_definitions(test_envelope PRIVATE
  HLS_ENVELOPE_VECTORS="${PROJECT_SOURCE_DIR}/docs/test-vectors/envelopes.json")
# Prints docs/test-vectors/envelopes.json; run by hand, never by ctest.
add_executable(make_vectors ${CMAKE_CURRENT_LIST_DIR}/make_vectors.c)
target_link_libraries(make_vectors PRIVATE hlsproto PkgConfig::JANSSON hls_warnings)
# The envelope and gossip vectors checked without our C code (python3 +
# openssl, from docs/protocol.md). A missing python3 makes the tests fail
# ("could not find executable"); the script fails without openssl. The
# self-test proves the checks refuse mutated vectors (about 1,700 copies).
find_program(HLS_PYTHON3 python3)
add_test(NAME unit.vectors_independent
  COMMAND ${HLS_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_vectors.py
          ${PROJECT_SOURCE_DIR}/docs/test-vectors/envelopes.json
          ${PROJECT_SOURCE_DIR}/docs/test-vectors/gossip.json)
set_tests_properties(unit.vectors_independent PROPERTIES TIMEOUT 120 LABELS unit)
add_test(NAME unit.vectors_independent_selftest
  COMMAND ${HLS_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_vectors.py --self-test
          ${PROJECT_SOURCE_DIR}/docs/test-vectors/envelopes.json
          ${PROJECT_SOURCE_DIR}/docs/test-vectors/gossip.json)
set_tests_properties(unit.vectors_independent_selftest PROPERTIES TIMEOUT 300 LABELS unit)
hls_unit_test(shs hlsproto PkgConfig::JANSSON)
target_compile_definitions(test_shs PRIVATE HLS_SHS_VECTORS="${PROJECT_SOURCE_DIR}/docs/test-vectors/shs.json")
hls_unit_test(boxstream hlsproto)
hls_unit_test(wire hlsproto)
hls_unit_test(invite hlsproto)
# Known-answer gossip frames: test_gossip_vectors --write FILE regenerates
# docs/test-vectors/gossip.json (run by hand; review the diff).
hls_unit_test(gossip_vectors hlsproto PkgConfig::JANSSON)
target_compile_definitions(test_gossip_vectors PRIVATE
  HLS_ENVELOPE_VECTORS="${PROJECT_SOURCE_DIR}/docs/test-vectors/envelopes.json"
  HLS_GOSSIP_VECTORS="${PROJECT_SOURCE_DIR}/docs/test-vectors/gossip.json")
hls_unit_test(gossip hlsproto)
hls_unit_test(items hlsproto)
hls_unit_test(patterns hlsproto)
# The engine's statistics (protocol/patterns_internal.h), against
# references written in the test.
hls_unit_test(patterns_stats hlsproto)
target_include_directories(test_patterns_stats PRIVATE ${PROJECT_SOURCE_DIR}/protocol)
# Cross-place patterns on generated data with planted patterns (tests/gen).
# "test_patterns_planted --measure N" prints detection and false-alarm rates.
hls_unit_test(patterns_planted hlsproto placegen)
# The generator itself: null mode, modest plants, background options.
hls_unit_test(placegen hlsproto placegen)
# bench_signal's scoring rules (tests/bench/signal_score.c), on hand-made
# plants and patterns.
hls_unit_test(signal_score)
target_sources(test_signal_score PRIVATE ${PROJECT_SOURCE_DIR}/tests/bench/signal_score.c)
target_include_directories(test_signal_score PRIVATE ${PROJECT_SOURCE_DIR}/tests/bench)
# Smoke test of the generator's chain writer (tests/gen/hls_gen_items.c).
hls_unit_test(gen_items hlsproto PkgConfig::JANSSON)
target_compile_definitions(test_gen_items PRIVATE HLS_GEN_ITEMS="$<TARGET_FILE:hls_gen_items>")
add_dependencies(test_gen_items hls_gen_items)
