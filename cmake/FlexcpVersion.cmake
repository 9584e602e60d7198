# Records the git revision at configure time for results files (root attribute git_sha).
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE FLEXCP_GIT_SHA OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT FLEXCP_GIT_SHA)
  set(FLEXCP_GIT_SHA "unknown")
endif()
execute_process(COMMAND git status --porcelain --untracked-files=no
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE flexcp_git_dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(flexcp_git_dirty)
  string(APPEND FLEXCP_GIT_SHA "-dirty")
endif()
