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
    wait(timeout_ms);
    return dispatch();
}

int EventLoop::wait(int timeout_ms) {
    static_assert(sizeof(epoll_event) * kMaxEvents <= sizeof(events_));
    const int n =
        ::epoll_wait(epfd_, reinterpret_cast<epoll_event*>(events_), kMaxEvents, timeout_ms);
    ready_ = n < 0 ? 0 : n;
    return ready_;
}

int EventLoop::dispatch(void (*between)(void*), void* arg) {
    const int n = ready_;
    ready_ = 0;
    auto* events = reinterpret_cast<epoll_event*>(events_);
    for (int i = 0; i < n; ++i) {
        static_cast<EventHandler*>(events[i].data.ptr)->on_event(events[i].events);
        if (between != nullptr) between(arg);
    }
    return n;
}

}  // namespace fulmar::controlplane
