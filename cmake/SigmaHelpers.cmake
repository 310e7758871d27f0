# sigma_add_library(NAME SOURCES ... DEPS ...): a static library rooted at the project root, so
# includes read "engine/base/status.h".
function(sigma_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# sigma_add_test(NAME SOURCES ... DEPS ... LABELS ...): one GoogleTest binary, its cases discovered
# into CTest with the given labels (unit, e2e, gpu, slow). Tests run from the build folder with
# SIGMA_SOURCE_DIR and SIGMA_TEST_DATA pointing at the repository.
function(sigma_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    SIGMA_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SIGMA_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data"
    SIGMA_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()

# sigma_add_benchmark(NAME SOURCES ... DEPS ...): a Google Benchmark program (not run by CTest).
function(sigma_add_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
