# Installation of weft: headers, the static (weft::weft) and shared (weft::weft_shared)
# libraries, a CMake package (find_package(weft)) and a pkg-config file (weft.pc).
# Included from the root CMakeLists.txt after the library targets are defined.
#
# The libraries are built from the object library weft_obj through
# $<TARGET_OBJECTS:weft_obj>, not by linking it, so weft_obj is not part of any
# link interface and is not exported.

include(CMakePackageConfigHelpers)

set(WEFT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/weft)

# Objects compiled with -fsanitize need the sanitizer runtime in the final link, so an
# instrumented build tells its consumers so (CMake package and pkg-config alike).
set(WEFT_PC_SANITIZE "")
if(WEFT_SANITIZE)
  foreach(t weft weft_shared)
    set_property(TARGET ${t} APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 $<INSTALL_INTERFACE:-fsanitize=${WEFT_SANITIZE}>)
  endforeach()
  set(WEFT_PC_SANITIZE " -fsanitize=${WEFT_SANITIZE}")
endif()

install(FILES ${PROJECT_SOURCE_DIR}/include/weft.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT weft_dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/weft/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weft COMPONENT weft_dev
        FILES_MATCHING PATTERN "*.h")

install(TARGETS weft weft_shared EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_runtime
          NAMELINK_COMPONENT weft_dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT weft_runtime)

# The static library's exported link interface names PkgConfig::URING, PkgConfig::CK,
# PkgConfig::JEMALLOC (when used) and Threads::Threads; weftConfig.cmake re-creates
# them before loading weftTargets.cmake.
install(EXPORT weftTargets NAMESPACE weft:: FILE weftTargets.cmake
        DESTINATION ${WEFT_CMAKE_INSTALL_DIR} COMPONENT weft_dev)

# Build-tree export: find_package(weft) works with CMAKE_PREFIX_PATH=<build dir>
# too (only the targets; the package config below is for the install tree).
export(EXPORT weftTargets NAMESPACE weft:: FILE ${PROJECT_BINARY_DIR}/weftTargets.cmake)

if(WEFT_JEMALLOC)
  set(WEFT_CONFIG_JEMALLOC ON)
else()
  set(WEFT_CONFIG_JEMALLOC OFF)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/weftConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/weftConfig.cmake
  INSTALL_DESTINATION ${WEFT_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/weftConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/weftConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/weftConfigVersion.cmake
        DESTINATION ${WEFT_CMAKE_INSTALL_DIR} COMPONENT weft_dev)

# weft.pc. The prefix is the one used at install time (cmake --install --prefix may
# differ from CMAKE_INSTALL_PREFIX), so the file is configured in two steps: now,
# everything but the prefix; at install time, the prefix.
set(WEFT_PC_REQUIRES_PRIVATE "liburing >= 2.3, ck")
if(WEFT_JEMALLOC)
  string(APPEND WEFT_PC_REQUIRES_PRIVATE ", jemalloc")
endif()
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(WEFT_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(WEFT_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
set(WEFT_PC_PREFIX "@WEFT_PC_PREFIX@") # filled in at install time
configure_file(${CMAKE_CURRENT_LIST_DIR}/weft.pc.in ${PROJECT_BINARY_DIR}/cmake/weft.pc.stage
               @ONLY)
install(CODE "
  set(WEFT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/weft.pc.stage\"
                 \"${PROJECT_BINARY_DIR}/cmake/install/weft.pc\" @ONLY)
" COMPONENT weft_dev)
install(FILES ${PROJECT_BINARY_DIR}/cmake/install/weft.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT weft_dev)
