# Helpers that keep each directory's CMakeLists.txt one-to-one with its
# BUILD.bazel.

# Warnings are errors for the project's own code only.
set(PERSIST_WARNINGS -Wall -Wextra -Werror)

# persist_library(NAME name [STATIC] [SRCS ...] [DEPS ...])
# Defines persist_<name> with the alias persist::<name>, include root at the
# repository top (#include "hamt/map.h"), and installs it. Without SRCS the
# library is header-only (INTERFACE). STATIC: never shared, whatever
# BUILD_SHARED_LIBS says (Bazel's linkstatic = True).
function(persist_library)
  cmake_parse_arguments(ARG "STATIC" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target persist_${ARG_NAME})
  if(ARG_SRCS)
    if(ARG_STATIC)
      add_library(${target} STATIC ${ARG_SRCS})
    else()
      add_library(${target} ${ARG_SRCS})
    endif()
    target_compile_options(${target} PRIVATE ${PERSIST_WARNINGS})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_features(${target} PUBLIC cxx_std_17)
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_NAME}
      POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    target_include_directories(${target} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_features(${target} INTERFACE cxx_std_17)
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_NAME})
  endif()
  add_library(persist::${ARG_NAME} ALIAS ${target})
  if(PERSIST_INSTALL)
    install(TARGETS ${target} EXPORT persistTargets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    foreach(header ${ARG_HDRS})
      get_filename_component(dir ${header} DIRECTORY)
      file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${dir})
      install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${rel})
    endforeach()
  endif()
endfunction()

# persist_test(NAME name SRCS ... [DEPS ...])
# A GoogleTest binary registered with CTest (one CTest entry per binary).
function(persist_test)
  if(NOT PERSIST_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${PERSIST_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
endfunction()

# persist_benchmark(NAME name SRCS ... [DEPS ...])
function(persist_benchmark)
  if(NOT PERSIST_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${PERSIST_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark_main)
endfunction()
