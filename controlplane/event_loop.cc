// epoll behind EventLoop; see event_loop.h.
#include "event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

namespace fulmar::controlplane {

EventLoop::EventLoop() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {}

EventLoop::~EventLoop() {
    if (epfd_ >= 0) ::close(epfd_);
}

bool EventLoop::add(int fd, uint32_t events, EventHandler* h) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, EventHandler* h) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

int EventLoop::run_once(int timeout_ms) {
    constexpr int kMaxEvents = 128;
    epoll_event events[kMaxEvents];
    const int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i)
        static_cast<EventHandler*>(events[i].data.ptr)->on_event(events[i].events);
    return n < 0 ? 0 : n;
}

}  // namespace fulmar::controlplane
