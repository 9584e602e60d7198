#pragma once
// The boundary between encoder and LLM, executed: forward, this rank's projector outputs (one
// row of `width` values per image token it made, in its encoder rows' order) go to the ranks
// whose LLM holds those tokens, landing in their LLM rows; backward, the gradients of the LLM
// rows go back to the encoder rows.
//
// One all-to-all per direction on the group communicator of the boundary's ranks (every rank of
// the placement when any image token crosses ranks, sched::boundary_ranks), taken from a
// comm::CommunicatorCache: built from the two plans, the same set on every rank and in every
// batch, so the boundary costs one creation for the whole run, and the exchange is a collective
// channel of its own on MPI and NCCL alike. Members with nothing to exchange send nothing. A rank's blocks hold its runs for each member in canonical order
// (sched::boundary_program), so what A packs for B is what B unpacks from A. Tokens made and used
// on the same rank are copied, never sent (the rank's own block is empty). Packing and unpacking
// are Kernels block copies in the backend's memory space, so device rows never visit the host.
#include <vector>

#include "attn/kernels.hpp"
#include "comm/group_collectives.hpp"
#include "common/view.hpp"
#include "sched/boundary_program.hpp"

namespace flexcp::attn {

// The boundary's group for this step: `ranks` (ascending; empty when nothing crosses ranks) and,
// on a member, its collectives (null elsewhere).
struct BoundaryGroup {
  std::vector<int> ranks;
  comm::GroupCollectives* collectives = nullptr;
};

// `encoder_out`: encoder_rows.rows x width; `llm_in`: llm_rows.rows x width (overwritten). Both
// in `kernels`' memory space, which must be the group's.
void boundary_forward(const sched::BoundaryProgram& program, const BoundaryGroup& group, const View& encoder_out,
                      const View& llm_in, std::int64_t width, Kernels& kernels);
// `llm_grad`: llm_rows.rows x width; `encoder_grad`: encoder_rows.rows x width (overwritten).
void boundary_backward(const sched::BoundaryProgram& program, const BoundaryGroup& group, const View& llm_grad,
                       const View& encoder_grad, std::int64_t width, Kernels& kernels);

}  // namespace flexcp::attn
