// ring_place: prints the node index that our ketama ring gives each key read on stdin, one a
// line, for the peer test (nutcracker_placement_test.py) and for checking a deployment by hand.
//
//   ring_place [--mode twemproxy|libmemcached] SERVER [SERVER...] < keys
//   SERVER: "host:port[:weight][ name]" (quote entries with a name)
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "ring/ketama.h"

int main(int argc, char** argv) {
    using namespace fulmar::ring;
    KetamaMode mode = KetamaMode::kTwemproxy;
    std::vector<Node> nodes;
    for (int i = 1; i < argc; i++) {
        const std::string_view arg = argv[i];
        if (arg == "--mode" && i + 1 < argc) {
            const std::string_view m = argv[++i];
            if (m == "twemproxy") {
                mode = KetamaMode::kTwemproxy;
            } else if (m == "libmemcached") {
                mode = KetamaMode::kLibmemcached;
            } else {
                std::fprintf(stderr, "ring_place: unknown mode '%s'\n", argv[i]);
                return 2;
            }
            continue;
        }
        auto node = parse_node(arg);
        if (!node) {
            std::fprintf(stderr, "ring_place: %s\n", node.error().message.c_str());
            return 2;
        }
        nodes.push_back(std::move(node.value()));
    }
    auto ring = Ketama::build(nodes, mode);
    if (!ring) {
        std::fprintf(stderr, "ring_place: %s\n", ring.error().message.c_str());
        std::fprintf(stderr,
                     "usage: ring_place [--mode twemproxy|libmemcached] SERVER... < keys\n");
        return 2;
    }
    std::ios::sync_with_stdio(false);
    std::string key;
    while (std::getline(std::cin, key))
        std::cout << ring->node_for(key) << '\n';
    return 0;
}
