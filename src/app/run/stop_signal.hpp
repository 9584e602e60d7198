#pragma once
// Slurm sends SIGTERM at the time limit (and KillWait seconds later SIGKILL); mpirun forwards
// SIGTERM and SIGINT to the ranks. flexcp catches them, finishes the step it is in, agrees with
// every rank to stop at the step boundary, and writes a valid results file that says it was cut
// short. The handler only sets a flag (async-signal-safe).
namespace flexcp {

void install_stop_handlers();
// True once this process got SIGTERM or SIGINT.
bool stop_requested();
// Which signal, for messages (0 when none).
int stop_signal();

}  // namespace flexcp
