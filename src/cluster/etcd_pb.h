// The protobuf/gRPC code generated from etcd's protos (tools/etcd-protos.sh,
// src/cluster/meson.build), included only by the client's .cc files.
//
// Generated code is not ours to warn about: this header is marked a system
// header so -Werror applies to our code only.
#pragma once
#pragma GCC system_header

#include <grpcpp/grpcpp.h>

#include "kv.pb.h"
#include "rpc.grpc.pb.h"
#include "rpc.pb.h"
