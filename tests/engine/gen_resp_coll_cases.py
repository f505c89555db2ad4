#!/usr/bin/python3
"""Records redis-server 7.0.15's reply bytes to the set and hash command
sequences below, as tests/engine/resp_coll_cases.inc (resp_coll_diff_test.cc
replays them through the owner's executor and compares byte for byte).

Run against a redis-server you started yourself (--databases 1):
  /usr/bin/python3 tests/engine/gen_resp_coll_cases.py PORT > tests/engine/resp_coll_cases.inc
Each case runs after FLUSHALL. 'U' marks a reply whose order is Redis's hash
table's (compared as a multiset of its elements, a scan's element list
included); 'E' is exact.
"""
import socket
import sys


def cases():
    c = []

    def case(*cmds):
        c.append(list(cmds))

    # ---- sets
    case(("E", "sadd", "s", "a", "b", "c", "a"), ("E", "scard", "s"), ("U", "smembers", "s"),
         ("E", "sismember", "s", "a"), ("E", "sismember", "s", "z"),
         ("E", "smismember", "s", "a", "z", "c"), ("E", "smismember", "nokey", "a", "b"),
         ("E", "sadd", "s", "a", "d"), ("E", "type", "s"))
    case(("E", "sadd", "s", "1", "2", "3"), ("U", "smembers", "s"), ("E", "srem", "s", "1", "9", "1"),
         ("E", "srem", "s", "2", "3"), ("E", "exists", "s"), ("E", "srem", "s", "x"),
         ("E", "scard", "s"), ("E", "smembers", "s"), ("E", "sismember", "s", "1"))
    case(("E", "set", "str", "x"), ("E", "sadd", "str", "a"), ("E", "srem", "str", "a"),
         ("E", "smembers", "str"), ("E", "scard", "str"), ("E", "sismember", "str", "a"),
         ("E", "smismember", "str", "a"), ("E", "spop", "str"), ("E", "spop", "str", "2"),
         ("E", "spop", "str", "0"), ("E", "srandmember", "str"), ("E", "srandmember", "str", "2"),
         ("E", "srandmember", "str", "0"), ("E", "sscan", "str", "0"),
         ("E", "sscan", "str", "0", "count", "0"), ("E", "sinter", "str"), ("E", "sunion", "str"),
         ("E", "sdiff", "str"), ("E", "sintercard", "1", "str"), ("E", "get", "str"))
    case(("E", "sadd"), ("E", "sadd", "s"), ("E", "srem", "s"), ("E", "smembers"),
         ("E", "smembers", "a", "b"), ("E", "sismember", "s"), ("E", "smismember", "s"),
         ("E", "scard"), ("E", "spop"), ("E", "spop", "s", "1", "2"), ("E", "srandmember"),
         ("E", "srandmember", "s", "1", "2"), ("E", "sinter"), ("E", "sinterstore", "d"),
         ("E", "sunion"), ("E", "sdiff"), ("E", "smove", "a", "b"), ("E", "sscan", "s"),
         ("E", "sintercard"), ("E", "sintercard", "1"))
    case(("E", "spop", "nokey"), ("E", "spop", "nokey", "3"), ("E", "spop", "nokey", "0"),
         ("E", "spop", "nokey", "-1"), ("E", "spop", "nokey", "x"), ("E", "spop", "nokey", "1.5"),
         ("E", "srandmember", "nokey"), ("E", "srandmember", "nokey", "5"),
         ("E", "srandmember", "nokey", "-5"), ("E", "srandmember", "nokey", "0"),
         ("E", "srandmember", "nokey", "x"),
         ("E", "srandmember", "nokey", "-9223372036854775808"),
         ("E", "srandmember", "nokey", "9223372036854775808"))
    case(("E", "sadd", "s", "only"), ("E", "spop", "s"), ("E", "exists", "s"), ("E", "spop", "s"),
         ("E", "sadd", "s", "a", "b", "c"), ("U", "spop", "s", "3"), ("E", "exists", "s"),
         ("E", "sadd", "s", "a", "b", "c"), ("U", "spop", "s", "10"), ("E", "exists", "s"),
         ("E", "sadd", "s", "a", "b", "c"), ("E", "spop", "s", "0"), ("E", "scard", "s"),
         ("E", "srem", "s", "a", "b"), ("E", "spop", "s", "1"), ("E", "exists", "s"),
         ("E", "spop", "s", "1"))
    case(("E", "sadd", "s", "x"), ("E", "srandmember", "s"), ("E", "srandmember", "s", "1"),
         ("E", "srandmember", "s", "-3"), ("E", "srandmember", "s", "0"),
         ("E", "sadd", "s", "y", "z"), ("U", "srandmember", "s", "3"),
         ("U", "srandmember", "s", "100"), ("E", "scard", "s"))
    # set algebra
    case(("E", "sadd", "a", "1", "2", "3", "4"), ("E", "sadd", "b", "3", "4", "5"),
         ("E", "sadd", "c", "4", "5", "6"), ("U", "sinter", "a", "b"), ("U", "sinter", "a", "b", "c"),
         ("E", "sinter", "a", "nokey"), ("E", "sinter", "nokey", "a"), ("U", "sunion", "a", "b", "c"),
         ("U", "sunion", "a", "nokey"), ("U", "sdiff", "a", "b"), ("U", "sdiff", "a", "b", "c"),
         ("E", "sdiff", "nokey", "a"), ("U", "sdiff", "a", "nokey"), ("E", "sdiff", "a", "a"),
         ("U", "sinter", "a", "a"), ("U", "sunion", "a", "a"),
         ("E", "sintercard", "2", "a", "b"), ("E", "sintercard", "3", "a", "b", "c"),
         ("E", "sintercard", "2", "a", "b", "limit", "1"),
         ("E", "sintercard", "2", "a", "b", "LIMIT", "0"),
         ("E", "sintercard", "2", "a", "nokey"), ("E", "sintercard", "1", "a"),
         ("E", "sintercard", "1", "a", "limit", "100"))
    case(("E", "sadd", "a", "1", "2", "3"), ("E", "sadd", "b", "2", "3", "4"), ("E", "set", "str", "x"),
         ("E", "sinter", "a", "str"), ("E", "sinter", "nokey", "str"), ("E", "sinter", "str", "nokey"),
         ("E", "sunion", "a", "str"), ("E", "sdiff", "nokey", "str"), ("E", "sdiff", "a", "str"),
         ("E", "sintercard", "2", "nokey", "str"), ("E", "sinterstore", "d", "a", "str"),
         ("E", "sunionstore", "d", "str", "a"), ("E", "sdiffstore", "d", "a", "str"),
         ("E", "sinterstore", "str", "a", "b"), ("E", "type", "str"), ("U", "smembers", "str"),
         ("E", "sunionstore", "u", "a", "b"), ("U", "smembers", "u"),
         ("E", "sdiffstore", "df", "a", "b"), ("U", "smembers", "df"),
         ("E", "sinterstore", "u", "a", "nokey"), ("E", "exists", "u"),
         ("E", "sunionstore", "df", "nokey", "nokey2"), ("E", "exists", "df"),
         ("E", "sdiffstore", "a", "a", "b"), ("U", "smembers", "a"),
         ("E", "expire", "b", "100"), ("E", "sunionstore", "b", "a", "b"), ("E", "ttl", "b"),
         ("E", "sinterstore", "dd", "a"), ("U", "smembers", "dd"))
    case(("E", "sintercard", "0", "a"), ("E", "sintercard", "a", "a"),
         ("E", "sintercard", "-1", "a"), ("E", "sintercard", "2", "a"),
         ("E", "sintercard", "3", "a", "b"), ("E", "sintercard", "1", "a", "b"),
         ("E", "sintercard", "1", "a", "LIMIT"), ("E", "sintercard", "1", "a", "limit", "-1"),
         ("E", "sintercard", "1", "a", "limit", "x"), ("E", "sintercard", "1", "a", "limit", "1", "x"),
         ("E", "sintercard", "1", "nokey", "limit", "1", "limit", "2"))
    # smove
    case(("E", "sadd", "a", "1", "2"), ("E", "sadd", "b", "3"), ("E", "smove", "a", "b", "1"),
         ("U", "smembers", "a"), ("U", "smembers", "b"), ("E", "smove", "a", "b", "9"),
         ("E", "smove", "nokey", "b", "1"), ("E", "smove", "a", "c", "2"), ("E", "exists", "a"),
         ("E", "smembers", "c"), ("E", "smove", "c", "c", "2"), ("E", "smove", "c", "c", "9"),
         ("E", "set", "str", "x"), ("E", "smove", "str", "b", "1"), ("E", "smove", "b", "str", "1"),
         ("E", "smove", "nokey", "str", "1"), ("E", "smove", "b", "str", "zz"),
         ("E", "sadd", "c", "3"), ("E", "smove", "b", "c", "3"), ("E", "exists", "b"),
         ("U", "smembers", "c"), ("E", "expire", "c", "50"), ("E", "smove", "c", "n", "3"),
         ("E", "ttl", "c"), ("E", "ttl", "n"))
    # sscan
    case(("E", "sadd", "s", "a1", "a2", "b1", "b2", "c"), ("U", "sscan", "s", "0"),
         ("U", "sscan", "s", "0", "match", "a*"), ("U", "sscan", "s", "0", "MATCH", "?1", "COUNT", "100"),
         ("U", "sscan", "s", "0", "match", "*"), ("E", "sscan", "s", "0", "match", "zz*"),
         ("E", "sscan", "nokey", "0"), ("E", "sscan", "nokey", "0", "count", "0"),
         ("E", "sscan", "nokey", "x"), ("E", "sscan", "s", "x"), ("E", "sscan", "s", " 1"),
         ("E", "sscan", "s", "1x"), ("E", "sscan", "s", "99999999999999999999999"),
         ("E", "sscan", "s", "0", "count", "0"), ("E", "sscan", "s", "0", "count", "-1"),
         ("E", "sscan", "s", "0", "count", "x"), ("E", "sscan", "s", "0", "count"),
         ("E", "sscan", "s", "0", "match"), ("E", "sscan", "s", "0", "type", "string"),
         ("E", "sscan", "s", "0", "foo", "bar"))
    # TTL kept by writes
    case(("E", "sadd", "s", "a", "b"), ("E", "expire", "s", "100"), ("E", "sadd", "s", "c"),
         ("E", "srem", "s", "a"), ("E", "spop", "s", "0"), ("E", "ttl", "s"))
    # ---- hashes
    case(("E", "hset", "h", "f1", "v1", "f2", "v2"), ("E", "hset", "h", "f1", "x", "f3", "v3"),
         ("E", "hget", "h", "f1"), ("E", "hget", "h", "nof"), ("E", "hget", "nokey", "f"),
         ("E", "hlen", "h"), ("E", "hlen", "nokey"), ("U", "hgetall", "h"), ("U", "hkeys", "h"),
         ("U", "hvals", "h"), ("E", "hgetall", "nokey"), ("E", "hkeys", "nokey"),
         ("E", "hvals", "nokey"), ("E", "hmget", "h", "f1", "nof", "f3"),
         ("E", "hmget", "nokey", "a", "b"), ("E", "hexists", "h", "f2"),
         ("E", "hexists", "h", "zz"), ("E", "hexists", "nokey", "f"), ("E", "hstrlen", "h", "f3"),
         ("E", "hstrlen", "h", "zz"), ("E", "hstrlen", "nokey", "zz"), ("E", "type", "h"),
         ("E", "hset", "h", "f1", "a", "f1", "b"), ("E", "hget", "h", "f1"),
         ("E", "hmset", "h", "f9", "9", "f8", "8"), ("E", "hlen", "h"))
    case(("E", "hsetnx", "h", "f", "1"), ("E", "hsetnx", "h", "f", "2"), ("E", "hget", "h", "f"),
         ("E", "hdel", "h", "f", "f", "g"), ("E", "exists", "h"), ("E", "hdel", "h", "f"),
         ("E", "hset", "h", "a", "1", "b", "2", "c", "3"), ("E", "hdel", "h", "a", "c"),
         ("E", "hgetall", "h"), ("E", "hdel", "nokey", "a"))
    case(("E", "set", "str", "x"), ("E", "hset", "str", "f", "v"), ("E", "hmset", "str", "f", "v"),
         ("E", "hsetnx", "str", "f", "v"), ("E", "hget", "str", "f"), ("E", "hmget", "str", "f"),
         ("E", "hdel", "str", "f"), ("E", "hlen", "str"), ("E", "hgetall", "str"),
         ("E", "hkeys", "str"), ("E", "hvals", "str"), ("E", "hexists", "str", "f"),
         ("E", "hstrlen", "str", "f"), ("E", "hincrby", "str", "f", "1"),
         ("E", "hincrbyfloat", "str", "f", "1"), ("E", "hrandfield", "str"),
         ("E", "hrandfield", "str", "1"), ("E", "hrandfield", "str", "0"),
         ("E", "hscan", "str", "0"), ("E", "hscan", "str", "0", "bad"),
         ("E", "hincrby", "str", "f", "x"), ("E", "hincrbyfloat", "str", "f", "x"))
    case(("E", "hset"), ("E", "hset", "h"), ("E", "hset", "h", "f"), ("E", "hset", "h", "f", "v", "g"),
         ("E", "hmset", "h", "f"), ("E", "hmset", "h", "f", "v", "g"), ("E", "hsetnx", "h", "f"),
         ("E", "hget", "h"), ("E", "hmget", "h"), ("E", "hdel", "h"), ("E", "hlen"),
         ("E", "hgetall"), ("E", "hkeys", "a", "b"), ("E", "hexists", "h"), ("E", "hstrlen", "h"),
         ("E", "hincrby", "h", "f"), ("E", "hincrbyfloat", "h", "f"), ("E", "hrandfield"),
         ("E", "hscan", "h"), ("E", "hrandfield", "h", "1", "withvalues", "x"))
    case(("E", "hincrby", "h", "n", "5"), ("E", "hincrby", "h", "n", "-7"),
         ("E", "hincrby", "h", "n", "x"), ("E", "hincrby", "h", "n", "1.5"),
         ("E", "hincrby", "h", "n", "9223372036854775807"), ("E", "hset", "h", "big", "9223372036854775807"),
         ("E", "hincrby", "h", "big", "1"), ("E", "hincrby", "h", "big", "-1"),
         ("E", "hset", "h", "s", "abc"), ("E", "hincrby", "h", "s", "1"),
         ("E", "hset", "h", "sp", " 1"), ("E", "hincrby", "h", "sp", "1"), ("E", "hget", "h", "n"),
         ("E", "hincrby", "nokey2", "n", "0"), ("E", "hgetall", "nokey2"))
    case(("E", "hincrbyfloat", "h", "f", "10.5"), ("E", "hincrbyfloat", "h", "f", "0.1"),
         ("E", "hincrbyfloat", "h", "f", "-5"), ("E", "hincrbyfloat", "h", "f", "1e3"),
         ("E", "hincrbyfloat", "h", "f", "x"), ("E", "hincrbyfloat", "h", "f", " 1"),
         ("E", "hincrbyfloat", "h", "f", "inf"), ("E", "hincrbyfloat", "h", "f", "-inf"),
         ("E", "hincrbyfloat", "h", "f", "nan"), ("E", "hincrbyfloat", "h", "f", ""),
         ("E", "hset", "h", "i", "17"), ("E", "hincrbyfloat", "h", "i", "0.5"),
         ("E", "hset", "h", "s", "abc"), ("E", "hincrbyfloat", "h", "s", "1"),
         ("E", "hset", "h", "m", "1.7976931348623157e308"), ("E", "hincrbyfloat", "h", "m", "1.7976931348623157e308"),
         ("E", "hincrbyfloat", "h", "z", "-0"), ("E", "hincrbyfloat", "h", "z", "0.0"),
         ("E", "hincrbyfloat", "h", "e", "5.0e3"), ("E", "hincrbyfloat", "h", "e", "0x10"),
         ("E", "hincrbyfloat", "h", "t", "1.1"), ("E", "hincrbyfloat", "h", "t", "2.2"),
         ("E", "hget", "h", "t"), ("E", "hincrbyfloat", "h", "u", "3.0000000000000000001"))
    case(("E", "hrandfield", "nokey"), ("E", "hrandfield", "nokey", "3"),
         ("E", "hrandfield", "nokey", "-3", "withvalues"), ("E", "hrandfield", "nokey", "0"),
         ("E", "hrandfield", "nokey", "x"), ("E", "hrandfield", "nokey", "1", "values"),
         ("E", "hrandfield", "nokey", "-9223372036854775808"),
         ("E", "hrandfield", "nokey", "-9223372036854775807", "withvalues"),
         ("E", "hrandfield", "nokey", "4611686018427387904", "withvalues"),
         ("E", "hrandfield", "nokey", "4611686018427387903", "withvalues"),
         ("E", "hset", "h", "f", "v"), ("E", "hrandfield", "h"), ("E", "hrandfield", "h", "1"),
         ("E", "hrandfield", "h", "-3"), ("E", "hrandfield", "h", "-2", "withvalues"),
         ("E", "hrandfield", "h", "5", "WITHVALUES"), ("E", "hrandfield", "h", "0", "withvalues"),
         ("E", "hset", "h", "g", "w"), ("U", "hrandfield", "h", "2"),
         ("U", "hrandfield", "h", "9", "withvalues"))
    case(("E", "hset", "h", "a1", "1", "a2", "2", "b1", "3"), ("U", "hscan", "h", "0"),
         ("U", "hscan", "h", "0", "match", "a*"), ("U", "hscan", "h", "0", "count", "1"),
         ("E", "hscan", "h", "0", "match", "x*"), ("E", "hscan", "nokey", "0"),
         ("E", "hscan", "nokey", "0", "count", "0"), ("E", "hscan", "h", "-1x"),
         ("E", "hscan", "h", "0", "count", "0"), ("E", "hscan", "h", "0", "type", "hash"),
         ("E", "hscan", "h", "0", "novalues"))
    case(("E", "hset", "h", "f", "v"), ("E", "expire", "h", "100"), ("E", "hset", "h", "g", "w"),
         ("E", "hdel", "h", "f"), ("E", "hincrby", "h", "n", "1"), ("E", "hincrbyfloat", "h", "n", "1"),
         ("E", "hsetnx", "h", "q", "1"), ("E", "ttl", "h"), ("E", "hdel", "h", "g", "n", "q"),
         ("E", "exists", "h"), ("E", "ttl", "h"))
    return c


def resp(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    line = f.readline()
    t = line[:1]
    if t in (b"+", b"-", b":"):
        return line
    if t == b"$":
        n = int(line[1:-2])
        return line if n < 0 else line + f.read(n + 2)
    if t == b"*":
        n = int(line[1:-2])
        for _ in range(max(n, 0)):
            line += read_reply(f)
        return line
    raise RuntimeError(line)


def cxx(b):
    s = '"'
    for ch in b:
        if ch == 0x5C:
            s += "\\\\"
        elif ch == 0x22:
            s += '\\"'
        elif ch == 13:
            s += "\\r"
        elif ch == 10:
            s += "\\n"
        elif 32 <= ch < 127:
            s += chr(ch)
        else:
            s += "\\x%02x\"\"" % ch
    return s + '"'


def main():
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = sock.makefile("rb")
    print("// Generated by tests/engine/gen_resp_coll_cases.py from redis-server 7.0.15:")
    print("// do not edit. {case, unordered, {args...}, reply}")
    for i, case in enumerate(cases()):
        sock.sendall(resp(["flushall"]))
        read_reply(f)
        for cmd in case:
            sock.sendall(resp(list(cmd[1:])))
            r = read_reply(f)
            args = ", ".join(cxx(a.encode()) for a in cmd[1:])
            print("{%d, %s, {%s}, %s}," % (i, "true" if cmd[0] == "U" else "false", args, cxx(r)))


main()
