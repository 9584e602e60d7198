#pragma once
// The boundary between encoder and LLM, executed: forward, this rank's projector outputs (one
// row of `width` values per image token it made, in its encoder rows' order) go to the ranks
// whose LLM holds those tokens, landing in their LLM rows; backward, the gradients of the LLM
// rows go back to the encoder rows. One transport stage per direction: every message of a rank
// pair is one contiguous buffer of its runs in canonical order, so the sends of A to B match
// B's receives from A (transport.hpp, rules 1-2) on MPI and NCCL alike. Tokens made and used on
// the same rank are copied, never sent. Point-to-point over the world: no group communicator.
// Host memory: packing device rows would need a gather kernel (not written yet).
#include "comm/transport.hpp"
#include "common/view.hpp"
#include "sched/boundary_program.hpp"

namespace flexcp::attn {

// `encoder_out`: encoder_rows.rows x width; `llm_in`: llm_rows.rows x width (overwritten).
void boundary_forward(const sched::BoundaryProgram& program, const View& encoder_out, const View& llm_in, std::int64_t width,
                      comm::Transport& transport);
// `llm_grad`: llm_rows.rows x width; `encoder_grad`: encoder_rows.rows x width (overwritten).
void boundary_backward(const sched::BoundaryProgram& program, const View& llm_grad, const View& encoder_grad, std::int64_t width,
                       comm::Transport& transport);

}  // namespace flexcp::attn
