// Result<T, E>: a value or a domain status enum, the error type of every layer.
//
// Any thread. std::expected is C++23; this is the small subset we need.
#pragma once

#include <utility>
#include <variant>

namespace fulmar {

template <typename E>
struct Err {
    E error;
};

template <typename E>
Err(E) -> Err<E>;

template <typename T, typename E>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
    Result(Err<E> e) : v_(std::in_place_index<1>, e.error) {}          // NOLINT: implicit

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    T& operator*() { return std::get<0>(v_); }
    E error() const { return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

}  // namespace fulmar
