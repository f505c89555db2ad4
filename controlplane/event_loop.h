// The control plane's event loop: one epoll set, level-triggered, and the
// handlers of its file descriptors (listeners, client connections, the
// admin socket).
//
// Owned by the control plane's loop thread; nothing here is thread-safe.
#pragma once

#include <cstdint>

namespace fulmar::controlplane {

class EventHandler {
  public:
    virtual ~EventHandler() = default;
    // `events`: EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits.
    virtual void on_event(uint32_t events) = 0;
};

class EventLoop {
  public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    bool ok() const { return epfd_ >= 0; }
    // add/modify/remove return false with errno set on failure.
    bool add(int fd, uint32_t events, EventHandler* h);
    bool modify(int fd, uint32_t events, EventHandler* h);
    void remove(int fd);
    // Waits up to `timeout_ms` (0: poll) and runs the handlers of ready
    // descriptors. Returns how many ran.
    int run_once(int timeout_ms);
    // The same in two steps, for a caller that must do something between
    // the wait and the handlers (the control plane goes offline as an RCU
    // reader only while it waits: handlers read shards). wait() returns how
    // many are ready; dispatch() runs them, calling `between` after each.
    int wait(int timeout_ms);
    int dispatch(void (*between)(void*) = nullptr, void* arg = nullptr);

  private:
    static constexpr int kMaxEvents = 128;
    int epfd_ = -1;
    int ready_ = 0;
    alignas(8) unsigned char events_[kMaxEvents * 12];  // epoll_event is packed: 12 bytes
};

}  // namespace fulmar::controlplane
