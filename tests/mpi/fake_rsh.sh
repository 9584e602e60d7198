#!/bin/sh
# A stand-in for ssh that lets Open MPI start "remote" daemons on this machine: Open MPI calls
# `agent [ssh options] HOST COMMAND...`; drop the options and the host name, run the command
# here. With --host nodeA:N,nodeB:N each fake host gets its own daemon, so the ranks really form
# two nodes to MPI (MPI_COMM_TYPE_SHARED gives one communicator per fake host).
while [ $# -gt 0 ]; do
  case "$1" in
    -*) shift ;;
    *) break ;;
  esac
done
shift  # the host name
exec /bin/sh -c "$*"
