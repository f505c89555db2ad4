package FulmarDaemonMode;
# Loaded with `perl -I<memcached>/t/lib -I tests/peers/lib -MFulmarDaemonMode
# <memcached>/t/FILE.t` by tests/peers/memcached_t.py. Makes memcached's own
# t/lib/MemcachedTest.pm drive a server that is already running (its
# T_MEMD_USE_DAEMON mode) without editing any of memcached's files: it loads
# their MemcachedTest first (so the test's own `use lib "$Bin/lib"; use
# MemcachedTest;` finds it in %INC and only imports), then replaces three of
# its subs:
#
#  - MemcachedTest::print_help: every supports_*() check reads `memcached-debug
#    -h` from the build directory (the cwd), which does not exist here, and the
#    answer would describe a binary, not the server under test. In daemon mode
#    no test can start a server with extstore, SASL, TLS, a proxy or a UNIX
#    socket, so the help text offered declares none of them (metaget.t would
#    otherwise run its extstore half against a server that was never given an
#    ext_path).
#  - MemcachedTest::get_memcached_exe: the same; never needed in daemon mode.
#  - Memcached::Handle::new_udp_sock: in daemon mode the handle has no
#    udpport (T_MEMD_USE_DAEMON names only the TCP address) and the original
#    binds 127.0.0.1, which cannot reach a server in another network; this one
#    connects to FULMAR_T_UDP=host:port from an ephemeral port.
#  - Memcached::Handle::DESTROY: signals only a server it started (the
#    original signals an undefined pid and warns at every exit).
#
# Environment: T_MEMD_USE_DAEMON=host:port (theirs; TCP), FULMAR_T_UDP=host:port.
use strict;
use warnings;

BEGIN {
    die "FulmarDaemonMode: set T_MEMD_USE_DAEMON=host:port\n"
        unless ($ENV{T_MEMD_USE_DAEMON} // '') =~ /^[^:]+:\d+$/;
    delete $ENV{SSL_TEST};
}

use MemcachedTest ();
use IO::Socket::INET;

no warnings 'redefine';

*MemcachedTest::print_help = sub {
    return "memcached 1.6.18 (external server: T_MEMD_USE_DAEMON=$ENV{T_MEMD_USE_DAEMON})\n";
};

*MemcachedTest::get_memcached_exe = sub {
    Carp::croak("no memcached binary in daemon mode (T_MEMD_USE_DAEMON)");
};

# The handle of an external server has no pid: nothing to signal.
*Memcached::Handle::DESTROY = sub { kill 2, $_[0]{pid} if $_[0]{pid} };

*Memcached::Handle::new_udp_sock = sub {
    my ($host, $port) = (($ENV{FULMAR_T_UDP} // '') =~ /^([^:]+):(\d+)$/)
        or die "FulmarDaemonMode: set FULMAR_T_UDP=host:port for UDP tests\n";
    return IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'udp');
};

1;
