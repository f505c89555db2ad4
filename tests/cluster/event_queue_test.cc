// EventQueue: values pushed from another thread arrive in order; the
// eventfd is readable while values wait, quiet after a drain.
#include "cluster/event_queue.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

namespace fulmar::cluster {
namespace {

bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

TEST(EventQueue, HandsValuesAcrossThreadsInOrderThroughTheEventfd) {
    EventQueue<int> q;
    ASSERT_TRUE(q.valid());
    EXPECT_FALSE(readable(q.fd(), 0));
    EXPECT_TRUE(q.drain().empty());
    std::thread producer([&q] {
        for (int i = 0; i < 1000; ++i)
            q.push(i);
    });
    std::vector<int> got;
    while (got.size() < 1000) {
        ASSERT_TRUE(readable(q.fd(), 5000));
        for (int v : q.drain())
            got.push_back(v);
    }
    producer.join();
    for (int i = 0; i < 1000; ++i)
        ASSERT_EQ(got[static_cast<size_t>(i)], i);
    // A push's eventfd write may land after a drain took its value (a
    // spurious wake-up, by design); one more drain finds nothing and quiets it.
    EXPECT_TRUE(q.drain().empty());
    EXPECT_FALSE(readable(q.fd(), 0));
    q.push(7);
    EXPECT_TRUE(readable(q.fd(), 0));
    EXPECT_EQ(q.drain(), std::vector<int>{7});
    EXPECT_FALSE(readable(q.fd(), 0));
}

}  // namespace
}  // namespace fulmar::cluster
