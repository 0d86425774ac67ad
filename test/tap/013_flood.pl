# Connection floods: 500 connections that are idle, stuck in their headers
# or stuck in their body do not stop normal requests from being served,
# and the HTTP timeout (PARLEY_HTTP_TIMEOUT) closes every one of them.
# parleyd's descriptors come back to where they were.  Out of descriptors
# (a hard limit of 128), parleyd pauses accept() instead of spinning on
# it, logs that once, and serves again when connections close.  (A client that
# dribbles a byte of header at a time is cut off too: PARLEY_HTTP_TIMEOUT is a
# deadline for the whole request, answered 408; 016_http_strict.pl tests it.)
use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use ParleyTest;
use Test::More;
use Time::HiRes qw(time usleep);

my $timeout = 2;
my $node = ParleyTest::new_node('flood');
my $key  = ParleyTest::create_key($node, 'flood');
my $gw   = ParleyTest->start(node => $node, key => $key,
	env => { PARLEY_HTTP_TIMEOUT => $timeout, PARLEY_LOG_LEVEL => 'warn' });
is($gw->req(PUT => '/v1/guests/alice', { display_name => 'Alice' })->{status}, 201, 'set-up');

sub fds { my @f = glob("/proc/$gw->{pid}/fd/*"); return scalar @f; }
my $fds0 = fds();

sub open_conn
{
	my ($bytes) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}, Proto => 'tcp')
	  or die "connect: $!";
	$s->autoflush(1);
	print $s $bytes if length $bytes;
	return $s;
}

local $SIG{PIPE} = 'IGNORE';
my @kinds = (
	[ idle        => '' ],
	[ header_half => "GET /v1/guests/alice HTTP/1.1\r\nHost: x\r\n" ],
	[ line_half   => "PUT /v1/guests/al" ],
	[ body_half   => "PUT /v1/guests/bob HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $key\r\n"
	  . "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"display_" ],
);
my @conns;
my $t_open = time();
for my $i (0 .. 499)
{
	my ($kind, $bytes) = @{ $kinds[ $i % @kinds ] };
	push @conns, { kind => $kind, s => open_conn($bytes) };
}
diag(sprintf('500 stalled connections opened in %.2f s', time() - $t_open));
# (accepting 500 takes a moment under valgrind: poll)
ok(ParleyTest::poll_until(sub { fds() >= $fds0 + 400 }, 15),
	'parleyd holds the stalled connections (' . fds() . ' descriptors)');

# Normal requests are served promptly meanwhile, on fresh connections.
my ($worst, $ok) = (0, 0);
for my $i (1 .. 50)
{
	my $http = HTTP::Tiny->new(timeout => 5);
	my $t = time();
	my $r = $http->get("$gw->{url}/v1/guests/alice", { headers => { Authorization => "Bearer $key" } });
	my $dt = time() - $t;
	$worst = $dt if $dt > $worst;
	$ok++ if $r->{status} == 200;
}
is($ok, 50, '50 normal requests served during the flood');
cmp_ok($worst, '<', 1.0, sprintf('each within 1 s (worst %.3f s)', $worst));

# Every stalled connection is closed by parleyd within the timeout.
my $deadline = time() + $timeout + 5;
my %open = map { $_ => 1 } 0 .. $#conns;
while (%open && time() < $deadline)
{
	for my $i (keys %open)
	{
		my $s = $conns[$i]{s};
		$s->blocking(0);
		my $buf;
		my $n = sysread($s, $buf, 4096);
		# EOF, a reset, or an error reply (408/400) then EOF: closed by parleyd
		if (defined $n && $n == 0) { delete $open{$i}; }
		elsif (!defined $n && !$!{EAGAIN} && !$!{EWOULDBLOCK}) { delete $open{$i}; }
	}
	usleep(50_000) if %open;
}
my %left;
$left{ $conns[$_]{kind} }++ for keys %open;
is_deeply(\%left, {}, sprintf('all 500 closed by parleyd within %d s + slack (%.1f s after opening)',
	$timeout, time() - $t_open));
close($_->{s}) for @conns;

ok(ParleyTest::poll_until(sub { fds() <= $fds0 + 2 }, 10), 'descriptors back to where they were (' . fds() . " vs $fds0)");
is($gw->req(GET => '/v1/guests/bob')->{status}, 404, 'the half-sent PUTs stored nothing');
is($gw->req(GET => '/v1/guests/alice')->{status}, 200, 'still serving');
$gw->stop;

# --- out of file descriptors ----------------------------------------------------
$gw = ParleyTest->start(node => $node, key => $key, name => 'flood-nofile', nofile => 128,
	env => { PARLEY_HTTP_TIMEOUT => 60, PARLEY_LOG_LEVEL => 'warn' });
sub cpu_s
{
	open(my $f, '<', "/proc/$gw->{pid}/stat") or die "stat: $!";
	my @st = split ' ', (<$f> =~ s/^.*\) //r);
	return ($st[11] + $st[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}
my @idle = map { open_conn('') } 1 .. 200;
ok(ParleyTest::poll_until(sub { $gw->log_text =~ /cannot accept connections: Too many open files/ }, 15),
	'200 connections against 128 descriptors: parleyd says it cannot accept');
my $cpu0 = cpu_s();
my $t0   = time();
usleep(1_000_000);	# a busy accept() loop would use this second of CPU
my $cpu = cpu_s() - $cpu0;
cmp_ok($cpu / (time() - $t0), '<', 0.5, sprintf('without spinning: %.2f s of CPU in %.2f s', $cpu, time() - $t0));
close($_) for @idle;
ok(ParleyTest::poll_until(sub { ($gw->req(GET => '/v1/guests/alice')->{status} // 0) == 200 }, 10),
	'once they close, it serves again');
my @warned = grep { /cannot accept/ } split /\n/, $gw->log_text;
cmp_ok(scalar @warned, '<=', 2, 'and logged it at most once per 10 s (' . scalar(@warned) . ' lines)');
unlike($gw->log_text, qr/Error from accept\(\) call/, "libevent's own per-failure warning never appears");
$gw->stop;
done_testing();
