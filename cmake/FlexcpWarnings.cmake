# One interface target that carries the project's warning set, so third-party headers are not
# compiled with it and every flexcp target opts in the same way. Host C++ only: nvcc's generated
# host code trips -Wpedantic on its own line directives.
add_library(flexcp_warnings INTERFACE)
target_compile_options(flexcp_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion>)
