// EventQueue<T>: hands values from a background thread (a lease keeper, an
// etcd watch) to an owner thread that sleeps in epoll.
//
// Any thread pushes; one owner thread drains. push() appends under a mutex
// and bumps an eventfd, so the control plane's single epoll loop polls fd()
// and drains when it is readable; the owner never waits on the mutex for
// longer than a push (a deque append). The eventfd is non-blocking and
// close-on-exec; a queue whose eventfd could not be created reports !valid()
// and its owner must not use it.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace fulmar::cluster {

template <typename T>
class EventQueue {
  public:
    EventQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    ~EventQueue() {
        if (fd_ >= 0) ::close(fd_);
    }
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    bool valid() const { return fd_ >= 0; }
    // Readable (EPOLLIN) while values wait.
    int fd() const { return fd_; }

    void push(T value) {
        {
            std::lock_guard lock(mu_);
            items_.push_back(std::move(value));
        }
        uint64_t one = 1;
        // A full counter (2^64 - 2 pushes undrained) cannot happen; EAGAIN
        // would only mean "already readable", which is all a push must ensure.
        [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
    }

    // Everything pushed so far, oldest first; resets fd() to not readable.
    std::vector<T> drain() {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t n = ::read(fd_, &count, sizeof count);
        std::vector<T> out;
        std::lock_guard lock(mu_);
        out.reserve(items_.size());
        for (auto& item : items_)
            out.push_back(std::move(item));
        items_.clear();
        return out;
    }

  private:
    int fd_;
    std::mutex mu_;
    std::deque<T> items_;
};

}  // namespace fulmar::cluster
