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

  private:
    int epfd_ = -1;
};

}  // namespace fulmar::controlplane
