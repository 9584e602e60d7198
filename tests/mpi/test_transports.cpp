// The transport contract (comm/transport.hpp) on both CPU transports, and the conformance
// transport's strictness: each violation an NCCL run would hang or corrupt on is an error here.
#include <gtest/gtest.h>
#include <mpi.h>

#include <numeric>
#include <vector>

#include "common/error.hpp"
#include "transports.hpp"

using namespace flexcp;
using test_support::world_rank;
using test_support::world_size;

namespace {
View view_of(std::vector<float>& v) { return {v.data(), static_cast<std::int64_t>(v.size())}; }

std::vector<float> values(int from, int which, std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), static_cast<float>(1000 * from + 100 * which));
  return v;
}

// A private communicator per test: a violation leaves requests behind that must not meet later traffic.
struct PrivateComm {
  MPI_Comm comm = MPI_COMM_NULL;
  PrivateComm() { MPI_Comm_dup(MPI_COMM_WORLD, &comm); }
  ~PrivateComm() { MPI_Comm_free(&comm); }
};
}  // namespace

// Several messages to the same peer, in one stage and across stages, match in posting order
// without tags; waiting on the later stage completes the earlier one too.
TEST(Transports, MessagesMatchInPostingOrderAndStagesCompleteInOrder) {
  const int p = world_size(), me = world_rank();
  if (p < 2) GTEST_SKIP() << "needs a peer";
  const int next = (me + 1) % p, prev = (me + p - 1) % p;
  for (const auto& kind : test_support::transport_kinds()) {
    auto transport = test_support::make_transport(kind);
    auto a = values(me, 0, 5), b = values(me, 1, 3), c = values(me, 2, 7);
    std::vector<float> ra(5), rb(3), rc(7);
    auto first = transport->post(comm::Stage().send(view_of(a), next).send(view_of(b), next).recv(view_of(ra), prev).recv(view_of(rb), prev));
    auto second = transport->post(comm::Stage().send(view_of(c), next).recv(view_of(rc), prev));
    transport->wait(second);
    EXPECT_EQ(ra, values(prev, 0, 5)) << kind;
    EXPECT_EQ(rb, values(prev, 1, 3)) << kind;
    EXPECT_EQ(rc, values(prev, 2, 7)) << kind;
    transport->wait(first);  // already complete: returns at once
    EXPECT_DOUBLE_EQ(transport->stats().bytes_sent, 4.0 * 15) << kind;
  }
}

TEST(Transports, AStageMayNotUseAHostBufferTwice) {
  const int p = world_size(), me = world_rank();
  if (p < 2) GTEST_SKIP() << "needs a peer";
  comm::MpiTransport transport(MPI_COMM_WORLD);
  std::vector<float> buffer(8);
  const View all = view_of(buffer);
  EXPECT_THROW(transport.post(comm::Stage().send(all.slice(0, 6), (me + 1) % p).recv(all.slice(4, 4), (me + p - 1) % p)),
               Error);
}

// Rank 0 receives in its first stage what rank 1 sends only in its second, and the reverse:
// MPI's buffering would let it pass; NCCL runs one stage after the other and hangs.
TEST(InOrderTransport, ReportsAStageMatchedOnlyByALaterStageOfThePeer) {
  PrivateComm priv;
  const int me = world_rank();
  if (world_size() < 2) GTEST_SKIP() << "needs a peer";
  if (me > 1) return;
  comm::InOrderTransport transport(priv.comm, 1.0);
  const int peer = 1 - me;
  std::vector<float> out(4, 1.0f), in(4);
  auto receive = transport.post(comm::Stage().recv(view_of(in), peer));
  auto send = transport.post(comm::Stage().send(view_of(out), peer));
  try {
    transport.wait(send);
    ADD_FAILURE() << "a cross-stage dependency went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did not complete"), std::string::npos) << e.what();
  }
  (void)receive;
}

TEST(InOrderTransport, ReportsAReceiveOfAnotherSizeThanItsSend) {
  PrivateComm priv;
  const int me = world_rank();
  if (world_size() < 2) GTEST_SKIP() << "needs a peer";
  if (me > 1) return;
  comm::InOrderTransport transport(priv.comm, 30.0);
  std::vector<float> four(4, 2.0f), five(5);
  if (me == 0) {
    auto t = transport.post(comm::Stage().send(view_of(four), 1));
    transport.wait(t);
  } else {
    auto t = transport.post(comm::Stage().recv(view_of(five), 0));
    try {
      transport.wait(t);
      ADD_FAILURE() << "a receive of 5 elements accepted a message of 4";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("received 4 elements into a receive of 5"), std::string::npos) << e.what();
    }
  }
}

TEST(InOrderTransport, ReportsASendBufferChangedBeforeItsStageCompleted) {
  PrivateComm priv;
  const int me = world_rank();
  if (world_size() < 2) GTEST_SKIP() << "needs a peer";
  if (me > 1) return;
  comm::InOrderTransport transport(priv.comm, 30.0);
  std::vector<float> data(4, 3.0f);
  if (me == 0) {
    auto t = transport.post(comm::Stage().send(view_of(data), 1));
    data[2] = -1.0f;  // too early: the stage is still in flight
    EXPECT_THROW(transport.wait(t), Error);
  } else {
    auto t = transport.post(comm::Stage().recv(view_of(data), 0));
    transport.wait(t);
  }
}
