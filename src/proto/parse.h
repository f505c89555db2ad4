// The contract every request parser in src/proto follows.
//
// Any thread; parsers are plain values owned by one connection or lcore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fulmar::proto {

enum class ParseStatus : uint8_t {
    kComplete,  // a request was parsed; `consumed` bytes belong to it
    kNeedMore,  // the input ends inside a request; nothing consumed
    kError,     // malformed; `consumed` bytes should be skipped (maybe 0 = close)
};

// Fragment sizes every parser test feeds its cases at (0 = the whole input),
// as Seastar's memcached tests do: most framing bugs show at 1, 2 and 3.
inline constexpr std::array<size_t, 7> kFragmentSizes = {1, 2, 3, 5, 10, 100, 0};

}  // namespace fulmar::proto
