#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then as a site's user would: load the module with
# Debian's Lmod, run `flexcp info` and a tiny run from the installed inputs, the binary found on
# PATH and its libraries through its RPATH. Skipped (77) without Lmod.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build="$1"
lmod_init=/usr/share/lmod/lmod/init/bash
[ -r "$lmod_init" ] || { echo "SKIP: Lmod is not installed (scripts/install-deps.sh installs it)"; exit 77; }
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$prefix.log" 2>&1 || { cat "$prefix.log"; fail "cmake --install"; }
rm -f "$prefix.log"
modulefile="$prefix/share/modulefiles/flexcp/$("$build/src/flexcp" --version | awk '{print $2}')"
[ -f "$modulefile" ] || fail "no module file at $modulefile"
[ -x "$prefix/bin/flexcp" ] && [ -x "$prefix/bin/flexcp-report" ] || fail "executables not installed"
[ -f "$prefix/share/flexcp/inputs/demo.toml" ] && [ -f "$prefix/share/doc/flexcp/inputs.md" ] || fail "inputs/docs missing"
readelf -d "$prefix/bin/flexcp" | grep -Eq 'R(UN)?PATH' || fail "installed flexcp has no RPATH"
if command -v help2man > /dev/null; then
  grep -q "Exit status" "$prefix/share/man/man1/flexcp.1" || fail "man page missing or without the exit status"
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# A clean shell: nothing from the build tree on PATH (ASAN_OPTIONS kept for the asan preset: MPI's
# own allocations are not ours to leak-check); set +u because Lmod's init reads unset variables.
env -i HOME="$HOME" PATH=/usr/bin:/bin OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
  bash -c "set +u; source $lmod_init; module use $prefix/share/modulefiles && module load flexcp || exit 3
    [ \"\$(command -v flexcp)\" = $prefix/bin/flexcp ] || { echo 'flexcp not from the module'; exit 4; }
    [ -n \"\$FLEXCP_INPUTS\" ] || exit 5
    flexcp info | grep -q 'flexcp' || exit 6
    cd $prefix && mpirun -np 2 --oversubscribe flexcp run \"\$FLEXCP_INPUTS/demo.toml\" --out $prefix/tiny.h5 --quiet \
      --set 'run.strategies=[\"megatron-cp-ring\"]' --set batch.tokens_per_batch=256 --set run.steps=1 > $prefix/run.log 2>&1 \
      || { cat $prefix/run.log; exit 7; }" || fail "module load / flexcp info / tiny run (exit $?)"
[ -f "$prefix/tiny.h5" ] || fail "the tiny run wrote no results"
echo "install test passed: $prefix"
