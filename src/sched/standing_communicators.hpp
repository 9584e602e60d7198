#pragma once
// Communicators a strategy makes once at start-up and keeps for the whole run, so that its plans
// find them without a creation round (docs/cost-model.md, "Communicators"). Given as layers:
// the rank sets of one layer are disjoint, so one split over the world makes a whole layer.
//   flexcp   inside every node, the aligned blocks of each Ulysses size that divides the node
//            (2, 4 and 8 of 8 GPUs with LLaMA-3's heads): the hybrid scheme's inner blocks of
//            groups made of whole nodes, and the all-to-all of groups placed on aligned ranks.
//            Megatron-LM makes its a2a+p2p groups at start-up the same way. Without them, plans
//            at 4,096 GPUs needed 170-193 node communicators per batch against a 32-entry cache,
//            a creation round in every batch (bench/RESULTS.md).
//   flexsp   the aligned blocks of every power-of-two group size it may use (its paper's
//            communicators, made at start-up).
#include <vector>

#include "sched/communicator_accounting.hpp"
#include "sched/cost_model.hpp"

namespace flexcp::sched {

using CommunicatorLayers = std::vector<std::vector<RankSet>>;

// Aligned blocks [k s, (k + 1) s) of `ranks`, one layer per size s >= 2 of `sizes`.
CommunicatorLayers aligned_block_layers(const std::vector<int>& sizes, int ranks);

// The sizes flexcp keeps per node: those >= 2 that divide the node and split the heads.
std::vector<int> node_block_sizes(const Cluster& cluster, const ModelShape& model);

CommunicatorLayers flexcp_standing_communicators(const CostContext& context);

// Every rank set of `layers`, in layer order.
std::vector<RankSet> rank_sets_of(const CommunicatorLayers& layers);

}  // namespace flexcp::sched
