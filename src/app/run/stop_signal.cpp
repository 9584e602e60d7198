#include "app/run/stop_signal.hpp"

#include <csignal>

namespace flexcp {
namespace {
volatile std::sig_atomic_t received = 0;

extern "C" void on_stop_signal(int signal) { received = signal; }
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // MPI and file calls continue; the flag is read at step boundaries
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool stop_requested() { return received != 0; }
int stop_signal() { return received; }

}  // namespace flexcp
