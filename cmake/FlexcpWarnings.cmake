# One interface target that carries the project's warning set, so third-party headers are not
# compiled with it and every flexcp target opts in the same way.
add_library(flexcp_warnings INTERFACE)
target_compile_options(flexcp_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion)
