# `cmake --install build/release --prefix PREFIX`: the executable (with an RPATH, so it finds
# libraries outside the system's default paths, such as CUDA and NCCL, without
# LD_LIBRARY_PATH), the report tool, the inputs, job scripts and documentation, and an
# environment module file (PREFIX/share/modulefiles/flexcp/VERSION, Lmod or Environment
# Modules: `module use PREFIX/share/modulefiles; module load flexcp`).
include(GNUInstallDirs)
# flexcp_* libraries are static: the RPATH lists only the directories of the shared ones it links.
set_target_properties(flexcp PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS flexcp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS ${PROJECT_SOURCE_DIR}/tools/flexcp-report DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/inputs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/flexcp/inputs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobscripts/ DESTINATION ${CMAKE_INSTALL_DATADIR}/flexcp/jobscripts
        USE_SOURCE_PERMISSIONS)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The module file names the prefix chosen at install time (--prefix), not at configure time.
install(CODE "
  set(FLEXCP_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(FLEXCP_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/flexcp.modulefile.in\"
                 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/modulefiles/flexcp/${PROJECT_VERSION}\" @ONLY)
  message(STATUS \"Module file: \${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/modulefiles/flexcp/${PROJECT_VERSION}\")
")

# A man page from --help and --version (help2man, when installed: scripts/install-deps.sh), so
# `man flexcp` works where the module is loaded (it prepends MANPATH).
find_program(FLEXCP_HELP2MAN help2man)
if(FLEXCP_HELP2MAN)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/flexcp.1
    # detect_leaks=0: under the asan preset, MPI's own allocations at exit are not flexcp's leaks.
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0 ${FLEXCP_HELP2MAN} --no-info --name "flexible context parallelism for long-context LLM attention"
            --output ${CMAKE_BINARY_DIR}/flexcp.1 $<TARGET_FILE:flexcp>
    DEPENDS flexcp VERBATIM)
  add_custom_target(flexcp_man ALL DEPENDS ${CMAKE_BINARY_DIR}/flexcp.1)
  install(FILES ${CMAKE_BINARY_DIR}/flexcp.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
