include(CMakePackageConfigHelpers)

install(TARGETS convtrace EXPORT convtraceTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CONVTRACE_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/convtrace)
install(FILES ${PROJECT_SOURCE_DIR}/data/pricing.json DESTINATION ${CMAKE_INSTALL_DATADIR}/convtrace OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/convtrace)
install(EXPORT convtraceTargets NAMESPACE convtrace:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/convtrace)

# The opentelemetry-cpp bridge, when built: component `opentelemetry` of the
# package (find_package(convtrace COMPONENTS opentelemetry)).
if(CONVTRACE_HAVE_OPENTELEMETRY_CPP)
  install(TARGETS convtrace_opentelemetry EXPORT convtraceOpentelemetryTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/include/convtrace/opentelemetry.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/convtrace)
  install(EXPORT convtraceOpentelemetryTargets NAMESPACE convtrace::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/convtrace)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/convtraceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/convtraceConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/convtrace)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/convtraceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/convtraceConfig.cmake ${PROJECT_BINARY_DIR}/convtraceConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/convtrace)

# A static library cannot carry its dependencies, so a static install lists
# them in Libs itself: `pkg-config --libs convtrace` links either way, without
# --static (README "Quick start" names the packages they come from).
if(BUILD_SHARED_LIBS)
  set(CONVTRACE_PC_STATIC_LIBS "")
else()
  set(CONVTRACE_PC_STATIC_LIBS "-lsimdjson -lcurl -lsqlite3 -lpq -lz")
  if(CONVTRACE_WITH_GRPC)
    string(APPEND CONVTRACE_PC_STATIC_LIBS " -lgrpc++ -lgrpc -lgpr")
  endif()
endif()
# The .pc file finds its prefix relative to itself, so `cmake --install --prefix`
# anywhere gives a working file.
set(CONVTRACE_PC_PREFIX "\${pcfiledir}/..")
string(REPLACE "/" ";" _libdir_parts "${CMAKE_INSTALL_LIBDIR}")
foreach(_part IN LISTS _libdir_parts)
  string(APPEND CONVTRACE_PC_PREFIX "/..")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/convtrace.pc.in ${PROJECT_BINARY_DIR}/convtrace.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/convtrace.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
